"""What the actions endpoints take and answer: an action as the API shows it (``ActionRead``),
shared by the agencies' endpoints and the ``action.*`` notices, which carry the same shape
(design § Notifications: ``data`` holds the action as the API shows it); the notes and
reasons agencies and commanders send."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any, Final

from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import BindParameter, ColumnElement, Select, and_, or_, select

from models import Action, Event
from service.flows.schemas import Moment, RegionCode, Statement, Text
from service.plan.deadlines import OWING_STATES, DueOn
from service.plan.duties import ActionState, Phase
from service.plan.levels import Level
from service.plan.requisitions import Requirement


class ApprovalRead(BaseModel):
    """A government's approval of a duty, as recorded on its action (plan 5.3 报经当地政府批准)."""

    government: str = Field(description="the region code of the government that approved")
    approver: str = Field(description="who approved, for that government")
    approved_at: datetime
    reference: str = Field(description="the approval's reference (批准文号, or how it was given)")
    recorded_by: str = Field(description="the token that recorded it (role:name@scope)")
    recorded_at: datetime


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
    superseded_at: datetime | None = Field(
        default=None,
        description="when a level (or grade) change gave the duty's job to another item, or "
        "to none (design § Dispatch)",
    )
    escalated_at: datetime | None
    note: str | None
    requires: Requirement | None = Field(
        default=None,
        description="what must be on record before the action is done: `approval`, a "
        "government's (plan 5.3); null for nothing",
    )
    approval: ApprovalRead | None = Field(
        default=None, description="the government's approval, once recorded"
    )
    run: int = Field(
        default=0,
        description="the run of plan 4's chain the link belongs to, 1, 2 … on its event (a "
        "follow-up report is a new run); 0 for an action of no link (design § Reporting chain)",
    )
    regarding: str | None = Field(
        default=None,
        description="the area a run of plan 4's chain reports on: a county hit, or the city "
        "(330600) when none is named",
    )
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


class ActionCompletion(ActionNote):
    """What an agency may say as it completes an action: a ``note``, and for a report of plan
    4's chain sent straight to a level above the next one (必要时可越级上报), the receivers it
    went to (``skip_to``, agency codes) and why (``skip_reason``); design § Reporting chain."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"note": "柯桥区10千伏线路已恢复送电"},
                {
                    "note": "已直接报省发改委、市政府",
                    "skip_to": ["provincial-drc", "hq-city"],
                    "skip_reason": "市经信委值班电话无法接通，停电范围仍在扩大",
                },
                {},
            ]
        },
    )

    skip_to: (
        Annotated[
            list[Annotated[str, Field(min_length=1, max_length=40)]],
            Field(min_length=1, max_length=4),
        ]
        | None
    ) = None
    skip_reason: Annotated[Text, Field(min_length=1, max_length=2000)] | None = None

    @field_validator("skip_to")
    @classmethod
    def _distinct(cls, codes: list[str] | None) -> list[str] | None:
        if codes is not None and len(set(codes)) != len(codes):
            raise ValueError("each receiver once")
        return codes


class ActionCancel(BaseModel):
    """Why a commander cancels an open action: told to the agency and put on the timeline."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"reason": "线路已由用户自行恢复，无需抢修"}]},
    )

    reason: Annotated[Text, Field(min_length=1, max_length=2000)]


class ApprovalCreate(BaseModel):
    """The approval a government gave a duty that requires one (plan 5.3 报经当地政府批准)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "government": "330603",
                    "approver": "柯桥区人民政府 王副区长",
                    "approved_at": "2026-07-20T14:40:00+08:00",
                    "reference": "柯政办电〔2026〕12号",
                }
            ]
        },
    )

    government: RegionCode = Field(
        description="the government's region: the HQ's own, one above it, or a place within its "
        "area (design § Approvals and requisitions)"
    )
    approver: Annotated[Statement, Field(min_length=1, max_length=200)]
    approved_at: Moment
    reference: Annotated[Statement, Field(min_length=1, max_length=200)]


# What ActionRead takes from the action's own columns (all but its event's drill flag).
_COLUMNS: Final = tuple(name for name in ActionRead.model_fields if name != "drill")


def read(action: Action, drill: bool) -> ActionRead:
    """The action as the API shows it; ``drill`` is its event's (an action has none of its own)."""
    return ActionRead.model_validate({**{n: getattr(action, n) for n in _COLUMNS}, "drill": drill})


def owing() -> ColumnElement[bool]:
    """The action still owes what its due time asks for: ``service.plan.deadlines.owes`` in
    SQL, from the same ``OWING_STATES`` (pending; or acknowledged, when due on completion)."""
    owed = {state for states in OWING_STATES.values() for state in states}
    # owed whatever the due time asks for (pending): decided from the index, asked first, so
    # that a count of such actions never reads their rows for ``due_on``
    always = set.intersection(*(set(states) for states in OWING_STATES.values()))
    return and_(
        Action.state.in_(sorted(owed)),  # what the (state, due_at) index can find
        or_(
            Action.state.in_(sorted(always)),
            *(
                and_(Action.due_on == due_on, Action.state.in_(sorted(set(states) - always)))
                for due_on, states in OWING_STATES.items()
                if set(states) - always
            ),
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
        "superseded_at",
        "escalated_at",
        "note",
        "approval",
    )
)


def action_json(row: Mapping[str, Any], *, drill: bool) -> dict[str, Any]:
    """The action of an ``actions`` row (column → value) of an event that is a ``drill`` or
    not, as the API shows it, JSON-ready: what an ``action.*`` notice carries as
    ``data.action``."""
    return ActionRead.model_validate({**UNTOUCHED, "drill": drill, **row}).model_dump(mode="json")
