"""The command centre's situation board (design § Board): what it shows,
read as the API reads it, and the version that tells a polling board whether anything changed.

The board shows the events not yet closed, each with what ``board_events`` reads of it. An event
whose response has ended is shown apart, under 最近结束: a terminated one while its plan 6 work
is under way, a closed one for ``RECENTLY_ENDED`` after it closed, so that a wall display does
not lose it the moment someone closes it.
What a caller sees is what the API shows it: ``visible_events`` (an agency: the events it has
actions in), its own actions only, and the timeline as ``service.flows.events.agency_view`` cuts it.

``version`` is the board's validator. Every change to an event, its actions, its warnings or
its figures writes a timeline entry, which moves ``events.timeline_seq`` under the event's lock
(``service.store.timeline.record``); a new event brings a new row. So the rows (id, timeline
seq) of the events on the board name the stored state the board shows, whichever worker wrote
it. The one thing that changes with no write is an action running past its due time: the count
of open actions past due, per event, is in the version too, so the mark appears at the next
poll rather than when the escalation job gets to it; and a closed event leaving 最近结束 leaves
the version's rows, which moves it.

The same row names one event's part of the board for one scope (``EventVersion``): a new board
is drawn from the parts the renderer holds for the events that did not change, and reads and
draws anew only the events whose version it holds no part of. A report moves its own event's
row, so the board after it reads and draws that event alone, however many are open.

Below the events, the 常备任务 panel shows the open standing tasks of plan 7 and 8.1 the viewer
reads (service.flows.standing.listing): they belong to no event, so the version counts them
apart (their number, their latest change, how many are past due).
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final, Generic, Protocol, TypeVar

from sqlalchemy import ColumnElement, Select, and_, bindparam, func, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from models import Action, Event
from models.base import utcnow
from service.flows.actions.schemas import past_due
from service.flows.context import AppContext
from service.flows.events.board_events import BoardEvent, read_events
from service.flows.standing.listing import StandingPanel, board_panel, board_version_part
from service.plan.actor import Actor
from service.plan.levels import Level, level_rank, max_level
from service.plan.lifecycle import STATES
from service.playbooks.bundle import Playbooks
from service.store.events import visible_events

# On the board until closed: a terminated event's post-event work (plan 6) is still followed.
BOARD_STATES: Final = tuple(state for state in STATES if state != "closed")
# Ended: shown under 最近结束; a closed event for RECENTLY_ENDED after it closed.
ENDED_STATES: Final = ("terminated", "closed")
RECENTLY_ENDED: Final = timedelta(days=1)

Shown = TypeVar("Shown", covariant=True)
Part = TypeVar("Part")


@dataclass(frozen=True, slots=True)
class EventVersion:
    """What one event's part of the board is drawn from, for one scope of viewers (``_scope``):
    the event's timeline seq, which every change to it, its actions, its warnings and its figures
    moves, and how many of the open actions the scope sees are past due, which moves with no
    write. Two equal versions are drawn alike; the scope keeps one viewer's part from another
    who may not see it."""

    scope: str
    event_id: uuid.UUID
    seq: int
    overdue: int


@dataclass(frozen=True)
class OnBoard(Generic[Part]):
    """One event on the board at its version: the part the renderer drew of it at that version,
    or, where it holds none, the event read anew to draw it from."""

    version: EventVersion
    shown: BoardEvent | Part


@dataclass(frozen=True)
class Board(Generic[Part]):
    events: list[OnBoard[Part]]  # real events, the highest level first
    drills: list[OnBoard[Part]]  # shown apart, under their banner
    at: datetime
    ended: list[OnBoard[Part]] = field(default_factory=list)  # 最近结束, the latest ended first
    # Seen by an agency: its own actions only (design § Visibility). It is the board's scope:
    # one render serves every viewer of it.
    agency_view: bool = False
    # 常备任务: the open standing tasks the viewer reads; None for one who reads none.
    standing: StandingPanel | None = None

    @property
    def live(self) -> list[OnBoard[Part]]:
        return [*self.events, *self.drills]


@dataclass(frozen=True)
class BoardVersion:
    """The board's validator for one viewer at one moment (``tag``), and the version of each
    event on the board it is made of."""

    tag: str
    events: Mapping[uuid.UUID, EventVersion]


class BoardRenderer(Protocol[Shown, Part]):
    """What draws the board (``service.api.board.render.BoardPages``): the events' part for a
    version, and the one it drew for a version lately, if it still holds it; and each event's
    part it drew for an event's version lately, if it still holds it."""

    def cached_events(self, tag: str) -> Shown | None: ...

    def drawn_part(self, version: EventVersion) -> Part | None: ...

    def events(self, tag: str, board: Board[Part]) -> Shown: ...


