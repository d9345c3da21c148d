"""Reading events: the detail a command centre shows, lists with filters, reports, timeline.

The entry points (``list_events``, ``read_event``, ``list_reports``, ``list_timeline``) each
open a read-only session of their own; ``describe`` and ``event_read`` give an event already
read in another flow's session.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Collection, Mapping
from typing import Final

from sqlalchemy import Select, exists, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from models import Action, ApiToken, Event, EventGrid, Report, TimelineEntry
from service.errors import InvalidInput, Said
from service.flows.context import AppContext
from service.flows.events.agency_view import AGENCY_KINDS, as_agency_sees
from service.flows.events.schemas import EventRead, RestorationRead, TimelineRead
from service.flows.reports.schemas import ReportRead
from service.flows.schemas import HQ, BasisRead, Page
from service.plan.actor import Actor
from service.plan.addressees import reports_received
from service.plan.grids import GridRegistry
from service.plan.levels import Level
from service.plan.lifecycle import EventState
from service.plan.restoration import GridLoss, restoration
from service.store.cursors import after_time_cursor, decode_seq_cursor, encode_cursor, time_page
from service.store.events import get_event, visible_events

# Timeline rows read at a time for an agency, which sees only some of them.
TIMELINE_CHUNK: Final = 200


def event_read(event: Event, event_grids: list[EventGrid], grids: GridRegistry) -> EventRead:
    restored = restoration(
        GridLoss(g.region, g.scope, g.load_lost_mw, g.peak_load_lost_mw) for g in event_grids
    )
    return EventRead(
        id=event.id,
        state=event.state,
        level=event.level,
        peak_level=event.peak_level,
        response_level=event.response_level,
        leading_hq=HQ.of(event.leading_hq, grids),
        drill=event.drill,
        opened_at=event.opened_at,
        updated_at=event.updated_at,
        closed_at=event.closed_at,
        etr=event.etr,
        basis=[BasisRead.model_validate(b) for b in event.basis],
        restoration=RestorationRead(
            overall=restored.overall, scope=restored.scope, grids=restored.grids
        ),
        drill_clock=event.drill_clock,
    )


async def read_event(context: AppContext, actor: Actor, event_id: uuid.UUID) -> EventRead:
    """The event ``actor`` may see, with its restoration figures."""
    async with context.read_sessions() as session:
        event = await get_event(session, actor, event_id)
        return await describe(session, event, context.playbooks.grids)


async def describe(session: AsyncSession, event: Event, grids: GridRegistry) -> EventRead:
    """The event's detail, with its restoration figures."""
    rows = await session.scalars(select(EventGrid).where(EventGrid.event_id == event.id))
    return event_read(event, list(rows), grids)


async def list_events(
    context: AppContext,
    actor: Actor,
    *,
    state: EventState | None,
    level: Level | None,
    region: str | None,
    drill: bool | None,
    limit: int,
    cursor: str | None,
) -> Page[EventRead]:
    """The events ``actor`` may see, oldest first, keyset-paginated on (opened_at, id)."""
    grids = context.playbooks.grids
    query = visible_events(actor)
    if state is not None:
        query = query.where(Event.state == state)
    if level is not None:
        query = query.where(Event.level == level)
    if drill is not None:
        query = query.where(Event.drill == drill)
    if region is not None:
        if region not in grids:
            raise InvalidInput("region", Said("未知电网 {grid}（见 regions.yaml）", grid=region))
        within = [g.code for g in grids if grids.is_within(g.code, region)]
        query = query.where(
            exists().where(EventGrid.event_id == Event.id, EventGrid.region.in_(within))
        )
    query = after_time_cursor(query, Event.opened_at, Event.id, cursor, limit)
    async with context.read_sessions() as session:
        events, following = time_page(
            list(await session.scalars(query)), limit, lambda e: (e.opened_at, e.id)
        )
        by_event: dict[uuid.UUID, list[EventGrid]] = {e.id: [] for e in events}
        if events:
            rows = await session.scalars(
                select(EventGrid).where(EventGrid.event_id.in_(list(by_event)))
            )
            for row in rows:
                by_event[row.event_id].append(row)
    return Page(items=[event_read(e, by_event[e.id], grids) for e in events], next=following)


async def list_reports(
    context: AppContext, actor: Actor, event_id: uuid.UUID, limit: int, cursor: str | None
) -> Page[ReportRead]:
    """The reports of the event ``actor`` may see, in the order they were received."""
    query = (
        select(Report, ApiToken.name)
        .join(ApiToken, ApiToken.id == Report.actor_id)
        .where(Report.event_id == event_id)
        .options(selectinload(Report.snapshots))
    )
    query = after_time_cursor(query, Report.received_at, Report.id, cursor, limit)
    async with context.read_sessions() as session:
        await get_event(session, actor, event_id)
        rows, following = time_page(
            list(await session.execute(query)), limit, lambda row: (row[0].received_at, row[0].id)
        )
    return Page(items=[ReportRead.of(report, name) for report, name in rows], next=following)


