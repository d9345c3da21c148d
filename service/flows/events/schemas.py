"""What the events' reads answer: an event, its timeline entries, and plan 6.1's evaluation
report."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from service.flows.schemas import HQ, BasisRead, ConditionRead, Number
from service.plan.deadlines import DueOn
from service.plan.evaluation import FindingKind
from service.plan.levels import Level
from service.plan.lifecycle import EventState
from service.plan.timeline import TimelineKind
from service.words.timeline import Names, actor_words, entry_text


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
    acknowledged: int = Field(description="acknowledged, whatever became of them after")
    done: int = Field(description="completed")


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


class OverviewRead(BaseModel):
    """概况: what the outage was and what it cost, at its worst (the defaults: nothing
    reported)."""

    causes: list[str] = Field(
        default=[], description="the causes the reports named (plan 3.1.1), in order"
    )
    peak_lost_mw: Number = Field(
        default=Decimal(0), description="the most load lost at once, widest scope reported"
    )
    peak_at: datetime | None = None
    load_mw: Number | None = Field(default=None, description="the load the peak was lost from")
    peak_share: Number | None = Field(default=None, description="peak_lost_mw ÷ load_mw, 0–1")
    customers_out: int | None = Field(
        default=None, description="the most customers cut off at once"
    )
    counties: list[str] = Field(default=[], description="the counties that lost load, by name")


class CountyRestorationRead(BaseModel):
    """One county's restoration, timed from the event's opening to 80 % and 90 % restored."""

    region: str
    name: str
    peak_lost_mw: Number
    latest_lost_mw: Number
    restored: Number = Field(description="1 − latest ÷ peak, 0–1")
    minutes_to_80: Number | None = Field(description="null until a report showed 80 %")
    minutes_to_90: Number | None = Field(description="null until a report showed 90 %")


class LapseRead(BaseModel):
    """A duty answered after its due time (acknowledged, or completed when due on completion),
    or never done."""

    agency: str
    unit: str = Field(description="the agency's name")
    title: str
    due_at: datetime
    due_on: DueOn = Field(description="what due_at asked for (design § Deadlines)")
    acknowledged_at: datetime | None
    completed_at: datetime | None
    late: bool
    done: bool


class ReportLinkRead(BaseModel):
    """One report of plan 4's chain (信息报告) against its deadline."""

    key: str
    unit: str
    title: str
    dispatched_at: datetime
    due_at: datetime
    due_on: DueOn = Field(
        description="what due_at asks for: a report's completion, a receipt's acknowledgement"
    )
    answered_at: datetime | None = Field(
        description="completed, or acknowledged (a receipt): as due_on says"
    )
    allowed_minutes: Number
    taken_minutes: Number | None
    on_time: bool | None = Field(
        description="null while unanswered and not yet due, or superseded before it fell due"
    )
    superseded: bool = Field(
        default=False, description="a later run of the chain took it over (design § Dispatch)"
    )
    run: int = Field(default=0, description="the run of plan 4's chain it belongs to")
    area: str | None = Field(default=None, description="the area that run reports on, by name")


class ReleaseRecordRead(BaseModel):
    """A release (plan 5.4) and who decided it."""

    headline: str
    state: str
    proposer: str
    proposed_at: datetime
    approver: str | None = Field(description="who published or rejected it, by name")
    hq: str | None = Field(description="the HQ that decided it, by name")
    decided_at: datetime | None


class RequisitionRecordRead(BaseModel):
    """An entry of plan 5.3's requisition register as the evaluation lists it, in names, with
    the government that compensates it (plan 6.3 所在地政府)."""

    kind: str
    what: str
    owner: str
    quantity: Number
    unit: str
    requisitioned_at: datetime
    by: str = Field(description="the unit that requisitioned it, by name")
    government: str = Field(description="the government that compensates it, by name")
    returned_at: datetime | None


class EvidenceRead(BaseModel):
    """Plan 5.5's conditions as the evaluation reads them: in words, with who and when."""

    key: str
    met: bool
    text: str = Field(description="the latest statement, or the figures, in words")
    by: str | None = Field(description="who attested it, by name")
    at: datetime | None


class FindingCreate(BaseModel):
    """A problem found (分析查找问题) or a lesson drawn (总结经验教训), plan 6.1; a problem found
    may ask for the plan's revision (plan 8.1, ``revise``)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"kind": "lesson", "text": "公安局未按时确认任务"},
                {"kind": "finding", "text": "预案未明确应急发电车调度程序", "revise": True},
            ]
        }
    )

    kind: FindingKind
    text: str = Field(min_length=1, max_length=2000)
    revise: bool = Field(
        default=False,
        description="the problem asks for the plan to be revised: raises the standing task of "
        "plan 8.1's revision for the plan's owner (市经信委); only for a finding",
    )

    @field_validator("revise")
    @classmethod
    def _a_finding_revises(cls, revise: bool, info: ValidationInfo) -> bool:
        if revise and info.data.get("kind") == "lesson":
            raise ValueError(
                "only a problem found (kind finding) asks for the plan's revision (plan 8.1: "
                "预案实施过程中发现的问题), not a lesson"
            )
        return revise


class FindingRead(BaseModel):
    id: uuid.UUID
    kind: FindingKind
    text: str
    by: str = Field(description="who wrote it, by name")
    at: datetime
    revision_task_ids: list[uuid.UUID] = Field(
        default_factory=list,
        description="the standing tasks of the plan's revision it raised (plan 8.1)",
    )

    @classmethod
    def of(cls, row: Any, revision_task_ids: Sequence[uuid.UUID] = ()) -> FindingRead:
        """A stored finding (models.EvaluationFinding), its writer by name, with the revision
        tasks it raised."""
        return cls(
            id=row.id,
            kind=row.kind,
            text=row.text,
            by=actor_words(row.actor),
            at=row.at,
            revision_task_ids=list(revision_task_ids),
        )


class SignOffCreate(BaseModel):
    """The report's sign-off: the evaluating unit (评估单位) and who signs (签发)."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"unit": "绍兴市经信委", "signer": "张三"}]}
    )

    unit: str = Field(min_length=1, max_length=200)
    signer: str = Field(min_length=1, max_length=200)


class SignOffRead(BaseModel):
    unit: str
    signer: str
    by: str = Field(description="who recorded the sign-off, by name")
    at: datetime

    @classmethod
    def of(cls, row: Any) -> SignOffRead:
        """A stored sign-off (models.EvaluationSignOff)."""
        return cls(unit=row.unit, signer=row.signer, by=actor_words(row.actor), at=row.at)


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
    # The form's sections (plan 6.1), empty by default: a report of nothing reported yet.
    overview: OverviewRead = OverviewRead()
    counties: list[CountyRestorationRead] = []
    lapses: list[LapseRead] = Field(default=[], description="duties late or never done")
    report_links: list[ReportLinkRead] = Field(default=[], description="plan 4's reports, timed")
    releases: list[ReleaseRecordRead] = []
    evidence: list[EvidenceRead] = Field(default=[], description="plan 5.5's conditions in words")
    findings: list[FindingRead] = []
    sign_off: SignOffRead | None = Field(default=None, description="null until signed off")
    final: bool = Field(default=False, description="signed off: no findings are added after")
    requisitions: list[RequisitionRecordRead] = Field(
        default=[],
        description="plan 5.3's register, in the order requisitioned, each with the government "
        "that compensates it (plan 6.3)",
    )
