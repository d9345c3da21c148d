"""An action as the API shows it (``ActionRead``), shared by the agencies' endpoints and the
``action.*`` notices, which carry the same shape (design.md "Deadlines, escalation and
notifications": ``data`` holds the action as the API shows it)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final

from pydantic import BaseModel, Field
from sqlalchemy import BindParameter, ColumnElement, Select, and_, select

from models import Action, Event
from service.plan.duties import OVERDUE_STATES, ActionState, Phase
from service.plan.levels import Level


class ActionRead(BaseModel):
    id: uuid.UUID
    event_id: uuid.UUID
    key: str
    agency: str
    phase: Phase
    level: Level | None
    clause: str
    title: str
    detail: str
    state: ActionState
    due_at: datetime
    dispatched_at: datetime
    playbook_version: str
    acknowledged_at: datetime | None
    completed_at: datetime | None
    cancelled_at: datetime | None
    cancel_reason: str | None
    escalated_at: datetime | None
    note: str | None
    drill: bool = Field(description="the action belongs to a drill event (design.md)")


# What ActionRead takes from the action's own columns (all but its event's drill flag).
_COLUMNS: Final = tuple(name for name in ActionRead.model_fields if name != "drill")


def read(action: Action, drill: bool) -> ActionRead:
    """The action as the API shows it; ``drill`` is its event's (an action has none of its own)."""
    return ActionRead.model_validate({**{n: getattr(action, n) for n in _COLUMNS}, "drill": drill})


def past_due(now: datetime | BindParameter[datetime]) -> ColumnElement[bool]:
    """The action is overdue at ``now``: still in ``OVERDUE_STATES`` (pending) past its
    ``due_at``. As the escalation job, the board and /metrics all judge it."""
    return and_(Action.state.in_(OVERDUE_STATES), Action.due_at < now)


def with_drill() -> Select[Action, bool]:
    """Actions with their event's drill flag, for ``read``."""
    return select(Action, Event.drill).join(Event, Event.id == Action.event_id)


# What a row of a newly dispatched action leaves out: nothing has happened to it yet.
UNTOUCHED: Final[Mapping[str, None]] = dict.fromkeys(
    (
        "acknowledged_at",
        "completed_at",
        "cancelled_at",
        "cancel_reason",
        "escalated_at",
        "note",
    )
)


def action_json(row: Mapping[str, Any], *, drill: bool) -> dict[str, Any]:
    """The action of an ``actions`` row (column → value) of an event that is a ``drill`` or
    not, as the API shows it, JSON-ready: what an ``action.*`` notice carries as
    ``data.action``."""
    return ActionRead.model_validate({**UNTOUCHED, "drill": drill, **row}).model_dump(mode="json")
