"""How a commander's command on an event runs: in a transaction of its own (retried on conflicts
with concurrent work), on the event locked and at its time, its rows written through one batch,
and answered with the event as it then stands. A guarded transition's refusal is kept on the
timeline."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from models import Event
from models.base import utcnow
from service.errors import Conflict
from service.flows.context import AppContext
from service.flows.events.read import describe
from service.flows.events.schemas import EventRead
from service.plan.actor import Actor
from service.store import timeline
from service.store.batch import WriteBatch
from service.store.events import event_time, lock_event
from service.store.transactions import in_transaction

# A command on the event, locked, at the moment of the change (``event_time``).
Command = Callable[[AsyncSession, WriteBatch, Event, datetime], Awaitable[None]]


async def run_command(
    context: AppContext, actor: Actor, event_id: uuid.UUID, command: Command
) -> EventRead:
    """Run a commander's ``command`` on the event and answer the event it moved, read after its
    batch is written. The commander's role comes first, then the event (404), then whatever the
    command checks."""

    async def work(session: AsyncSession) -> EventRead:
        async with WriteBatch(session) as batch:
            now = utcnow()
            actor.require("commander")
            event = await lock_event(session, event_id)
            await command(session, batch, event, event_time(event, now))
        return await describe(session, event, context.playbooks.grids)

    return await in_transaction(context.sessions, work)


async def run_guarded(
    context: AppContext, actor: Actor, event_id: uuid.UUID, command: Command
) -> EventRead:
    """``run_command`` for a transition with a guard (terminate, close): when the guard refuses,
    the refusal is recorded on the timeline before the 409 goes out."""
    try:
        return await run_command(context, actor, event_id, command)
    except Conflict as refused:
        await record_refusal(context.sessions, actor, event_id, refused)
        raise


async def record_refusal(
    sessions: async_sessionmaker[AsyncSession],
    actor: Actor,
    event_id: uuid.UUID,
    refused: Conflict,
) -> None:
    """Keep a guarded transition's refusal on the timeline, in a transaction of its own (the
    refused one is rolled back)."""
    trigger = refused.extra.get("guard")
    if trigger is None:
        return

    async def record(session: AsyncSession) -> None:
        event = await lock_event(session, event_id)
        async with WriteBatch(session) as batch:
            timeline.record(
                batch,
                event,
                "transition_refused",
                actor,
                f"{trigger} refused: {refused.detail}",
                clause=str(refused.extra.get("rule", "")).removeprefix("plan ") or None,
                trigger=trigger,
                unmet=refused.extra.get("unmet"),
                open=refused.extra.get("open"),
                at=event_time(event, utcnow()),
            )

    await in_transaction(sessions, record)
