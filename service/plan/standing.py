"""Standing duties (design § Standing duties): what chapters 7 and 8.1 of the plan ask of its
units between outages, tracked as tasks that belong to no event.

Plan 7.1–7.6 (保障措施) and 8.1 (预案管理) give units duties with no incident to start them:
keep the rescue teams trained, hold drills, keep reserves and emergency power, keep the plan
revised. Each duty recurs (``Recurrence``):

- ``yearly``: one task per calendar year (Beijing time), due by the end of that year. The plan
  says 定期 (7.1) or nothing of when; a year is the period the service chose.
- ``after_findings``: plan 8.1 revises the plan by "预案实施过程中发现的问题": one task per
  problem an evaluation found and marked for revision (a drill's included), due some days after.
- ``after_revision``: plan 8.1 "各区、县(市)政府要根据本预案制(修)订": when the city's plan has
  been revised (an ``after_findings`` task done), each county revises its own.

A task moves as an action does (``service.plan.duties``): pending → acknowledged → done, or
cancelled with a reason. It is judged by the actions' one rule (``service.plan.deadlines``): its
``due_at`` asks for the duty done (a drill held by the year's end), as an action due on its
completion, so a task still open past it, acknowledged or not, is overdue until it is done
(design § Standing duties). Pure: the flows apply it.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Final, Literal, get_args

from service.plan import deadlines
from service.plan.deadlines import OWING_STATES, DueOn
from service.plan.duties import ActionState
from service.plan.local_time import SHANGHAI

Recurrence = Literal["yearly", "after_findings", "after_revision"]
RECURRENCES: Final[tuple[Recurrence, ...]] = get_args(Recurrence)
# The recurrences raised by something that happened, some days after it (``due_days``).
RAISED_AFTER: Final[tuple[Recurrence, ...]] = ("after_findings", "after_revision")

# What a standing task's due time asks for: the duty done (plan 7.1 定期开展应急演练 is a drill
# held, 8.1 及时进行修订完善 a plan revised), not a promise to do it.
STANDING_DUE_ON: Final[DueOn] = "completion"
# The states in which a task still owes it: open, taken up or not.
STANDING_OWING_STATES: Final[tuple[ActionState, ...]] = OWING_STATES[STANDING_DUE_ON]


def year_of(moment: datetime) -> int:
    """The calendar year ``moment`` falls in, in Beijing time (a year's duties are Shaoxing's)."""
    return moment.astimezone(SHANGHAI).year


def year_end(year: int) -> datetime:
    """The end of ``year`` in Beijing time, as UTC: 1 January of the next year, 00:00 (+08:00).
    A yearly task is due then; done at 23:59 on 31 December it was on time."""
    return datetime(year + 1, 1, 1, tzinfo=SHANGHAI).astimezone(UTC)


def yearly_period(year: int) -> str:
    """The period of a yearly task: "2026"."""
    return str(year)


def finding_period(finding_id: uuid.UUID) -> str:
    """The period of a task raised by an evaluation's finding: one per finding."""
    return f"finding:{finding_id}"


def revision_period(task_id: uuid.UUID) -> str:
    """The period of a task raised by the revision (task ``task_id``) of the city's plan."""
    return f"revision:{task_id}"


def due_after(start: datetime, days: int) -> datetime:
    """A raised task's due time: ``days`` whole days after it was raised."""
    return start + timedelta(days=days)


def is_overdue(state: str, due_at: datetime, now: datetime) -> bool:
    """The actions' rule for a task due on its completion: open past its due time (the board's
    mark, the escalation's condition)."""
    return deadlines.is_overdue(state, STANDING_DUE_ON, due_at, now)