async def list_timeline(
    context: AppContext, actor: Actor, event_id: uuid.UUID, limit: int, cursor: str | None
) -> Page[TimelineRead]:
    """Everything that happened to the event, newest last; an agency sees what
    ``service.flows.events.agency_view`` shows it (the checklists' links tell it the reports it
    received). The cursor is the ``seq`` of the last entry given."""
    query = select(TimelineEntry).where(TimelineEntry.event_id == event_id)
    if cursor is not None:
        query = query.where(TimelineEntry.event_seq > decode_seq_cursor(cursor))
    async with context.read_sessions() as session:
        event = await get_event(session, actor, event_id)
        if actor.role == "agency":
            after = context.playbooks.checklists.after
            entries = await _agency_timeline(session, actor, event, query, limit, after)
        else:
            rows = await session.scalars(query.order_by(TimelineEntry.event_seq).limit(limit + 1))
            entries = [TimelineRead.of(e, event.drill) for e in rows]
    more = len(entries) > limit
    names = context.playbooks.names
    entries = [entry.told(names) for entry in entries[:limit]]
    return Page(items=entries, next=encode_cursor(entries[-1].seq) if more else None)


async def _agency_timeline(
    session: AsyncSession,
    actor: Actor,
    event: Event,
    query: Select[TimelineEntry],
    limit: int,
    after: Mapping[str, str | None],
) -> list[TimelineRead]:
    """Up to ``limit + 1`` of the entries of ``query`` that the agency sees, read a chunk at a
    time: the entries it does not see are skipped, so a page of it may span many more rows."""
    agency = actor.agency or ""
    owned = (
        await session.execute(
            select(Action.id, Action.key, Action.run).where(
                Action.event_id == event.id, Action.agency == agency
            )
        )
    ).all()
    action_ids = {str(action_id) for action_id, _key, _run in owned}
    keys = {key for _action_id, key, _run in owned}
    runs = {(key, run) for _action_id, key, run in owned}
    received = await received_reports(session, event.id, agency, runs, after)
    return await seen_by_agency(
        session,
        event,
        query,
        lambda entry: as_agency_sees(entry, agency, action_ids, keys, received),
        wanted=limit + 1,
        chunk=max(limit + 1, TIMELINE_CHUNK),
        newest_first=False,
    )


async def seen_by_agency(
    session: AsyncSession,
    event: Event,
    query: Select[TimelineEntry],
    sees: Callable[[TimelineRead], TimelineRead | None],
    *,
    wanted: int,
    chunk: int,
    newest_first: bool,
) -> list[TimelineRead]:
    """At least ``wanted`` of the entries of ``query`` an agency sees (``sees``: the entry as it
    sees it, or None), in the timeline's order or newest first, or all there are: read ``chunk``
    rows at a time, since the entries it does not see are skipped and a page of it may span many
    more rows (the API's pages and the board's newest both read this way)."""
    seq = TimelineEntry.event_seq
    query = query.where(TimelineEntry.kind.in_(sorted(AGENCY_KINDS))).order_by(
        seq.desc() if newest_first else seq
    )
    seen: list[TimelineRead] = []
    rest = query
    while len(seen) < wanted:
        rows = list(await session.scalars(rest.limit(chunk)))
        for row in rows:
            if (shown := sees(TimelineRead.of(row, event.drill))) is not None:
                seen.append(shown)
        if len(rows) < chunk:
            break
        last = rows[-1].event_seq
        rest = query.where(seq < last if newest_first else seq > last)
    return seen


async def received_reports(
    session: AsyncSession,
    event_id: uuid.UUID,
    agency: str,
    held_by: Collection[tuple[str, int]],
    after: Mapping[str, str | None],
) -> set[str]:
    """The ids of the plan 4 report links whose report ``agency`` (holding ``held_by`` on the
    event: its actions' keys, each with its run of the chain) received, within each run
    (service.plan.addressees.reports_received); no read unless one of its actions follows a
    link."""
    if not any(after.get(key) for key, _run in held_by):
        return set()
    links = sorted({before for before in after.values() if before})
    rows = await session.execute(
        select(Action.id, Action.key, Action.agency, Action.state, Action.run).where(
            Action.event_id == event_id, Action.key.in_(links)
        )
    )
    held: dict[int, dict[str, dict[str, str]]] = {}
    ids: dict[tuple[int, str, str], str] = {}
    for action_id, key, holder, state, run in rows:
        held.setdefault(run, {}).setdefault(key, {})[holder] = state
        ids[(run, key, holder)] = str(action_id)
    return {
        ids[(run, link, holder)]
        for key, run in held_by
        for link, holder in reports_received(key, agency, after, held.get(run, {}))
        if (run, link, holder) in ids
    }
