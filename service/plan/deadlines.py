"""What an action's due time asks for, and the one rule that says whether it is overdue
(design § Deadlines).

Every checklist item is due ``due_minutes`` after its dispatch. The plan's time words (立即,
第一时间, 迅速, 及时, 先行, 同时, 规定的时限) sometimes fall on an act that is over once done: plan
4's "应立即…报告" asks for the report made at once, not for a promise to make it. Such an item is
due on its **completion**; every other one on its **acknowledgement** (taken up by its due time),
as the playbook item says (``due_on:``, copied onto the action at dispatch).

``is_overdue`` is the rule: the escalation job (its overdue notices and reminders), the board,
/metrics (through the SQL form of ``OWING_STATES`` in service.flows.actions.schemas) and plan
6.1's evaluation (``punctuality``: late exactly when the action was overdue at some moment) all
judge by it. Pure functions over plain values.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from types import MappingProxyType
from typing import Final, Literal, get_args

from service.plan.duties import ActionState

# design § Deadlines: what ``due_at`` asks for; the playbook item says (acknowledgement unless
# it says otherwise). Plan 4's reports, "应立即…报告", are due on their completion.
DueOn = Literal["acknowledgement", "completion"]
DUE_ONS: Final[tuple[DueOn, ...]] = get_args(DueOn)
DEFAULT_DUE_ON: Final[DueOn] = "acknowledgement"

# The states in which an action still owes what its due time asks for: one due on its
# acknowledgement owes it while pending; one due on its completion while pending or
# acknowledged (taken up, not done). Done and cancelled actions owe nothing.
OWING_STATES: Final[Mapping[DueOn, tuple[ActionState, ...]]] = MappingProxyType(
    {"acknowledgement": ("pending",), "completion": ("pending", "acknowledged")}
)

Punctuality = Literal["on_time", "late"]


def owes(state: ActionState | str, due_on: DueOn | str) -> bool:
    """Whether an action in ``state`` still owes what its due time (``due_on``) asks for."""
    return state in OWING_STATES[_due_on(due_on)]


def is_overdue(
    state: ActionState | str, due_on: DueOn | str, due_at: datetime, now: datetime
) -> bool:
    """The rule: an action is overdue at ``now`` when it still owes what its due time asks for
    (``owes``) and that time has passed (``due_at`` before ``now``; at ``due_at`` itself it is
    still on time). An acknowledged action due on its completion is overdue past its due time
    until it is done; one due on its acknowledgement is not, once taken up."""
    # plan 4, 5.2, 6 (立即, 第一时间, 及时 …): the time the playbook reads into them has passed
    return owes(state, due_on) and due_at < now


def answered_at(
    due_on: DueOn | str, acknowledged_at: datetime | None, completed_at: datetime | None
) -> datetime | None:
    """When the action gave what its due time asks for: its acknowledgement, or its completion
    for one due on completion; None while it has not."""
    return completed_at if _due_on(due_on) == "completion" else acknowledged_at


def punctuality(
    due_on: DueOn | str,
    due_at: datetime,
    acknowledged_at: datetime | None,
    completed_at: datetime | None,
    cancelled_at: datetime | None,
    now: datetime,
) -> Punctuality | None:
    """How an action stood against its due time, as plan 6.1's evaluation counts it: "late" when
    it was overdue (``is_overdue``) at some moment, "on_time" when it gave what its due time asks
    for by then, None while it has not and is not yet due, or when it was cancelled before its
    due time.

    Answered at or before ``due_at``: on time; after it: late (it was overdue until then). Never
    answered: late once its due time passed while it was still owed (before its cancellation, or
    before ``now``).
    """
    answered = answered_at(due_on, acknowledged_at, completed_at)
    if answered is not None:
        return "on_time" if answered <= due_at else "late"
    owed_until = cancelled_at or now
    return "late" if due_at < owed_until else None


def _due_on(value: DueOn | str) -> DueOn:
    for due_on in DUE_ONS:
        if value == due_on:
            return due_on
    raise ValueError(f"due_on: {value!r} is none of {', '.join(DUE_ONS)}")
