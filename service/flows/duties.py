"""A duty moves on: the steps an event's action and a standing task share.

The unit holding the duty acknowledges or completes it (``move_on``), forward only, a repeat
changing nothing but a new note; a commander cancels it (``call_off``) with a reason. Each
caller locks its row first and adds what its own kind asks for: an action's timeline entry, its
approval and the links waiting for it (service.flows.actions.progress); a task's revisions
(service.flows.standing.progress). One overdue is escalated once, then reminded (``chase_due``,
``chase``): service.flows.actions.escalation and service.flows.standing.escalation.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import ColumnElement, and_, or_

from models import Action, StandingTask
from service.errors import Conflict, Said
from service.plan.duties import STEPS, ActionState, Progress, Step


class Duty(Protocol):
    """A duty's row as both kinds hold it (``models.Action``, ``models.StandingTask``)."""

    state: ActionState
    note: str | None
    acknowledged_at: datetime | None
    completed_at: datetime | None
    cancelled_at: datetime | None
    cancel_reason: str | None
    escalated_at: datetime | None
    reminded_at: datetime | None
    updated_at: datetime


def refuse_cancelled(duty: Duty) -> None:
    """A cancelled duty is no one's to move on (409, with the reason it was cancelled for)."""
    if duty.state == "cancelled":
        raise Conflict(
            Said("任务已取消：{reason}", reason=duty.cancel_reason or ""), state="cancelled"
        )


def advances(duty: Duty, to: Step) -> bool:
    """True when the step ``to`` moves the duty forward from where it stands."""
    return duty.state in STEPS[to][0]


def move_on(duty: Duty, to: Step, note: str | None, now: datetime) -> Progress | None:
    """Take the step ``to`` (design § Actions: pending → acknowledged → done) at ``now``, keeping
    a new ``note``; what happened, or None when nothing did: a repeat, or acknowledging a done
    duty, with no new note. The caller has refused a duty no longer open (``refuse_cancelled``,
    and an action's superseded state)."""
    sources, progress = STEPS[to]
    if duty.state in sources:
        duty.state = to
        duty.acknowledged_at = duty.acknowledged_at or now
        if to == "done":
            duty.completed_at = now
    elif not note or note == duty.note:
        return None
    else:
        progress = "noted"
    if note:
        duty.note = note
    duty.updated_at = now
    return progress


def call_off(duty: Duty, reason: str, now: datetime) -> bool:
    """Cancel the duty for ``reason``: True when it was open; False when it was cancelled
    already, which is harmless. A done duty is 409."""
    if duty.state == "done":
        raise Conflict(Said("任务已完成"), state="done")
    if duty.state == "cancelled":
        return False
    duty.state, duty.cancelled_at, duty.cancel_reason = "cancelled", now, reason
    duty.updated_at = now
    return True


def chase_due(
    kind: type[Action] | type[StandingTask],
    owing: ColumnElement[bool],
    overdue: ColumnElement[bool],
    now: datetime,
    remind_every: timedelta,
) -> ColumnElement[bool]:
    """In SQL: the duty is due for its escalation (``overdue`` at ``now`` and not escalated yet)
    or for a reminder (still ``owing``, its last notice, the escalation or a reminder,
    ``remind_every`` old). Each kind says what it owes and when it is overdue."""
    since = now - remind_every
    return or_(
        and_(overdue, kind.escalated_at.is_(None)),
        and_(
            owing,
            kind.escalated_at.is_not(None),
            or_(
                kind.reminded_at <= since,
                and_(kind.reminded_at.is_(None), kind.escalated_at <= since),
            ),
        ),
    )


def chase(duty: Duty, now: datetime) -> bool:
    """Mark a claimed duty chased at ``now``: escalated, its first notice (True), or reminded."""
    first = duty.escalated_at is None
    if first:
        duty.escalated_at = now
    else:
        duty.reminded_at = now
    duty.updated_at = now
    return first
