"""The counts /metrics shows from the database: read at each scrape, so that they are the same
whichever worker answers it and whatever a worker did before it started."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from models import Action, Delivery, Event
from models.base import utcnow
from service.flows.actions.schemas import past_due
from service.flows.context import AppContext
from service.plan.duties import OPEN_STATES
from service.plan.levels import LEVELS
from service.plan.lifecycle import STATES
from service.plan.notifications import DELIVERY_STATES

NO_LEVEL = "none"  # an event not (yet) at any level of plan 1.5


@dataclass(frozen=True, slots=True)
class Figures:
    """Events by (state, level), open and overdue actions by agency, deliveries by state; every
    combination the vocabulary allows is present, zero when nothing has it, so that a series
    does not vanish when its count falls to zero."""

    events: dict[tuple[str, str], int]
    actions_open: dict[str, int]
    actions_overdue: dict[str, int]
    deliveries: dict[str, int]


async def read_figures(context: AppContext) -> Figures:
    """The counts as they stand now, in one read-only session, for every agency of the
    playbooks."""
    agencies = [agency.code for agency in context.playbooks.agencies]
    async with context.read_sessions() as session:
        return await _count(session, agencies, utcnow())


async def _count(session: AsyncSession, agencies: Iterable[str], now: datetime) -> Figures:
    """Three GROUP BY queries: events, the open actions (only those, by the state they are in),
    deliveries. An open action is overdue as the escalation job judges it (``past_due``)."""
    events: dict[tuple[str, str], int] = {
        (state, level): 0 for state in STATES for level in (*LEVELS, NO_LEVEL)
    }
    by_event = select(Event.state, Event.level, func.count()).group_by(Event.state, Event.level)
    for event_state, level, count in await session.execute(by_event):
        events[(event_state, level or NO_LEVEL)] = count

    actions_open = dict.fromkeys(agencies, 0)
    actions_overdue = dict.fromkeys(agencies, 0)
    overdue = func.sum(case((past_due(now), 1), else_=0))
    by_agency = (
        select(Action.agency, func.count(), overdue)
        .where(Action.state.in_(OPEN_STATES))
        .group_by(Action.agency)
    )
    for agency, count, late in await session.execute(by_agency):
        actions_open[agency] = count
        actions_overdue[agency] = int(late or 0)

    deliveries: dict[str, int] = dict.fromkeys(DELIVERY_STATES, 0)
    by_state = select(Delivery.state, func.count()).group_by(Delivery.state)
    for state, count in await session.execute(by_state):
        deliveries[state] = count
    return Figures(events, actions_open, actions_overdue, deliveries)
