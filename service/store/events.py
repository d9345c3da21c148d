"""Finding, opening and locking events: what several flows share.

Every write takes its locks in one order, so that two writers never wait on each other in a
circle (a deadlock):

1. the grids, when it finds or opens an event by them (``lock_grids``: transaction-level
   advisory locks, ascending by code);
2. the event row (``lock_event``: ``FOR NO KEY UPDATE``, which leaves the key-share locks that
   inserting the event's children takes free);
3. what hangs off the event: its actions, warnings, releases, requisitions and attestations
   (``lock_child``), then the agencies' poll counters (ascending by code, service.store.feeds),
   then the new rows.

On SQLite a write transaction begins ``IMMEDIATE`` and holds the database's one writer lock, so
the order holds trivially there.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from functools import cache
from typing import Any, Final, TypeVar

from sqlalchemy import (
    ARRAY,
    BindParameter,
    ColumnElement,
    Select,
    String,
    bindparam,
    exists,
    func,
    literal,
    or_,
    select,
    text,
    type_coerce,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession

from models import Action, Attestation, Base, EarlyWarning, Event, EventGrid, Release, Requisition
from service.errors import Conflict, InvalidInput, NotFound, Said
from service.plan.actor import Actor
from service.plan.lifecycle import OPEN_EVENT_STATES
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
        raise NotFound(Said("事件 {id} 不存在", id=event_id))
    return event


# The first key of the grids' advisory locks: this service's, beside any other application's.
GRID_LOCKS: Final = 0x6F63


async def lock_grids(session: AsyncSession, regions: Iterable[str]) -> None:
    """Lock the grids ``regions`` for this transaction, ascending (step 1 of the lock order).

    Held by whoever finds or opens an event by its grids, so that concurrent first reports for
    one grid open exactly one event (design § One outage, one event). PostgreSQL only: on
    SQLite the writer lock already admits one such transaction at a time.
    """
    if session.get_bind().dialect.name != "postgresql":
        return
    for region in sorted(set(regions)):
        await session.execute(
            text("SELECT pg_advisory_xact_lock(:space, :grid)"),
            {"space": GRID_LOCKS, "grid": int(region)},
        )


# The statements every write to an event begins with, built once, the id a parameter: building
# one (and its cache key) anew cost about 25 µs a statement on the hottest paths.
_EVENT_ID: BindParameter[uuid.UUID] = bindparam("event_id")
_LOCK_EVENT: Final = select(Event).where(Event.id == _EVENT_ID).with_for_update(key_share=True)
_TRY_LOCK_EVENT: Final = (
    select(Event).where(Event.id == _EVENT_ID).with_for_update(key_share=True, skip_locked=True)
)
_GRIDS_OF: Final = select(EventGrid).where(EventGrid.event_id == _EVENT_ID)


async def lock_event(session: AsyncSession, event_id: uuid.UUID, field: str | None = None) -> Event:
    """The event, locked for this transaction (step 2 of the lock order).

    ``FOR NO KEY UPDATE``: writers of the event wait for each other, while inserting rows that
    refer to the event (their foreign key takes a key-share lock) never waits on it. ``field``
    names the request field that gave the id, for the 404.
    """
    event = await session.scalar(_LOCK_EVENT, {"event_id": event_id})
    if event is None:
        raise NotFound(Said("事件 {id} 不存在", id=event_id), **({"field": field} if field else {}))
    return event


async def try_lock_event(session: AsyncSession, event_id: uuid.UUID) -> Event | None:
    """The event, locked for this transaction as ``lock_event`` locks it, or None at once when
    another transaction holds that lock (``SKIP LOCKED``) or the event is gone. For background
    work that may take another event meanwhile; on SQLite the writer lock already excludes
    everyone else, so this is ``lock_event``."""
    return await session.scalar(_TRY_LOCK_EVENT, {"event_id": event_id})


# The rows that hang off an event and are locked after it (step 3), and what a 404 calls each.
Child = TypeVar("Child", Action, EarlyWarning, Release, Requisition, Attestation)
# What is said of a child that does not exist: the sentence of each (its ``{id}`` filled in).
CHILD_MISSING: Final[Mapping[type[Base], Said]] = {
    Action: Said("任务 {id} 不存在"),
    EarlyWarning: Said("预警 {id} 不存在"),
    Release: Said("信息发布 {id} 不存在"),
    Requisition: Said("征用登记 {id} 不存在"),
    Attestation: Said("终止条件确认 {id} 不存在"),
}


async def lock_child(
    session: AsyncSession, model: type[Child], child_id: uuid.UUID, *where: ColumnElement[bool]
) -> tuple[Event, Child]:
    """A row of ``model`` (an action, a warning, a release, an attestation) and its event, both
    locked for this transaction in the one lock order: the event (step 2), then the row (step 3).

    The row's event is found first, without a lock; then the event is locked, and only then the
    row. Locking the row first would hold it while waiting for the event, against a writer that
    holds the event and wants the row: a deadlock. As every writer of the row holds its event
    first, the row read once the event is held is as the last of them left it (an action handed
    over meanwhile belongs to its new agency).

    ``where`` narrows the rows the caller may know of (an agency: its own actions). A row outside
    it does not exist for the caller: a 404 worded as for a missing row ("action … does not
    exist"), not a 403 that would confirm it exists. It is applied again under the lock, as the
    row may have moved out of it while the event was awaited.
    """
    found = await session.scalar(select(model.event_id).where(model.id == child_id, *where))
    if found is not None:
        event = await lock_event(session, found)
        child = await session.scalar(
            select(model).where(model.id == child_id, *where).with_for_update()
        )
        if child is not None:
            return event, child
    raise NotFound(Said(CHILD_MISSING[model].template, id=child_id))


async def open_event(
    session: AsyncSession,
    batch: WriteBatch,
    actor: Actor,
    now: datetime,
    *,
    event_id: uuid.UUID | None,
    regions: Iterable[str],
    drill: bool | None,
    opened_by: str,
    clause: str,
) -> Event:
    """The event a report or warning proposal naming ``regions`` belongs to, locked: the named
    one; else the open event whose reports or warnings name one of ``regions`` (one outage, one
    event); else a new one in monitoring. Grids in more than one open event are a 409 naming
    them.

    Without ``event_id`` the grids are locked first, before looking: such a report may open an
    event for them or bring one of them into the event it joins, and holding them keeps two of
    these from putting one grid into two open events. A named event is the dispatcher's choice
    and takes no grid lock. ``drill`` must match a named event's (or be None); a drill joins only
    drills, a real report only real events, and a new event is a drill only if asked.
    """
    if event_id is not None:
        named = await lock_event(session, event_id, field="event_id")
        _check_drill(named, drill)
        return named
    regions = sorted(set(regions))
    settled = await _settled_event(session, regions, bool(drill))
    if settled is not None:
        # One open event already names every grid: joining it adds none, so no grid is taken.
        event = await lock_event(session, settled)
        if event.state in OPEN_EVENT_STATES:
            return event
    await lock_grids(session, regions)
    found = await open_events_locked(session, regions, drill=bool(drill))
    if len(found) > 1:
        raise Conflict(
            Said(
                "电网 {regions} 分属 {n} 个未结束的事件；请用 event_id 指明所属事件",
                regions=", ".join(regions),
                n=len(found),
            ),
            events=[str(event.id) for event in found],
            rule="design § One outage, one event",
        )
    if found:
        return found[0]
    return _new_event(batch, actor, now, bool(drill), opened_by, clause)


async def open_events_locked(
    session: AsyncSession, regions: Sequence[str], *, drill: bool
) -> list[Event]:
    """The open events (monitoring, warning, response) of this ``drill`` kind whose reports or
    warnings name one of ``regions``, locked (step 2 of the lock order), in one statement.

    Ordered by id, so that two transactions locking the same events lock them in one order.
    """
    query = _open_events_locking(session.get_bind().dialect.name)
    return list(await session.scalars(query, _naming_params(regions, drill)))


async def _settled_event(
    session: AsyncSession, regions: Sequence[str], drill: bool
) -> uuid.UUID | None:
    """The one open event naming any of ``regions`` when it names every one of them by its
    reports, read without a lock; else None. PostgreSQL only: it spares taking the grids, and on
    SQLite taking them costs nothing (the writer lock stands for them)."""
    dialect = session.get_bind().dialect.name
    if dialect != "postgresql":
        return None
    probe = _covering(dialect)
    rows = (await session.execute(probe, _naming_params(regions, drill))).all()
    if len(rows) == 1 and rows[0][1] == len(regions):
        found: uuid.UUID = rows[0][0]
        return found
    return None


def _naming_params(regions: Sequence[str], drill: bool) -> dict[str, object]:
    return {"regions": list(regions), "region_array": list(regions), "drill": drill}


_REGIONS: BindParameter[list[str]] = bindparam("regions", expanding=True)


@cache
def _open_events_naming(dialect: str) -> Select[Event]:
    """The open events of one drill kind naming some of the bound grids, in id order: built once
    per dialect, as its warning clause alone (a JSON array operator, or SQLite's json_each)
    costs more to build than to run."""
    regions = _REGIONS
    if dialect == "postgresql":
        area: ColumnElement[Any] = type_coerce(EarlyWarning.area, JSONB)
        array = bindparam("region_array", type_=ARRAY(String))
        area_names: ColumnElement[bool] = area.has_any(array)
    else:
        codes = func.json_each(EarlyWarning.area).table_valued("value")
        area_names = exists(select(literal(1)).select_from(codes).where(codes.c.value.in_(regions)))
    # Asked of each open event (correlated), never as the list of every event, open or long
    # closed, whose grids or warnings ever named the regions: that list grows with the history.
    named_by_reports = exists().where(EventGrid.event_id == Event.id, EventGrid.region.in_(regions))
    named_by_warnings = exists().where(EarlyWarning.event_id == Event.id, area_names)
    return (
        select(Event)
        .where(
            Event.state.in_(OPEN_EVENT_STATES),
            Event.drill == bindparam("drill"),
            or_(named_by_reports, named_by_warnings),
        )
        .order_by(Event.id)
    )


@cache
def _open_events_locking(dialect: str) -> Select[Event]:
    return _open_events_naming(dialect).with_for_update(key_share=True)


@cache
def _covering(dialect: str) -> Select[uuid.UUID, int]:
    """The open events naming some of the bound grids, each with how many of them its reports
    name."""
    covered = (
        select(func.count())
        .where(EventGrid.event_id == Event.id, EventGrid.region.in_(_REGIONS))
        .scalar_subquery()
    )
    return _open_events_naming(dialect).with_only_columns(Event.id, covered)


async def grids_of(session: AsyncSession, event: Event) -> dict[str, EventGrid]:
    """The event's grids by code. Read after the event is locked, in a statement of its own: on
    PostgreSQL a locking statement's other tables come from the snapshot taken before it waited,
    which would miss grids the transaction it waited for added."""
    found = await session.scalars(_GRIDS_OF, {"event_id": event.id})
    return {grid.region: grid for grid in found}


def event_time(event: Event, now: datetime) -> datetime:
    """The time of a change to ``event``: a drill's own clock (design § Drills), which its runner
    moves on at the scenario's minutes; else ``now``, the service's clock. Read once the event
    is locked, so that the clock is the one the change is made under."""
    return event.drill_clock if event.drill_clock is not None else now


def _check_drill(event: Event, drill: bool | None) -> None:
    if drill is not None and drill != event.drill:
        raise InvalidInput(
            "drill",
            Said(
                "事件 {id} {kind}；drill 须与之一致或不填",
                id=event.id,
                kind=Said("是演练") if event.drill else Said("不是演练"),
            ),
        )


def _new_event(
    batch: WriteBatch, actor: Actor, now: datetime, drill: bool, opened_by: str, clause: str
) -> Event:
    event = Event(
        id=uuid.uuid4(),
        state="monitoring",
        drill=drill,
        # A drill's clock starts when it opens; its runner moves it on from there.
        drill_clock=now if drill else None,
        opened_at=now,
        updated_at=now,
        basis=[],
        timeline_seq=0,
    )
    batch.add_object(event)
    timeline.record(
        batch,
        event,
        "event_opened",
        actor,
        f"event opened by {opened_by}" + (" (drill)" if event.drill else ""),
        clause=clause,
        at=now,
    )
    return event


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
