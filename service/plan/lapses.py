"""The duties plan 6.1's evaluation names one by one: those answered late or never done, and
the reports of plan 4's chain (信息报告) timed against their deadlines.

An action's ``due_at`` asks for its acknowledgement or its completion, as its ``due_on`` says
(``service.plan.deadlines``): a duty is late when ``punctuality`` says so; it was never done
when it ended cancelled (a duty acknowledged and then cancelled with the response counts here,
not with the done ones). A duty still open and not yet due is neither: it is under way (the
post-event duties of plan 6 run for weeks).
Pure functions over ``ActionRecord``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Final

from service.plan.deadlines import DueOn, answered_at
from service.plan.evaluation import ActionRecord, minutes_between, punctuality

# Plan 4's reporting chain: the playbook items of checklists/reporting.yaml.
REPORTING_PREFIX: Final = "reporting."


@dataclass(frozen=True, slots=True)
class Lapse:
    """A duty answered after its due time, or never done; ``due_on`` says whether the time
    asked for its acknowledgement or its completion."""

    agency: str
    title: str
    due_at: datetime
    acknowledged_at: datetime | None
    completed_at: datetime | None
    late: bool
    done: bool
    due_on: DueOn


@dataclass(frozen=True, slots=True)
class ReportLink:
    """One link of plan 4's chain: the minutes it was given (dispatch to due) and took (dispatch
    to what its due time asks for: the completion of a report, the acknowledgement of a report
    received); ``on_time`` None while it is unanswered and not yet due, or when a later run of
    the chain superseded it before it fell due (``superseded``). ``run`` and ``regarding``: the
    run it belongs to and the area that run reports on (design § Reporting chain)."""

    agency: str
    key: str
    title: str
    dispatched_at: datetime
    due_at: datetime
    due_on: DueOn
    answered_at: datetime | None
    allowed_minutes: Decimal
    taken_minutes: Decimal | None
    on_time: bool | None
    superseded: bool = False
    run: int = 0
    regarding: str | None = None


def lapses(actions: Iterable[ActionRecord], now: datetime) -> list[Lapse]:
    """The late or never-done duties, by due time: each late one (``punctuality``), and each one
    cancelled before it was completed."""
    found = [
        Lapse(
            agency=a.agency,
            title=a.title,
            due_at=a.due_at,
            acknowledged_at=a.acknowledged_at,
            completed_at=a.completed_at,
            late=late,
            done=a.state == "done",
            due_on=a.due_on,
        )
        for a in actions
        if (late := punctuality(a, now) == "late") or a.state == "cancelled"
    ]
    return sorted(found, key=lambda lapse: (lapse.due_at, lapse.agency, lapse.title))


def report_links(actions: Iterable[ActionRecord], now: datetime) -> list[ReportLink]:
    """Plan 4's links (the ``reporting.*`` duties) in the order they were dispatched, each
    answered when it gave what its due time asks for (a report made, a receipt acknowledged):
    on time when answered by the due time; late when answered after it, or unanswered past it
    (``punctuality``)."""
    links = []
    for a in sorted(actions, key=lambda a: (a.dispatched_at, a.due_at, a.key, a.agency)):
        if not a.key.startswith(REPORTING_PREFIX):
            continue
        answered = answered_at(a.due_on, a.acknowledged_at, a.completed_at)
        judged = punctuality(a, now)
        on_time = None if judged is None else judged == "on_time"
        links.append(
            ReportLink(
                agency=a.agency,
                key=a.key,
                title=a.title,
                dispatched_at=a.dispatched_at,
                due_at=a.due_at,
                due_on=a.due_on,
                answered_at=answered,
                allowed_minutes=minutes_between(a.dispatched_at, a.due_at),
                taken_minutes=None
                if answered is None
                else minutes_between(a.dispatched_at, answered),
                on_time=on_time,
                superseded=a.state == "superseded",
                run=a.run,
                regarding=a.regarding,
            )
        )
    return links
