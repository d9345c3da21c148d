"""Actions as agencies and an event's readers see them: the agency's poll, answered 304 while
nothing changed (ETag), and an event's actions."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from models import Action, Event
from service.errors import Forbidden, NotFound, Said
from service.flows.actions.schemas import ActionList, ActionRead, read, with_drill
from service.flows.context import AppContext
from service.plan.actor import Actor
from service.playbooks.agencies import AgencyRegistry
from service.store import feeds
from service.store.events import get_event


@dataclass(frozen=True, slots=True)
class Poll:
    """An agency's poll answered: the listing's tag, and its actions, or None when the caller
    holds that tag already (nothing changed: 304)."""

    tag: str
    actions: ActionList | None


async def poll_agency(
    context: AppContext,
    actor: Actor,
    agency: str,
    state: str | None,
    event_id: uuid.UUID | None,
    drill: bool | None,
    held: Collection[str] = (),
) -> Poll:
    """An agency's actions, for polling; ``held`` are the tags the caller sent (If-None-Match).

    The poll is the hottest path an agency has: the tag is read on a bare connection (one read by
    primary key, no session), and a session is opened only when there is something new to send.
    """
    may_read_agency(actor, agency, context.playbooks.agencies)
    async with context.read_engine.connect() as connection:
        tag = await etag(connection, agency, state, event_id, drill)
    if tag in held:
        return Poll(tag, None)
    # Read after the tag: a change in between sends newer items under an older tag, which only
    # costs the next poll a full answer; never the reverse.
    async with context.read_sessions() as session:
        items = await list_for_agency(session, agency, state, event_id, drill)
    return Poll(tag, ActionList(items=items))


async def list_event_actions(context: AppContext, actor: Actor, event_id: uuid.UUID) -> ActionList:
    """An event's actions, in the order dispatched; an agency sees only its own."""
    async with context.read_sessions() as session:
        await get_event(session, actor, event_id)  # 404 for an event the caller cannot see
        query = with_drill().where(Action.event_id == event_id)
        if actor.role == "agency":
            query = query.where(Action.agency == actor.agency)
        rows = await session.execute(query.order_by(Action.dispatched_at, Action.key))
        return ActionList(items=[read(action, in_drill) for action, in_drill in rows])


def agency_actions(
    agency: str, state: str | None, event_id: uuid.UUID | None, drill: bool | None
) -> Select[Action, bool]:
    query = with_drill().where(Action.agency == agency)
    if state is not None:
        query = query.where(Action.state == state)
    if event_id is not None:
        query = query.where(Action.event_id == event_id)
    if drill is not None:
        query = query.where(Event.drill == drill)
    return query


async def etag(
    reader: AsyncSession | AsyncConnection,
    agency: str,
    state: str | None,
    event_id: uuid.UUID | None,
    drill: bool | None,
) -> str:
    """A weak validator of the agency's listing: its change counter (service.store.feeds) and the
    filters. Any change to any of its actions moves the counter, so an unchanged tag means an
    unchanged answer; one read by primary key. An event's drill flag never changes, so the
    ``drill`` filter is part of the tag like the others."""
    seed = f"{agency}|{await feeds.version(reader, agency)}|{state}|{event_id}|{drill}"
    return f'W/"{hashlib.sha256(seed.encode()).hexdigest()[:32]}"'


def may_read_agency(actor: Actor, agency: str, agencies: AgencyRegistry) -> None:
    """That agency itself, commanders and observers (and admins, who see what observers see)."""
    known = agencies.get(agency)
    if known is None or known.kind == "symbolic":
        raise NotFound(Said("没有单位 {agency}（见 agencies.yaml）", agency=agency))
    if actor.role == "agency":
        if actor.agency != agency:
            raise NotFound(Said("没有单位 {agency} 的任务", agency=agency))
        return
    if actor.role not in ("commander", "observer", "admin"):
        raise Forbidden(Said("角色“{role}”不能查看单位的任务", role=actor.role))


async def list_for_agency(
    session: AsyncSession,
    agency: str,
    state: str | None,
    event_id: uuid.UUID | None,
    drill: bool | None,
) -> list[ActionRead]:
    query = agency_actions(agency, state, event_id, drill)
    rows = await session.execute(query.order_by(Action.dispatched_at, Action.key))
    return [read(action, in_drill) for action, in_drill in rows]
