"""What the events' reads answer: an event, its timeline entries, and plan 6.1's evaluation
report."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from service.flows.schemas import HQ, BasisRead, ConditionRead, Number
from service.plan.levels import Level
from service.plan.lifecycle import EventState
from service.plan.timeline import TimelineKind
from service.words.timeline import Names, entry_text


class RestorationRead(BaseModel):
    """Plan 5.5 condition 2's figures: restored = 1 − latest lost ÷ peak lost."""

    overall: Number | None = Field(description="over the event's grids of the widest scope, 0–1")
    scope: str | None = Field(description="the scope the overall figure is counted over")
    grids: dict[str, Number] = Field(description="each grid's own figure, by region code")


class EventRead(BaseModel):
    """An outage event: its state, its levels (plan 1.5, 5.1), who leads, its restoration."""

    id: uuid.UUID
    state: EventState
    level: Level | None = Field(description="the level its grids reach as they now stand")
    peak_level: Level | None = Field(description="the highest level it ever reached")
    response_level: Level | None = Field(description="the emergency response's level, if any")
    leading_hq: HQ | None = Field(description="the HQ that leads the response (plan 2.2)")
    drill: bool
    opened_at: datetime
    updated_at: datetime
    closed_at: datetime | None
    etr: datetime | None = Field(
        description="estimated time of restoration, as the last report that gave one said"
    )
    basis: list[BasisRead]
    restoration: RestorationRead
    drill_clock: datetime | None = Field(
        default=None,
        description="a drill's own clock, the time of its scenario, which every change to it "
        "is stamped with (design § Drills); null for a real event, which keeps the service's",
    )


class TimelineRead(BaseModel):
    """One entry of an event's timeline (append-only, hash-chained): what happened, when, by
    whom, under which clause of the plan."""

    seq: int = Field(
        validation_alias="event_seq", description="1, 2, 3 … within the event, without gaps"
    )
    at: datetime
    kind: TimelineKind
    actor: str
    clause: str | None
    summary: str = Field(description="the entry as it was recorded, in the terms of the code")
    data: dict[str, Any]
    drill: bool = Field(description="the entry belongs to a drill event (design § Drills)")
    text: str = Field(
        default="",
        description="the entry as people read it, with names for codes: Chinese, or English "
        "when the request's Accept-Language asks for it (design § Words)",
    )

    def told(self, names: Names) -> TimelineRead:
        """This entry with its ``text``, said in the current language."""
        text = entry_text(self.kind, self.data, self.actor, names, clause=self.clause)
        return self.model_copy(update={"text": text})

    @classmethod
    def of(cls, entry: Any, drill: bool) -> TimelineRead:
        """A stored entry (models.TimelineEntry) as the API shows it; ``drill`` is its event's."""
        return cls.model_validate(
            {
                "event_seq": entry.event_seq,
                "at": entry.at,
                "kind": entry.kind,
                "actor": entry.actor,
                "clause": entry.clause,
                "summary": entry.summary,
                "data": entry.data,
                "drill": drill,
            }
        )


class LevelRead(BaseModel):
    level: Level
    at: datetime
    by: str = Field(description='"report" when a report reached it, else the commander\'s name')


class LeadRead(BaseModel):
    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)

    region: str
    name: str
    since: datetime = Field(alias="from", description="when this HQ took the lead")


class RestorationPoint(BaseModel):
    at: datetime = Field(description="the time the report observed the grids")
    overall: Number = Field(description="plan 5.5 condition 2's overall figure then, 0–1")


class AgencyRead(BaseModel):
    agency: str
    name: str
    dispatched: int = Field(description="every action of the agency on the event, cancelled too")
    on_time: int = Field(description="acknowledged at or before the due time")
    late: int = Field(
        description="acknowledged after the due time, or never acknowledged while past it"
    )
    open: int = Field(description="pending or acknowledged")
    cancelled: int
    median_ack_minutes: Number | None = Field(
        description="median minutes from dispatch to acknowledgement; null if none"
    )


class TerminationRead(BaseModel):
    conditions: list[ConditionRead]


class ChronologyEntry(BaseModel):
    seq: int
    at: datetime
    kind: str
    actor: str
    summary: str = Field(description="the entry as it was recorded, in the terms of the code")
    by: str = Field(description="who acted, by name (系统: the service itself)")
    text: str = Field(description="the entry as people read it, with names for codes")


class EvaluationRead(BaseModel):
    """Plan 6.1: the facts an evaluation of the handling starts from."""

    event_id: uuid.UUID
    drill: bool
    state: EventState
    partial: bool = Field(description="true while the response is not over: figures run to now")
    generated_at: datetime
    opened_at: datetime
    closed_at: datetime | None
    peak_level: Level | None
    levels: list[LevelRead]
    leading_hqs: list[LeadRead]
    response_started_at: datetime | None
    response_ended_at: datetime | None
    response_minutes: Number | None = Field(
        description="from the response's start to its termination (or now); null without one"
    )
    restoration: list[RestorationPoint]
    agencies: list[AgencyRead]
    termination: TerminationRead
    chronology: list[ChronologyEntry]
