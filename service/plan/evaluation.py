"""The figures of plan 6.1's 处置评估 (evaluation of the handling), from an event's own records.

Plan 6.1: after the response ends, the power authorities evaluate how the event was handled
(总结经验教训，分析查找问题). The service gives them the facts: the levels and who set them,
who led and from when, how long the response ran, how the load came back, and how each agency
answered its duties. Pure functions over plain records; the flows read the records.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Final, Literal, get_args

from service.plan.deadlines import DEFAULT_DUE_ON, DueOn, Punctuality
from service.plan.deadlines import punctuality as against_due
from service.plan.duties import OPEN_STATES
from service.plan.levels import Level
from service.plan.restoration import GridLoss, restoration

# What the evaluators write into the report (plan 6.1): a problem found (分析查找问题) or a
# lesson drawn (总结经验教训).
FindingKind = Literal["finding", "lesson"]
FINDING_KINDS: Final[tuple[FindingKind, ...]] = get_args(FindingKind)

# Plan 6.1 and 6.2: the power authority the grade names evaluates the handling and investigates
# the event. Beside every role but the agencies, the unit holding such a duty of the event reads
# its evaluation report: the report is the facts its own evaluation starts from.
EVALUATOR_CLAUSES: Final = ("6.1", "6.2")
EVALUATOR_STATES: Final = ("pending", "acknowledged", "done")


def evaluates(duties: Iterable[tuple[str, str]]) -> bool:
    """Whether a unit holding ``duties`` (clause, state) of an event evaluates or investigates it:
    a duty of plan 6.1 or 6.2 still its own (not cancelled, nor given way to another's)."""
    return any(
        clause in EVALUATOR_CLAUSES and state in EVALUATOR_STATES for clause, state in duties
    )


# Minutes are shown to a tenth: finer is noise next to a phone call's delay.
MINUTE_STEP: Final = Decimal("0.1")
SECONDS_PER_MINUTE: Final = Decimal(60)


def minutes_between(start: datetime, end: datetime) -> Decimal:
    """``end - start`` in minutes, to a tenth (negative when ``end`` comes first)."""
    seconds = Decimal(str((end - start).total_seconds()))
    return (seconds / SECONDS_PER_MINUTE).quantize(MINUTE_STEP, rounding=ROUND_HALF_EVEN)


# --- levels and who led --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LevelSet:
    """The response level set at ``at``: by a report (``by`` "report") or by a commander
    (``by`` the commander's name), with the HQ that led at that level."""

    level: Level
    at: datetime
    by: str
    leading_hq: str | None


@dataclass(frozen=True, slots=True)
class LeadChange:
    """``region``'s HQ leads from ``at`` (a level's lead, or a higher HQ taking the lead)."""

    region: str
    at: datetime


def leads(changes: Iterable[LeadChange]) -> list[LeadChange]:
    """The HQs that led, in order, each from the moment it took over: a change that names the
    HQ already leading (a rise that kept the lead) is no change."""
    found: list[LeadChange] = []
    for change in sorted(changes, key=lambda c: c.at):
        if not found or found[-1].region != change.region:
            found.append(change)
    return found


def response_minutes(
    started: datetime | None, terminated: datetime | None, now: datetime
) -> Decimal | None:
    """How long the response ran: from its start to its termination, or to ``now`` while it
    runs; None for an event that never had a response."""
    if started is None:
        return None
    return minutes_between(started, terminated or now)


# --- the restoration curve (plan 5.5 condition 2 over time) -----------------------------------


@dataclass(frozen=True, slots=True)
class GridFigure:
    """One grid as one report gave it."""

    region: str
    scope: str
    load_lost_mw: Decimal
    load_mw: Decimal | None = None
    customers_out: int | None = None


@dataclass(frozen=True, slots=True)
class ReportFigures:
    """One report's grids, at the time it observed them (``observed_at``), and when the service
    received it (which orders two reports that observed the same moment)."""

    observed_at: datetime
    received_at: datetime
    grids: tuple[GridFigure, ...]


@dataclass(frozen=True, slots=True)
class CurvePoint:
    at: datetime
    overall: Decimal


def restoration_curve(reports: Iterable[ReportFigures]) -> list[CurvePoint]:
    """The overall restoration after each report, in the order the reports observed the grids.

    Replays what the event's grids held after each report as the termination check reads them
    (``service.plan.restoration``): per grid the latest loss against the worst so far, overall
    over the widest scope reported. Replayed in the order of observation, so a report that
    arrived late takes its place in time; the last point is the figure the termination check
    gives now.
    """
    latest: dict[str, GridFigure] = {}
    peak: dict[str, Decimal] = {}
    curve: list[CurvePoint] = []
    for report in sorted(reports, key=lambda r: (r.observed_at, r.received_at)):
        for grid in report.grids:
            latest[grid.region] = grid
            peak[grid.region] = max(peak.get(grid.region, grid.load_lost_mw), grid.load_lost_mw)
        restored = restoration(
            GridLoss(g.region, g.scope, g.load_lost_mw, peak[g.region]) for g in latest.values()
        )
        if restored.overall is not None:
            curve.append(CurvePoint(report.observed_at, restored.overall))
    return curve


# --- how each agency answered --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ActionRecord:
    """One action as it stands: its agency, state and the times that count here, and what its
    due time asks for (``due_on``); its duty's key and title name it in the lists of late duties
    and of plan 4's reports."""

    agency: str
    state: str
    dispatched_at: datetime
    due_at: datetime
    acknowledged_at: datetime | None
    cancelled_at: datetime | None
    completed_at: datetime | None = None
    key: str = ""
    title: str = ""
    due_on: DueOn = DEFAULT_DUE_ON
    superseded_at: datetime | None = None
    run: int = 0
    regarding: str | None = None

    @property
    def owed_until(self) -> datetime | None:
        """When it stopped being owed without being done: cancelled, or superseded (its job
        another item's); None while owed or done."""
        return self.cancelled_at or self.superseded_at


@dataclass(frozen=True, slots=True)
class AgencyFigures:
    """Per agency: every action it was dispatched (cancelled ones included), how many it
    acknowledged and completed, how its answers stood against the due times, what is
    still open or was cancelled, and the median minutes from dispatch to acknowledgement (None
    when it acknowledged nothing)."""

    agency: str
    dispatched: int
    on_time: int
    late: int
    open: int
    cancelled: int
    median_ack_minutes: Decimal | None
    acknowledged: int = 0
    done: int = 0


def punctuality(action: ActionRecord, now: datetime) -> Punctuality | None:
    """ "on_time", "late" or None (not yet due, or cancelled or superseded before it fell due), by
    the one rule of ``service.plan.deadlines``: late when the action was overdue at some moment.

    What its due time asks for (its acknowledgement, or its completion for one due on
    completion, plan 4's reports) given at or before ``due_at`` is on time, after it late. An
    action that never gave it is late once its due time passed while it was still owed (before
    its cancellation or its superseding, or before ``now``): the deadline was missed whether or
    not an answer ever came, as the escalation job judges it (``action_overdue``).
    """
    return against_due(
        action.due_on,
        action.due_at,
        action.acknowledged_at,
        action.completed_at,
        action.owed_until,
        now,
    )


def agency_figures(actions: Iterable[ActionRecord], now: datetime) -> list[AgencyFigures]:
    """``AgencyFigures`` for each agency that holds an action, by agency code."""
    by_agency: dict[str, list[ActionRecord]] = {}
    for action in actions:
        by_agency.setdefault(action.agency, []).append(action)
    return [_figures(agency, by_agency[agency], now) for agency in sorted(by_agency)]


def _figures(agency: str, actions: Sequence[ActionRecord], now: datetime) -> AgencyFigures:
    judged = [punctuality(a, now) for a in actions]
    waits = [
        minutes_between(a.dispatched_at, a.acknowledged_at)
        for a in actions
        if a.acknowledged_at is not None
    ]
    return AgencyFigures(
        agency=agency,
        dispatched=len(actions),
        on_time=judged.count("on_time"),
        late=judged.count("late"),
        open=sum(1 for a in actions if a.state in OPEN_STATES),
        cancelled=sum(1 for a in actions if a.state == "cancelled"),
        acknowledged=sum(1 for a in actions if a.acknowledged_at is not None),
        done=sum(1 for a in actions if a.state == "done"),
        median_ack_minutes=(
            Decimal(statistics.median(waits)).quantize(MINUTE_STEP, rounding=ROUND_HALF_EVEN)
            if waits
            else None
        ),
    )