async def current_board(
    context: AppContext, actor: Actor, renderer: BoardRenderer[Shown, Part]
) -> tuple[str, Shown]:
    """The board's version for ``actor`` now, and its events drawn by ``renderer``: asked on a
    bare connection (two statements); when the renderer holds no drawing of that version, the
    board is read, the events it holds no part of in full, and drawn."""
    now = utcnow()
    async with context.read_engine.connect() as connection:
        version = await board_version(connection, actor, now)
    cached = renderer.cached_events(version.tag)
    if cached is not None:
        return version.tag, cached
    # Read after the version: a change in between is shown under the older version, which
    # costs the next poll one more answer; never an older board under a newer version.
    async with context.read_sessions() as session:
        found = await read_board(
            session, actor, version, renderer.drawn_part, context.playbooks, now
        )
    return version.tag, renderer.events(version.tag, found)


def _scope(actor: Actor) -> str:
    """Who sees the same board: every role but an agency sees everything."""
    return f"agency:{actor.agency}" if actor.role == "agency" else "all"


async def board_version(
    reader: AsyncConnection | AsyncSession, actor: Actor, now: datetime
) -> BoardVersion:
    """The board's validator for ``actor`` at ``now`` (see the module's docstring): one
    statement over the events on the board, and one over the standing tasks."""
    since = now - RECENTLY_ENDED
    rows = (await reader.execute(_version_statement(actor), {"now": now, "since": since})).all()
    scope = _scope(actor)
    seed = scope + "".join(f"|{row[0]}:{row[1]}:{row[2]}" for row in rows)
    seed += await board_version_part(reader, actor, now)
    tag = hashlib.sha256(seed.encode()).hexdigest()[:32]
    return BoardVersion(tag, {row[0]: EventVersion(scope, *row) for row in rows})


# The statements per scope, built once: the version's is asked on every poll, and building it
# costs about as much as running it. The scopes are "all" and the playbook's agencies.
_VERSION_STATEMENTS: dict[str, Select[uuid.UUID, int, int]] = {}
_PLACING_STATEMENTS: dict[str, Select[*tuple[Any, ...]]] = {}


def _version_statement(actor: Actor) -> Select[uuid.UUID, int, int]:
    scope = _scope(actor)
    statement = _VERSION_STATEMENTS.get(scope)
    if statement is None:
        statement = _VERSION_STATEMENTS[scope] = (
            _on_board_of(actor)
            .with_only_columns(Event.id, Event.timeline_seq, _overdue_count(actor))
            .order_by(Event.id)
        )
    return statement


def _placing_statement(actor: Actor) -> Select[*tuple[Any, ...]]:
    """Each event on the board with its timeline seq and what places it on the board (its
    section and its rank there), in the order opened."""
    scope = _scope(actor)
    statement = _PLACING_STATEMENTS.get(scope)
    if statement is None:
        statement = _PLACING_STATEMENTS[scope] = (
            _on_board_of(actor)
            .with_only_columns(
                Event.id,
                Event.timeline_seq,
                Event.state,
                Event.drill,
                Event.level,
                Event.response_level,
                Event.opened_at,
                Event.closed_at,
                Event.updated_at,
            )
            .order_by(Event.opened_at, Event.id)
        )
    return statement


