"""Outage reports: what a dispatcher posts, checked against the plan before anything is stored."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Final

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema, field_validator, model_validator
from pydantic_core import to_json

from models import Report
from service.errors import Forbidden, InvalidInput
from service.flows.schemas import HQ, BasisRead, Moment, Number, RegionCode, Text
from service.plan.actor import Actor
from service.plan.causes import Cause
from service.plan.classification import Classification
from service.plan.grids import GridRegistry, Scope
from service.plan.levels import Level

MAX_MW: Final = Decimal(10) ** 9
MAX_CUSTOMERS: Final = 10**10
MAX_JSON: Final = int(MAX_MW)  # documented as a number; a decimal string is accepted too

Megawatts = Annotated[Decimal, Field(le=MAX_MW, decimal_places=6, allow_inf_nan=False)]


class SnapshotIn(BaseModel):
    """One grid at one moment (plan 1.5's measures)."""

    model_config = ConfigDict(extra="forbid")

    scope: Scope
    region: RegionCode
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
    def _consistent(self) -> SnapshotIn:
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


Snapshots = Annotated[list[SnapshotIn], Field(min_length=1, max_length=64)]


def _one_per_grid(snapshots: list[SnapshotIn]) -> list[SnapshotIn]:
    seen: set[str] = set()
    for snapshot in snapshots:
        if snapshot.region in seen:
            raise ValueError(f"grid {snapshot.region} appears more than once; one snapshot a grid")
        seen.add(snapshot.region)
    return snapshots


class ClassifyRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    snapshots: Snapshots
    _unique = field_validator("snapshots")(_one_per_grid)


class ClassifyResult(BaseModel):
    level: Level | None
    level_name: str | None
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

    model_config = ConfigDict(extra="forbid")

    event_id: uuid.UUID | None = None
    snapshots: Snapshots
    observed_at: Moment
    cause: Cause
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
    scope: Scope
    region: str
    load_mw: Number
    load_lost_mw: Number
    customers: int | None
    customers_out: int | None


class ReportRead(BaseModel):
    id: uuid.UUID
    event_id: uuid.UUID
    observed_at: datetime
    received_at: datetime
    cause: str
    etr: datetime | None
    note: str | None
    level: Level | None
    basis: list[BasisRead]
    reporter: str
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


def check_grids(snapshots: Sequence[SnapshotIn], grids: GridRegistry) -> None:
    """Every snapshot names a known grid with its own scope (regions.yaml)."""
    for i, snapshot in enumerate(snapshots):
        grid = grids.get(snapshot.region)
        if grid is None:
            raise InvalidInput(
                f"snapshots[{i}].region", f"unknown grid {snapshot.region} (see regions.yaml)"
            )
        if grid.scope != snapshot.scope:
            raise InvalidInput(
                f"snapshots[{i}].scope",
                f"grid {grid.code} ({grid.name}) is a {grid.scope} grid, not {snapshot.scope}",
            )


def check_jurisdiction(actor: Actor, snapshots: Sequence[SnapshotIn], grids: GridRegistry) -> None:
    """A dispatcher limited to a region reports only the grids within it."""
    if actor.region is None:
        return
    for i, snapshot in enumerate(snapshots):
        if not grids.is_within(snapshot.region, actor.region):
            raise Forbidden(
                f"snapshots[{i}].region: this dispatcher may report only grids within "
                f"{actor.region}, not {snapshot.region}",
                field=f"snapshots[{i}].region",
            )
