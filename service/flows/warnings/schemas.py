"""What the early-warning flows take and answer (plan 3.2.2): a proposal, a decision on it
(publish, lift), and the warning as it stands."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from models import EarlyWarning
from service.flows.schemas import Moment, RegionCode, Text
from service.plan.early_warning import WarningState


class WarningCreate(BaseModel):
    """A dispatcher's proposal of a warning for ``area`` (plan 3.2.2.1)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "area": ["330603", "330604"],
                    "headline": "台风“梅花”预计影响柯桥区、上虞区电网",
                    "description": (
                        "受第12号台风“梅花”影响，预计14日夜间至15日柯桥区、上虞区沿海线路"
                        "可能大面积跳闸，减供负荷或达全市负荷的10%以上。"
                    ),
                    "onset": "2026-09-14T20:00:00+08:00",
                    "expires": "2026-09-16T08:00:00+08:00",
                }
            ]
        },
    )

    event_id: uuid.UUID | None = None
    area: Annotated[list[RegionCode], Field(min_length=1, max_length=16)]
    headline: Annotated[Text, Field(min_length=1, max_length=200)]
    description: Annotated[Text, Field(min_length=1, max_length=4000)]
    onset: Moment | None = None
    expires: Moment | None = None
    drill: bool | None = Field(default=None, description="a drill event pages nobody real")

    @field_validator("area")
    @classmethod
    def _distinct(cls, area: list[str]) -> list[str]:
        if len(set(area)) != len(area):
            raise ValueError("a region appears more than once")
        return area

    @model_validator(mode="after")
    def _expires_after_onset(self) -> WarningCreate:
        if self.onset and self.expires and self.expires <= self.onset:
            raise ValueError("expires must be after onset")
        return self


class WarningDecision(BaseModel):
    """A commander's publication or lifting of a warning, with a reason or none."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"reason": "经市电力运行主管部门研判，报市政府批准发布"}]},
    )

    reason: Annotated[Text, Field(max_length=2000)] | None = None


class WarningRead(BaseModel):
    id: uuid.UUID
    event_id: uuid.UUID
    state: WarningState
    area: list[str]
    headline: str
    description: str
    onset: datetime | None
    expires: datetime | None
    proposed_at: datetime
    published_by: str | None = Field(description="the region code of the HQ that published it")
    published_at: datetime | None
    lifted_at: datetime | None

    @classmethod
    def of(cls, warning: EarlyWarning) -> WarningRead:
        return cls(
            id=warning.id,
            event_id=warning.event_id,
            state=warning.state,
            area=warning.area,
            headline=warning.headline,
            description=warning.description,
            onset=warning.onset,
            expires=warning.expires,
            proposed_at=warning.proposed_at,
            published_by=warning.published_hq,
            published_at=warning.published_at,
            lifted_at=warning.lifted_at,
        )
