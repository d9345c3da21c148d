"""A unit's own duties across events, as its duty page shows them (/board/duties): what is still
open, the overdue first, and what was done or called off below.

Only a unit reads this, with its own token: it is the page a duty officer opens from a message
or a phone. Commanders and observers see every unit's duties on the board and through the API.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from sqlalchemy import func, select

from models import Action, Event
from models.base import utcnow
from service.errors import Forbidden, NotFound, Said
from service.flows.actions.schemas import ActionRead, read
from service.flows.context import AppContext
from service.plan.actor import Actor
from service.plan.deadlines import is_overdue
from service.plan.levels import Level
from service.store.events import event_time

OPEN_STATES: Final = ("pending", "acknowledged")
# The duties done or called off that the page lists below the open ones, the latest first.
CLOSED_SHOWN: Final = 30


@dataclass(frozen=True, slots=True)
class Duty:
    """One duty, with what its reader needs of its event: the level now, whether a drill, and
    whether the duty is overdue on the event's clock (a drill's own, else the service's)."""

    action: ActionRead
    event_level: Level | None
    event_state: str
    overdue: bool

    @property
    def open(self) -> bool:
        return self.action.state in OPEN_STATES


@dataclass(frozen=True, slots=True)
class UnitDuties:
    """A unit's duties: ``open`` overdue first, then by due time; ``closed`` the latest first."""

    agency: str
    open: list[Duty]
    closed: list[Duty]


def require_unit(actor: Actor) -> str:
    """The caller's unit; anyone else is refused (the page is a unit's own)."""
    if actor.role != "agency" or actor.agency is None:
        raise Forbidden(Said("“我的任务”是各单位值班人员的页面：请用本单位的令牌登录"))
    return actor.agency


def _duty(action: Action, event: Event, now: datetime) -> Duty:
    shown = read(action, event.drill)
    late = is_overdue(action.state, action.due_on, action.due_at, event_time(event, now))
    return Duty(shown, event.level, event.state, late)


async def unit_duties(context: AppContext, actor: Actor) -> UnitDuties:
    """The caller's unit's duties on every event, open and closed (``UnitDuties``)."""
    agency = require_unit(actor)
    now = utcnow()
    joined = select(Action, Event).join(Event, Event.id == Action.event_id)
    mine = joined.where(Action.agency == agency)
    async with context.read_sessions() as session:
        open_rows = await session.execute(
            mine.where(Action.state.in_(OPEN_STATES)).order_by(Action.due_at, Action.key)
        )
        opened = [_duty(action, event, now) for action, event in open_rows]
        closed_rows = await session.execute(
            mine.where(Action.state.not_in(OPEN_STATES))
            .order_by(
                func.coalesce(Action.completed_at, Action.cancelled_at, Action.superseded_at)
                .desc()
                .nulls_last(),
                Action.key,
            )
            .limit(CLOSED_SHOWN)
        )
        closed = [_duty(action, event, now) for action, event in closed_rows]
    # overdue first, each part by due time (the sort is stable)
    opened.sort(key=lambda duty: not duty.overdue)
    return UnitDuties(agency, opened, closed)


async def unit_duty(context: AppContext, actor: Actor, action_id: uuid.UUID) -> Duty:
    """One of the caller's unit's duties; another unit's does not exist for it (404)."""
    agency = require_unit(actor)
    async with context.read_sessions() as session:
        found = (
            await session.execute(
                select(Action, Event)
                .join(Event, Event.id == Action.event_id)
                .where(Action.id == action_id, Action.agency == agency)
            )
        ).first()
    if found is None:
        raise NotFound(Said("任务 {id} 不存在", id=action_id))
    action, event = found
    return _duty(action, event, utcnow())
