"""What the requisition register takes and answers (plan 5.3 依法征用、调用车辆和物资、人员;
plan 6.3 补助或补偿): an entry registered, an entry as read, its return."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Final

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema

from service.flows.schemas import Moment, Number, RegionCode, Statement, Text
from service.plan.requisitions import RequisitionKind

MAX_QUANTITY: Final = Decimal(10) ** 9
Quantity = Annotated[
    Decimal,
    Field(gt=0, le=MAX_QUANTITY, decimal_places=6, allow_inf_nan=False),
    WithJsonSchema({"type": "number", "exclusiveMinimum": 0, "maximum": int(MAX_QUANTITY)}),
]
Words = Annotated[Statement, Field(min_length=1, max_length=200)]
Note = Annotated[Text, Field(max_length=4000)]


class RequisitionCreate(BaseModel):
    """One thing requisitioned for the event: what, from whom, how much, when, by which unit, and
    the 事发地 whose government compensates it (plan 6.3 所在地政府)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "kind": "vehicles",
                    "what": "应急发电车（500千瓦）",
                    "owner": "绍兴某设备租赁有限公司",
                    "quantity": 2,
                    "unit": "台",
                    "requisitioned_at": "2026-07-20T14:30:00+08:00",
                    "region": "330603",
                    "agency": "hq-330603",
                    "note": "用于柯桥区人民医院保电",
                }
            ]
        },
    )

    kind: RequisitionKind = Field(
        description="vehicles, supplies, personnel (plan 5.3 车辆和物资、人员) or funds (6.3 财力)"
    )
    what: Words
    owner: Words = Field(description="whom it was requisitioned from (the owner)")
    quantity: Quantity
    unit: Annotated[Statement, Field(min_length=1, max_length=20)] = Field(
        description="the quantity's unit: 台, 吨, 人, 元"
    )
    requisitioned_at: Moment
    region: RegionCode = Field(
        description="the 事发地 it was requisitioned for, whose government compensates it: a "
        "county the event hits, or the city (330600) when it names none"
    )
    agency: str | None = Field(
        default=None,
        max_length=40,
        description="the unit that requisitioned it (agencies.yaml); by default the caller's "
        "agency, or for a commander the HQ leading the event",
    )
    note: Note | None = None


class RequisitionReturn(BaseModel):
    """What was requisitioned is given back (归还): when (by default now), and a note."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"returned_at": "2026-07-22T09:00:00+08:00", "note": "完好归还"}, {}]
        },
    )

    returned_at: Moment | None = None
    note: Note | None = None


class RequisitionRead(BaseModel):
    """An entry of the register. ``returned_at`` null: not given back (yet, or used up)."""

    id: uuid.UUID
    event_id: uuid.UUID
    kind: RequisitionKind
    what: str
    owner: str
    quantity: Number
    unit: str
    requisitioned_at: datetime
    agency: str
    region: str
    note: str | None
    recorded_by: str = Field(description="the token that registered it (role:name@scope)")
    recorded_at: datetime
    returned_at: datetime | None
    return_note: str | None
    returned_by: str | None

    @classmethod
    def of(cls, row: Any) -> RequisitionRead:
        """A stored entry (models.Requisition)."""
        return cls(
            id=row.id,
            event_id=row.event_id,
            kind=row.kind,
            what=row.what,
            owner=row.owner,
            quantity=row.quantity,
            unit=row.unit,
            requisitioned_at=row.requisitioned_at,
            agency=row.agency,
            region=row.region,
            note=row.note,
            recorded_by=row.actor,
            recorded_at=row.recorded_at,
            returned_at=row.returned_at,
            return_note=row.return_note,
            returned_by=row.returned_by,
        )


class RequisitionList(BaseModel):
    """An event's requisitions, in the order requisitioned."""

    items: list[RequisitionRead]
