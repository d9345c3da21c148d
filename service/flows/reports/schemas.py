"""Outage reports: what a dispatcher posts (plan 1.5's measures of each grid at one moment), what
POST /classify and POST /reports answer, and a report as the event's list shows it."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Final

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema, field_validator, model_validator
from pydantic_core import to_json

from models import Report
from service.flows.schemas import HQ, BasisRead, Moment, Number, RegionCode, Text
from service.plan.causes import Cause
from service.plan.classification import Classification
from service.plan.grids import Scope
from service.plan.levels import Level

MAX_MW: Final = Decimal(10) ** 9
MAX_CUSTOMERS: Final = 10**10
MAX_JSON: Final = int(MAX_MW)  # documented as a number; a decimal string is accepted too

Megawatts = Annotated[Decimal, Field(le=MAX_MW, decimal_places=6, allow_inf_nan=False)]


# Shaoxing's examples: 柯桥区 (151 MW, 420,000 customers) and 上虞区 (180 MW) as a typhoon comes
# ashore, the figures of the bundled typhoon drill (playbooks/drills/typhoon.yaml).
KEQIAO: Final[dict[str, Any]] = {
    "scope": "county",
    "region": "330603",
    "load_mw": 151,
    "load_lost_mw": 64,
    "customers": 420000,
    "customers_out": 160000,
}
SHANGYU: Final[dict[str, Any]] = {
    "scope": "county",
    "region": "330604",
    "load_mw": 180,
    "load_lost_mw": 80,
    "customers": 380000,
    "customers_out": 150000,
}


class SnapshotCreate(BaseModel):
    """One grid at one moment: plan 1.5's measures, its load and its customers, before the event
    and out now."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [KEQIAO]})

    scope: Scope = Field(description="the grid's class in plan 1.5, as regions.yaml gives it")
    region: Annotated[RegionCode, Field(description="the grid's six-digit code (regions.yaml)")]
    load_mw: Annotated[
        Megawatts,
        Field(gt=0, description="load before the event, MW"),
        WithJsonSchema({"type": "number", "exclusiveMinimum": 0, "maximum": MAX_JSON}),
    ]
    load_lost_mw: Annotated[
        Megawatts,
        Field(ge=0, description="load lost (减供负荷), MW"),
        WithJsonSchema({"type": "number", "minimum": 0, "maximum": MAX_JSON}),
    ]
    customers: Annotated[int | None, Field(gt=0, le=MAX_CUSTOMERS)] = None
    customers_out: Annotated[int | None, Field(ge=0, le=MAX_CUSTOMERS)] = None

    @model_validator(mode="after")
    def _consistent(self) -> SnapshotCreate:
        if self.load_lost_mw > self.load_mw:
            raise ValueError(
                f"load_lost_mw ({self.load_lost_mw}) must not exceed load_mw ({self.load_mw})"
            )
        if self.customers_out is not None:
            if self.customers is None:
                raise ValueError("customers_out needs customers (the customers the grid serves)")
            if self.customers_out > self.customers:
                raise ValueError(
                    f"customers_out ({self.customers_out}) must not exceed "
                    f"customers ({self.customers})"
                )
        return self


Snapshots = Annotated[list[SnapshotCreate], Field(min_length=1, max_length=64)]


def _one_per_grid(snapshots: list[SnapshotCreate]) -> list[SnapshotCreate]:
    seen: set[str] = set()
    for snapshot in snapshots:
        if snapshot.region in seen:
            raise ValueError(f"grid {snapshot.region} appears more than once; one snapshot a grid")
        seen.add(snapshot.region)
    return snapshots


