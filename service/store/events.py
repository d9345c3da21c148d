"""Finding, opening and locking events: what several flows share.

Every write on an event locks the event row first (``lock_event``: FOR UPDATE on PostgreSQL; on
SQLite the writer lock of ``BEGIN IMMEDIATE`` covers it), so two writers never interleave on one
event.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Select, exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from models import Action, EarlyWarning, Event, EventGrid
from service.errors import InvalidInput, NotFound
from service.plan.actor import Actor
from service.store import timeline
from service.store.batch import WriteBatch


def visible_events(actor: Actor | None) -> Select[Event]:
    """Events the actor may read (None: any event). An agency sees only events in which it
    has actions."""
    query = select(Event)
    if actor is not None and actor.role == "agency":
        query = query.where(
            exists().where(Action.event_id == Event.id, Action.agency == actor.agency)
        )
    return query


async def get_event(session: AsyncSession, actor: Actor | None, event_id: uuid.UUID) -> Event:
    event = await session.scalar(visible_events(actor).where(Event.id == event_id))
    if event is None:
        raise NotFound(f"event {event_id} does not exist")
    return event


async def lock_event(session: AsyncSession, event_id: uuid.UUID, field: str | None = None) -> Event:
    """The event, locked for this transaction (FOR UPDATE; SQLite's writer lock covers it).

    ``field`` names the request field that gave the id, for the 404.
    """
    event = await session.scalar(select(Event).where(Event.id == event_id).with_for_update())
    if event is None:
        raise NotFound(f"event {event_id} does not exist", **({"field": field} if field else {}))
    return event


async def open_event(
    session: AsyncSession,
    batch: WriteBatch,
    actor: Actor,
    now: datetime,
    *,
    event_id: uuid.UUID | None,
    drill: bool | None,
    opened_by: str,
    clause: str,
) -> Event:
    """The named event, locked; or, with no ``event_id``, a new one in monitoring.

    ``drill`` must match a named event's (or be None); a new event is a drill only if asked.
    """
    if event_id is None:
        event = Event(
            id=uuid.uuid4(),
            state="monitoring",
            drill=bool(drill),
            opened_at=now,
            updated_at=now,
            basis=[],
        )
        batch.add_object(event)
        timeline.record(
            batch,
            event.id,
            "event_opened",
            actor,
            f"event opened by {opened_by}" + (" (drill)" if event.drill else ""),
            clause=clause,
            at=now,
        )
        return event
    found = await lock_event(session, event_id, field="event_id")
    if drill is not None and drill != found.drill:
        kind = "a drill" if found.drill else "not a drill"
        raise InvalidInput(
            "drill", f"event {found.id} is {kind}; drill must match it or be left out"
        )
    return found


async def event_area(session: AsyncSession, event: Event) -> set[str]:
    """The grids the event's reports named and the regions its warnings cover."""
    grids = set(
        await session.scalars(select(EventGrid.region).where(EventGrid.event_id == event.id))
    )
    for area in await session.scalars(
        select(EarlyWarning.area).where(EarlyWarning.event_id == event.id)
    ):
        grids.update(area)
    return grids
