"""What the emergency response's commands take and answer (plan 5.1, 2.2, 5.5, 6): a level with
its reason, the lead taken, a dismissal, a termination, a closure, an attestation, and the
termination check. A command answers with the event (``service.flows.events.read.EventRead``)."""

from __future__ import annotations

import uuid
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from service.flows.schemas import AttestedRead, ConditionRead, RegionCode, Statement, Text
from service.plan.levels import Level
from service.plan.termination import AttestedKey

Reason = Annotated[Text, Field(min_length=1, max_length=2000)]
OptionalReason = Annotated[Text, Field(max_length=2000)]


class LevelChange(BaseModel):
    """A response level (I–IV) to start at or move to, and the commander's reason (plan 5.1)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "level": "III",
                    "reason": "柯桥区、上虞区减供负荷持续扩大，市指挥部提级至III级响应",
                },
                {"level": "IV", "reason": "台风“梅花”正面登陆，新昌县电网受损，先行启动IV级响应"},
            ]
        },
    )

    level: Level
    reason: Reason


class LeadTaking(BaseModel):
    """``POST /events/{id}/lead``: the HQ of ``region`` takes the lead, saying why."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "region": "330600",
                    "reason": "停电范围跨越越城区、柯桥区，由市政府组织指挥应对",
                }
            ]
        },
    )

    region: RegionCode = Field(description="the HQ that takes the lead: 330000 or 330600")
    reason: Reason


class Dismissal(BaseModel):
    """Why an event in monitoring never needed a response (plan 1.5)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"reason": "台风路径东移，嵊州市电网未受影响，不构成大面积停电事件"}]
        },
    )

    reason: Reason


class Termination(BaseModel):
    """Ending a response (plan 5.5), and whether the grid needs repair or rebuilding (plan 6.4
    "需对电网网架结构和设施设备进行修复或重建的"): only then do the reconstruction duties go
    out. The commander who ends the response says so; left out, none is needed."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "reason": "主网架恢复正常，减供负荷恢复92%，次生灾害处置完毕",
                    "reconstruction": True,
                }
            ]
        },
    )

    reason: OptionalReason | None = None
    reconstruction: bool = Field(
        default=False,
        description="the grid's structure or facilities need repair or rebuilding (plan 6.4)",
    )


class Closure(BaseModel):
    """Closing an event whose post-event work (plan 6) is done, with a reason or none."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"reason": "善后处置、调查评估和恢复重建工作均已完成"}]},
    )

    reason: OptionalReason | None = None


class AttestationCreate(BaseModel):
    """A statement that one of plan 5.5's attested conditions holds, with its evidence."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "condition": "grid_stable",
                    "evidence": "绍兴电网220千伏主网架已全部恢复，各断面潮流在稳定限额之内",
                },
                {
                    "condition": "hazard_removed",
                    "evidence": "柯桥区倒塔隐患已消除，受损线路已完成抢修并恢复送电",
                },
            ]
        },
    )

    condition: AttestedKey
    evidence: Annotated[Statement, Field(min_length=1, max_length=4000)]


class AttestationRead(AttestedRead):
    """An attestation and its event: what attesting and withdrawing answer."""

    event_id: uuid.UUID


class WithdrawalCreate(BaseModel):
    """Why an attestation is withdrawn: it no longer counts (plan 5.5)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"reason": "柯桥区220千伏母线再次跳闸，主网架尚未恢复稳定"}]
        },
    )

    reason: Annotated[Statement, Field(min_length=1, max_length=2000)]


class TerminationCheckRead(BaseModel):
    """Plan 5.5's four conditions, each met or not with its evidence; all met: it may end."""

    can_terminate: bool
    conditions: list[ConditionRead]
