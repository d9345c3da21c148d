"""Actions as agencies and an event's readers see them: the agency's poll, a page at a time
and answered 304 while nothing changed (ETag), and an event's actions."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from models import Action, Event
from service.errors import Forbidden, NotFound, Said
from service.flows.actions.schemas import ActionList, ActionRead, read, with_drill
from service.flows.context import AppContext
from service.flows.schemas import Page
from service.plan.actor import Actor
from service.playbooks.agencies import AgencyRegistry
from service.store import feeds
from service.store.cursors import before_time_cursor, decode_time_cursor, time_page
from service.store.events import get_event


@dataclass(frozen=True, slots=True)
class PollPage:
    """Which page of an agency's actions a poll asks for: the filters (None: any), the page
    size and the ``next`` of the page before (None: the first page, the newest actions)."""

    agency: str
    limit: int
    state: str | None = None
    event_id: uuid.UUID | None = None
    drill: bool | None = None
    cursor: str | None = None


@dataclass(frozen=True, slots=True)
class Poll:
    """An agency's poll answered: the page's tag, and the page, or None when the caller holds
    that tag already (nothing changed: 304)."""

    tag: str
    page: Page[ActionRead] | None


async def poll_agency(
    context: AppContext, actor: Actor, asked: PollPage, held: Collection[str] = ()
) -> Poll:
    """A page of an agency's actions, newest first, for polling; ``held`` are the tags the
    caller sent (If-None-Match).

    The poll is the hottest path an agency has: the tag is read on a bare connection (one read by
    primary key, no session), and a session is opened only when there is something new to send.
    The page itself is a keyset page (``service.store.cursors``), so it costs the same whatever
    the agency's history holds.
    """
    may_read_agency(actor, asked.agency, context.playbooks.agencies)
    # The cursor is judged before the tag: a cursor the service never gave is 422 even to a
    # caller holding a tag.
    position = None if asked.cursor is None else decode_time_cursor(asked.cursor)
    async with context.read_engine.connect() as connection:
        tag = await etag(connection, asked, position)
    if tag in held:
        return Poll(tag, None)
    # Read after the tag: a change in between sends newer items under an older tag, which only
    # costs the next poll the page again; never the reverse.
    async with context.read_sessions() as session:
        page = await page_for_agency(session, asked)
    return Poll(tag, page)


async def list_event_actions(context: AppContext, actor: Actor, event_id: uuid.UUID) -> ActionList:
    """An event's actions, in the order dispatched; an agency sees only its own."""
    async with context.read_sessions() as session:
        await get_event(session, actor, event_id)  # 404 for an event the caller cannot see
        query = with_drill().where(Action.event_id == event_id)
        if actor.role == "agency":
            query = query.where(Action.agency == actor.agency)
        rows = await session.execute(query.order_by(Action.dispatched_at, Action.key))
        return ActionList(items=[read(action, in_drill) for action, in_drill in rows])


def agency_actions(asked: PollPage) -> Select[Action, bool]:
    query = with_drill().where(Action.agency == asked.agency)
    if asked.state is not None:
        query = query.where(Action.state == asked.state)
    if asked.event_id is not None:
        query = query.where(Action.event_id == asked.event_id)
    if asked.drill is not None:
        query = query.where(Event.drill == asked.drill)
    return query


async def etag(
    reader: AsyncSession | AsyncConnection,
    asked: PollPage,
    position: tuple[datetime, uuid.UUID] | None,
) -> str:
    """A weak validator of one page of the agency's actions: its change counter
    (service.store.feeds), the filters, the page size and where the page starts (the cursor's
    time and id, so two spellings of one cursor share a tag). Any change to any of the agency's
    actions moves the counter, so the tag of every page moves with a change on that page, or
    with a new action that would belong on it; one read by primary key. An event's drill flag
    never changes, so the ``drill`` filter is part of the tag like the others."""
    version = await feeds.version(reader, asked.agency)
    after = "first" if position is None else f"{position[0].isoformat()}/{position[1]}"
    seed = (
        f"{asked.agency}|{version}|{asked.state}|{asked.event_id}|{asked.drill}"
        f"|{asked.limit}|{after}"
    )
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


def page_query(asked: PollPage) -> Select[Action, bool]:
    """The rows of the page ``asked`` names and one more, newest first: in descending
    (dispatched_at, id), the id settling actions dispatched at one moment. Migration 0021's
    indexes serve it, so that it reads about as many rows as it gives, wherever the cursor
    points; with ``drill`` alone it also passes over the agency's actions of the other kind."""
    return before_time_cursor(
        agency_actions(asked), Action.dispatched_at, Action.id, asked.cursor, asked.limit
    )


async def page_for_agency(session: AsyncSession, asked: PollPage) -> Page[ActionRead]:
    """The page of the agency's actions ``asked`` names (``page_query``)."""
    rows, following = time_page(
        list(await session.execute(page_query(asked))),
        asked.limit,
        lambda row: (row[0].dispatched_at, row[0].id),
    )
    return Page(items=[read(action, in_drill) for action, in_drill in rows], next=following)
