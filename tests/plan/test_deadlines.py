"""The one rule of deadlines (service.plan.deadlines): what an action's due time asks for, when it
is overdue, and how the evaluation times it; worked out by hand, then the evaluation checked
against the rule over every course an action can take on a grid of minutes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import product

import pytest

from service.plan.deadlines import (
    DUE_ONS,
    DueOn,
    answered_at,
    is_overdue,
    owes,
    punctuality,
)
from service.plan.duties import ActionState

T0 = datetime(2026, 7, 20, 6, 0, tzinfo=UTC)
DUE = T0 + timedelta(minutes=30)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


@pytest.mark.parametrize(
    ("state", "due_on", "owed"),
    [
        ("pending", "acknowledgement", True),
        ("acknowledged", "acknowledgement", False),
        ("done", "acknowledgement", False),
        ("cancelled", "acknowledgement", False),
        ("pending", "completion", True),
        ("acknowledged", "completion", True),  # taken up, not done: still owed
        ("done", "completion", False),
        ("cancelled", "completion", False),
    ],
)
def test_what_an_action_still_owes(state: ActionState, due_on: DueOn, owed: bool) -> None:
    assert owes(state, due_on) is owed
    # overdue only past its due time, never at it
    assert is_overdue(state, due_on, DUE, at(31)) is owed
    assert is_overdue(state, due_on, DUE, at(30)) is False
    assert is_overdue(state, due_on, DUE, at(29)) is False


def test_an_unknown_due_on_is_refused() -> None:
    with pytest.raises(ValueError, match="due_on"):
        owes("pending", "receipt")


def test_the_answer_is_the_acknowledgement_or_the_completion() -> None:
    assert answered_at("acknowledgement", at(5), at(50)) == at(5)
    assert answered_at("completion", at(5), at(50)) == at(50)
    assert answered_at("completion", at(5), None) is None


def state_at(
    moment: datetime,
    acknowledged: datetime | None,
    completed: datetime | None,
    cancelled: datetime | None,
) -> ActionState:
    """The state an action with these times held at ``moment`` (a change at ``moment`` counts)."""
    if cancelled is not None and cancelled <= moment:
        return "cancelled"
    if completed is not None and completed <= moment:
        return "done"
    if acknowledged is not None and acknowledged <= moment:
        return "acknowledged"
    return "pending"


MINUTES = (None, 10, 30, 50, 70)  # before, at and after the due time (30); None: never


def maybe_at(minutes: int | None) -> datetime | None:
    return None if minutes is None else at(minutes)


def courses() -> list[tuple[datetime | None, datetime | None, datetime | None]]:
    """Every (acknowledged, completed, cancelled) an action can have on the grid: completion
    comes with an acknowledgement at or before it; a done action is never cancelled."""
    found = []
    for ack, done, cancel in product(MINUTES, repeat=3):
        if done is not None and (ack is None or ack > done or cancel is not None):
            continue
        if cancel is not None and ack is not None and ack > cancel:
            continue
        found.append((maybe_at(ack), maybe_at(done), maybe_at(cancel)))
    return found


@pytest.mark.parametrize("due_on", DUE_ONS)
def test_the_evaluation_calls_late_exactly_what_was_overdue_at_some_moment(
    due_on: DueOn,
) -> None:
    """``punctuality`` and ``is_overdue`` are one rule: over every course on the grid, judged at
    every minute up to ``now``, late is overdue at some moment, on time is answered without
    ever being overdue."""
    now = at(90)
    moments = [at(m) for m in range(0, 91)]
    for acknowledged, completed, cancelled in courses():
        judged = punctuality(due_on, DUE, acknowledged, completed, cancelled, now)
        ever = any(
            is_overdue(state_at(t, acknowledged, completed, cancelled), due_on, DUE, t)
            for t in moments
        )
        course = (due_on, acknowledged, completed, cancelled)
        assert (judged == "late") is ever, course
        if judged == "on_time":
            assert answered_at(due_on, acknowledged, completed) is not None, course