class ClassificationQuery(BaseModel):
    """POST /classify: snapshots of known grids, one a grid, to classify without storing."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"snapshots": [KEQIAO, SHANGYU]}]}
    )

    snapshots: Snapshots
    _unique = field_validator("snapshots")(_one_per_grid)


class ClassificationRead(BaseModel):
    """Plan 1.5's level for the snapshots (null below every threshold), its name in the plan,
    and each rule that fired for each grid."""

    level: Level | None
    level_name: str | None = Field(description='"一般" … "特别重大" (classification.yaml)')
    basis: list[BasisRead]

    @staticmethod
    def json_of(result: Classification) -> bytes:
        """This model's JSON for ``result``, written straight from the classifier's dataclasses:
        building the models only to dump them cost a fifth of POST /classify."""
        return to_json(
            {
                "level": result.level,
                "level_name": result.level_name,
                "basis": [BasisRead.plain(b) for b in result.basis],
            }
        )


class ReportCreate(BaseModel):
    """POST /reports: one or more snapshots observed at one moment."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "snapshots": [KEQIAO],
                    "observed_at": "2026-09-14T09:30:00+08:00",
                    "cause": "typhoon",
                    "etr": "2026-09-14T18:00:00+08:00",
                    "note": "台风登陆，柯桥区多条10千伏线路跳闸",
                },
                {
                    "event_id": "0b9d3c1e-5f2a-4c8e-9a47-2d6f1e8b7c30",
                    "snapshots": [{**KEQIAO, "load_lost_mw": 16, "customers_out": 30000}],
                    "observed_at": "2026-09-15T07:00:00+08:00",
                    "cause": "typhoon",
                    "note": "抢修恢复供电，剩余16兆瓦",
                },
            ]
        },
    )

    event_id: uuid.UUID | None = Field(
        default=None,
        description="the event the report is about; without it, the open event whose reports "
        "or warnings name one of its grids, else a new event in monitoring",
    )
    snapshots: Snapshots
    observed_at: Moment = Field(description="when the figures were true, not when they are sent")
    cause: Cause = Field(description="what caused the outage (plan 1.3, 3.1.1)")
    etr: Moment | None = Field(default=None, description="estimated time of restoration")
    note: Annotated[Text, Field(max_length=4000)] | None = None
    drill: bool | None = Field(default=None, description="a drill event pages nobody real")

    _unique = field_validator("snapshots")(_one_per_grid)

    @model_validator(mode="after")
    def _etr_after_observation(self) -> ReportCreate:
        if self.etr is not None and self.etr < self.observed_at:
            raise ValueError("etr must not be before observed_at")
        return self


class ReportAccepted(BaseModel):
    """What POST /reports answers: the report's own level and where the event stands now."""

    event_id: uuid.UUID
    report_id: uuid.UUID
    level: Level | None
    level_name: str | None
    event_level: Level | None
    peak_level: Level | None
    response_level: Level | None
    state: str
    leading_hq: HQ | None
    basis: list[BasisRead]


class SnapshotRead(BaseModel):
    """One grid's figures as a stored report holds them."""

    scope: Scope
    region: str
    load_mw: Number
    load_lost_mw: Number
    customers: int | None
    customers_out: int | None


class ReportRead(BaseModel):
    """A stored report: its own level and basis (plan 1.5), its snapshots, and who sent it."""

    id: uuid.UUID
    event_id: uuid.UUID
    observed_at: datetime
    received_at: datetime
    cause: str
    etr: datetime | None
    note: str | None
    level: Level | None
    basis: list[BasisRead]
    reporter: str = Field(description="the name of the token that sent it")
    snapshots: list[SnapshotRead]

    @classmethod
    def of(cls, report: Report, reporter: str) -> ReportRead:
        return cls(
            id=report.id,
            event_id=report.event_id,
            observed_at=report.observed_at,
            received_at=report.received_at,
            cause=report.cause,
            etr=report.etr,
            note=report.note,
            level=report.level,
            basis=[BasisRead.model_validate(b) for b in report.basis],
            reporter=reporter,
            snapshots=[
                SnapshotRead.model_validate(s, from_attributes=True) for s in report.snapshots
            ],
        )
