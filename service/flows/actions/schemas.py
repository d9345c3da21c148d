"""What the actions endpoints take and answer: an action as the API shows it (``ActionRead``),
shared by the agencies' endpoints and the ``action.*`` notices, which carry the same shape
(design § Notifications: ``data`` holds the action as the API shows it); the notes and
reasons agencies and commanders send."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any, Final

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import BindParameter, ColumnElement, Select, and_, or_, select

from models import Action, Event
from service.flows.schemas import Text
from service.plan.deadlines import OWING_STATES, DueOn
from service.plan.duties import ActionState, Phase
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
    due_on: DueOn = Field(
        description="what due_at asks for: the action acknowledged by then, or completed by then"
        " (design § Deadlines)"
    )
    dispatched_at: datetime
    playbook_version: str
    acknowledged_at: datetime | None
    completed_at: datetime | None
    cancelled_at: datetime | None
    cancel_reason: str | None
    escalated_at: datetime | None
    note: str | None
    drill: bool = Field(description="the action belongs to a drill event (design § Drills)")


class ActionList(BaseModel):
    """Actions, in the order they were dispatched."""

    items: list[ActionRead]


class ActionNote(BaseModel):
    """What an agency may say as it acknowledges or completes an action: kept on the action (a
    later note replaces it) and put on the event's timeline."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"note": "抢修队已出发，预计30分钟到达柯桥区现场"},
                {"note": "柯桥区10千伏线路已恢复送电"},
                {},
            ]
        },
    )

    note: Annotated[Text, Field(max_length=4000)] | None = None


class ActionCancel(BaseModel):
    """Why a commander cancels an open action: told to the agency and put on the timeline."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"reason": "线路已由用户自行恢复，无需抢修"}]},
    )

    reason: Annotated[Text, Field(min_length=1, max_length=2000)]


# What ActionRead takes from the action's own columns (all but its event's drill flag).
_COLUMNS: Final = tuple(name for name in ActionRead.model_fields if name != "drill")


def read(action: Action, drill: bool) -> ActionRead:
    """The action as the API shows it; ``drill`` is its event's (an action has none of its own)."""
    return ActionRead.model_validate({**{n: getattr(action, n) for n in _COLUMNS}, "drill": drill})


def owing() -> ColumnElement[bool]:
    """The action still owes what its due time asks for: ``service.plan.deadlines.owes`` in
    SQL, from the same ``OWING_STATES`` (pending; or acknowledged, when due on completion)."""
    owed = {state for states in OWING_STATES.values() for state in states}
    return and_(
        Action.state.in_(sorted(owed)),  # what the (state, due_at) index can find
        or_(
            *(
                and_(Action.due_on == due_on, Action.state.in_(states))
                for due_on, states in OWING_STATES.items()
            )
        ),
    )


def past_due(now: datetime | BindParameter[datetime]) -> ColumnElement[bool]:
    """The action is overdue at ``now`` (``service.plan.deadlines.is_overdue`` in SQL): it still
    owes what its due time asks for, and that time has passed. As the escalation job, the board
    and /metrics all judge it."""
    return and_(owing(), Action.due_at < now)


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
