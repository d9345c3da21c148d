"""The steps an event's action and a standing task share (service.flows.duties), on a plain
duty: forward only (design § Actions: pending → acknowledged → done), a repeat changing nothing
but a new note, cancelling once, never a done duty, and chasing one overdue: escalated once,
then reminded. (Which duties the chase claims, ``chase_due``, is SQL: the escalation tests.)"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from service.errors import Conflict
from service.flows.duties import advances, call_off, chase, move_on, refuse_cancelled
from service.plan.duties import ActionState, Step

BEFORE = datetime(2026, 7, 20, 6, 0, tzinfo=UTC)
NOW = BEFORE + timedelta(minutes=5)


@dataclass
class Plain:
    """A duty's row, as ``service.flows.duties.Duty`` reads it."""

    state: ActionState
    note: str | None = None
    acknowledged_at: datetime | None = None
    completed_at: datetime | None = None
    cancelled_at: datetime | None = None
    cancel_reason: str | None = None
    escalated_at: datetime | None = None
    reminded_at: datetime | None = None
    updated_at: datetime = BEFORE


@pytest.mark.parametrize(
    ("state", "to", "after", "progress"),
    [
        ("pending", "acknowledged", "acknowledged", "acknowledged"),
        ("pending", "done", "done", "completed"),
        ("acknowledged", "done", "done", "completed"),
        # a repeat, or acknowledging a done duty, does nothing
        ("acknowledged", "acknowledged", "acknowledged", None),
        ("done", "acknowledged", "done", None),
        ("done", "done", "done", None),
    ],
)
def test_a_duty_moves_forward_only(
    state: ActionState, to: Step, after: ActionState, progress: str | None
) -> None:
    duty = Plain(state)
    assert advances(duty, to) is (progress is not None)
    assert move_on(duty, to, None, NOW) == progress
    assert duty.state == after
    moved = progress is not None
    assert duty.updated_at == (NOW if moved else BEFORE)
    assert duty.acknowledged_at == (NOW if moved else None)
    assert duty.completed_at == (NOW if progress == "completed" else None)


def test_acknowledged_once_stays_acknowledged_then_when_completed() -> None:
    duty = Plain("pending")
    move_on(duty, "acknowledged", None, BEFORE)
    move_on(duty, "done", None, NOW)
    assert (duty.acknowledged_at, duty.completed_at) == (BEFORE, NOW)


@pytest.mark.parametrize(("state", "to"), [("acknowledged", "acknowledged"), ("done", "done")])
def test_a_repeat_keeps_a_new_note_and_only_that(state: ActionState, to: Step) -> None:
    duty = Plain(state, note="已到场")
    assert move_on(duty, to, "已到场", NOW) is None  # the same note again: nothing
    assert duty.updated_at == BEFORE
    assert move_on(duty, to, "抢修车已出发", NOW) == "noted"
    assert (duty.state, duty.note, duty.updated_at) == (state, "抢修车已出发", NOW)


def test_a_step_keeps_its_note_and_without_one_keeps_the_last() -> None:
    duty = Plain("pending")
    move_on(duty, "acknowledged", "收到", NOW)
    move_on(duty, "done", None, NOW)
    assert (duty.state, duty.note) == ("done", "收到")


def test_a_cancelled_duty_is_refused_with_its_reason() -> None:
    refuse_cancelled(Plain("pending"))
    with pytest.raises(Conflict) as refused:
        refuse_cancelled(Plain("cancelled", cancel_reason="不再需要"))
    assert refused.value.extra["state"] == "cancelled"


@pytest.mark.parametrize("state", ["pending", "acknowledged"])
def test_calling_off_an_open_duty_and_again(state: ActionState) -> None:
    duty = Plain(state)
    assert call_off(duty, "不再需要", NOW)
    assert (duty.state, duty.cancel_reason, duty.cancelled_at) == ("cancelled", "不再需要", NOW)
    assert duty.updated_at == NOW
    assert not call_off(duty, "另一个理由", NOW + timedelta(minutes=1))  # harmless, unchanged
    assert (duty.cancel_reason, duty.cancelled_at) == ("不再需要", NOW)


def test_a_done_duty_is_not_called_off() -> None:
    duty = Plain("done")
    with pytest.raises(Conflict) as refused:
        call_off(duty, "不再需要", NOW)
    assert refused.value.extra["state"] == "done"
    assert duty.state == "done"


def test_a_duty_chased_is_escalated_once_then_reminded() -> None:
    duty = Plain("pending")
    assert chase(duty, BEFORE)  # the first notice: the escalation
    assert (duty.escalated_at, duty.reminded_at, duty.updated_at) == (BEFORE, None, BEFORE)
    assert not chase(duty, NOW)  # then reminders, the escalation's time kept
    assert (duty.escalated_at, duty.reminded_at, duty.updated_at) == (BEFORE, NOW, NOW)