def _on_board_of(actor: Actor) -> Select[Event]:
    return visible_events(actor).where(on_board(bindparam("since")))


def _overdue_count(actor: Actor) -> ColumnElement[int]:
    """The event's open actions past due at the bound ``now`` that ``actor``'s scope sees."""
    return (
        select(func.count())
        .where(
            Action.event_id == Event.id,
            past_due(bindparam("now")),
            *([Action.agency == actor.agency] if actor.role == "agency" else []),
        )
        .scalar_subquery()
    )


def on_board(since: ColumnElement[datetime] | datetime) -> ColumnElement[bool]:
    """The events the board shows: not closed, or closed ``since`` (the start of 最近结束)."""
    return or_(
        Event.state.in_(BOARD_STATES), and_(Event.state == "closed", Event.closed_at >= since)
    )


@dataclass(frozen=True, slots=True)
class _Placing:
    """An event on the board as its row stands: its timeline seq, and what places it (its
    section and its rank there)."""

    event_id: uuid.UUID
    seq: int
    state: str
    drill: bool
    level: Level | None
    response_level: Level | None
    opened_at: datetime
    closed_at: datetime | None
    updated_at: datetime


async def read_board(
    session: AsyncSession,
    actor: Actor,
    version: BoardVersion,
    drawn_part: Callable[[EventVersion], Part | None],
    playbooks: Playbooks,
    now: datetime,
) -> Board[Part]:
    """Everything the board shows ``actor`` at ``version``, with the part ``drawn_part`` holds
    of each event still at its version there in place of the event, and only the others read
    (``board_events``), in one snapshot of the database (on PostgreSQL a repeatable read: an
    event's part is drawn once per version and shown to every viewer of its scope, so it must
    not mix two). An event read anew is keyed by its version as read here, so that a change
    since ``version`` is drawn under its own version, never under the older one."""
    if session.get_bind().dialect.name == "postgresql":
        await session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
    rows = await session.execute(_placing_statement(actor), {"since": now - RECENTLY_ENDED})
    placed = [_Placing(*row) for row in rows.all()]
    shown: dict[uuid.UUID, OnBoard[Part]] = {}
    for place in placed:
        # The version's count past due was taken at ``now`` too: it holds while the seq does.
        known = version.events.get(place.event_id)
        if known is None or known.seq != place.seq:
            continue
        if (part := drawn_part(known)) is not None:
            shown[place.event_id] = OnBoard(known, part)
    missing = [place.event_id for place in placed if place.event_id not in shown]
    if missing:
        events = list(
            await session.scalars(
                select(Event).where(Event.id.in_(missing)).order_by(Event.opened_at, Event.id)
            )
        )
        fresh = await read_events(
            session, actor, events, playbooks.grids, playbooks.checklists.after, playbooks.names
        )
        scope = _scope(actor)
        for event in events:
            read = fresh[event.id]
            drawn_at = EventVersion(scope, event.id, event.timeline_seq, read.overdue(now))
            shown[event.id] = OnBoard(drawn_at, read)
    ordered = sorted(placed, key=_precedence)
    live = [p for p in ordered if p.state not in ENDED_STATES]
    ended = sorted((p for p in ordered if p.state in ENDED_STATES), key=_latest_ended_first)
    return Board(
        events=[shown[p.event_id] for p in live if not p.drill],
        drills=[shown[p.event_id] for p in live if p.drill],
        at=now,
        ended=[shown[p.event_id] for p in ended],
        agency_view=actor.role == "agency",
        standing=await board_panel(session, actor, now),
    )


def _latest_ended_first(placing: _Placing) -> tuple[bool, float]:
    """A terminated event (its plan 6 work open) before the closed; the last to close first."""
    closed = placing.closed_at
    return (closed is not None, -(closed or placing.updated_at).timestamp())


def _precedence(placing: _Placing) -> tuple[int, int, datetime]:
    """Responses first, the highest level first, then the oldest."""
    rank = level_rank(max_level(placing.response_level, placing.level))
    return (placing.state != "response", -rank, placing.opened_at)
