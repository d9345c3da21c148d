"""The command centre's situation board (design § Board): what it shows,
read as the API reads it, and the version that tells a polling board whether anything changed.

The board shows the events not yet closed, each with its actions by agency, its latest timeline
entries, its published warnings and its course (``board_course``: load lost and customers out
now, the levels it was set to, its restoration curve). An event whose response has ended is
shown apart, under 最近结束: a terminated one while its plan 6 work is under way, a closed one
for ``RECENTLY_ENDED`` after it closed, so that a wall display does not lose it the moment
someone closes it.
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

Below the events, the 常备任务 panel shows the open standing tasks of plan 7 and 8.1 the viewer
reads (service.flows.standing.listing): they belong to no event, so the version counts them
apart (their number, their latest change, how many are past due).
"""

from __future__ import annotations

import hashlib
import uuid
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Final, Protocol, TypeVar

from sqlalchemy import ColumnElement, Select, and_, bindparam, func, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from models import Action, EarlyWarning, Event, EventGrid
from models.base import utcnow
from service.flows.actions.schemas import ActionRead, past_due, read, with_drill
from service.flows.context import AppContext
from service.flows.events.board_course import (
    NO_LOSS,
    GridNow,
    Loss,
    level_history,
    loss_now,
    restoration_curves,
)
from service.flows.events.board_timeline import latest_timeline
from service.flows.events.read import event_read
from service.flows.events.schemas import EventRead, TimelineRead
from service.flows.standing.listing import StandingPanel, board_panel, board_version_part
from service.flows.warnings.schemas import WarningRead
from service.plan.actor import Actor
from service.plan.deadlines import is_overdue as overdue_at
from service.plan.deadlines import owes
from service.plan.duties import OPEN_STATES
from service.plan.evaluation import CurvePoint, LevelSet, evaluates
from service.plan.grids import GridRegistry
from service.plan.levels import level_rank, max_level
from service.plan.lifecycle import STATES
from service.store.events import visible_events
from service.words.timeline import Names

# On the board until closed: a terminated event's post-event work (plan 6) is still followed.
BOARD_STATES: Final = tuple(state for state in STATES if state != "closed")
# Ended: shown under 最近结束; a closed event for RECENTLY_ENDED after it closed.
ENDED_STATES: Final = ("terminated", "closed")
RECENTLY_ENDED: Final = timedelta(days=1)


@dataclass(frozen=True)
class AgencyActions:
    """One agency's actions on one event: the open ones, soonest due first, and the others
    counted."""

    agency: str
    open: list[ActionRead]
    done: int
    cancelled: int

    def overdue(self, now: datetime) -> int:
        return sum(1 for action in self.open if is_overdue(action, now))


@dataclass(frozen=True)
class BoardEvent:
    event: EventRead
    agencies: list[AgencyActions]
    timeline: list[TimelineRead]  # newest first
    warnings: list[WarningRead]  # published, oldest first
    loss: Loss = NO_LOSS
    levels: list[LevelSet] = field(default_factory=list)  # oldest first
    curve: list[CurvePoint] = field(default_factory=list)  # in the order observed
    # Whether the viewer reads the event's evaluation report: every role but an agency, and the
    # agency that evaluates or investigates it (plan 6.1, 6.2).
    evaluation: bool = True

    def duties(self, now: datetime) -> list[ActionRead]:
        """Every open action of the event: the overdue first, then the soonest due."""
        found = [action for group in self.agencies for action in group.open]
        return sorted(found, key=lambda a: (not is_overdue(a, now), a.due_at, a.key))

    def overdue(self, now: datetime) -> int:
        return sum(group.overdue(now) for group in self.agencies)

    @property
    def published_by(self) -> str | None:
        """The HQ that published the event's latest warning (plan 3.2.2.1), if any."""
        return next((w.published_by for w in reversed(self.warnings) if w.published_by), None)


@dataclass(frozen=True)
class Board:
    events: list[BoardEvent]  # real events, the highest level first
    drills: list[BoardEvent]  # shown apart, under their banner
    at: datetime
    ended: list[BoardEvent] = field(default_factory=list)  # 最近结束, the latest ended first
    # Seen by an agency: its own actions only (design § Visibility). It is the board's scope:
    # one render serves every viewer of it.
    agency_view: bool = False
    # 常备任务: the open standing tasks the viewer reads; None for one who reads none.
    standing: StandingPanel | None = None

    @property
    def live(self) -> list[BoardEvent]:
        return [*self.events, *self.drills]


Shown = TypeVar("Shown", covariant=True)


class BoardRenderer(Protocol[Shown]):
    """What draws the board (``service.api.board.render.BoardPages``): the events' part for a
    version, and the one it drew for a version lately, if it still holds it."""

    def cached_events(self, tag: str) -> Shown | None: ...

    def events(self, tag: str, board: Board) -> Shown: ...


async def current_board(
    context: AppContext, actor: Actor, renderer: BoardRenderer[Shown]
) -> tuple[str, Shown]:
    """The board's version for ``actor`` now, and its events drawn by ``renderer``: asked on a
    bare connection (two statements), and read and drawn only when the renderer holds no drawing
    of that version."""
    now = utcnow()
    async with context.read_engine.connect() as connection:
        tag = await board_version(connection, actor, now)
    cached = renderer.cached_events(tag)
    if cached is not None:
        return tag, cached
    # Read after the version: a change in between is shown under the older version, which
    # costs the next poll one more answer; never an older board under a newer version.
    async with context.read_sessions() as session:
        playbooks = context.playbooks
        found = await read_board(
            session, actor, playbooks.grids, playbooks.checklists.after, now, playbooks.names
        )
    return tag, renderer.events(tag, found)


def is_overdue(action: ActionRead, now: datetime) -> bool:
    """Past its due time and still owing what that time asks for (not yet acknowledged, or not
    yet done when due on completion): ``service.plan.deadlines.is_overdue``, as the escalation
    job judges it."""
    return overdue_at(action.state, action.due_on, action.due_at, now)


def still_owed(action: ActionRead) -> bool:
    """Its due time still runs: it has not yet given what that time asks for (an open action
    due on its acknowledgement and taken up has; its time left means nothing any more)."""
    return owes(action.state, action.due_on)


def _scope(actor: Actor) -> str:
    """Who sees the same board: every role but an agency sees everything."""
    return f"agency:{actor.agency}" if actor.role == "agency" else "all"


async def board_version(reader: AsyncConnection | AsyncSession, actor: Actor, now: datetime) -> str:
    """The board's validator for ``actor`` at ``now`` (see the module's docstring): one
    statement over the events on the board, and one over the standing tasks."""
    since = now - RECENTLY_ENDED
    rows = (await reader.execute(_version_statement(actor), {"now": now, "since": since})).all()
    seed = _scope(actor) + "".join(f"|{row[0]}:{row[1]}:{row[2]}" for row in rows)
    seed += await board_version_part(reader, actor, now)
    return hashlib.sha256(seed.encode()).hexdigest()[:32]


# The version's statement per scope, built once: it is asked on every poll, and building it
# costs about as much as running it. The scopes are "all" and the playbook's agencies.
_VERSION_STATEMENTS: dict[str, Select[uuid.UUID, int, int]] = {}


def _version_statement(actor: Actor) -> Select[uuid.UUID, int, int]:
    scope = _scope(actor)
    statement = _VERSION_STATEMENTS.get(scope)
    if statement is None:
        overdue = (
            select(func.count())
            .where(
                Action.event_id == Event.id,
                past_due(bindparam("now")),
                *([Action.agency == actor.agency] if actor.role == "agency" else []),
            )
            .scalar_subquery()
        )
        statement = _VERSION_STATEMENTS[scope] = (
            visible_events(actor)
            .where(on_board(bindparam("since")))
            .with_only_columns(Event.id, Event.timeline_seq, overdue)
            .order_by(Event.id)
        )
    return statement


def on_board(since: ColumnElement[datetime] | datetime) -> ColumnElement[bool]:
    """The events the board shows: not closed, or closed ``since`` (the start of 最近结束)."""
    return or_(
        Event.state.in_(BOARD_STATES), and_(Event.state == "closed", Event.closed_at >= since)
    )


async def read_board(
    session: AsyncSession,
    actor: Actor,
    grids: GridRegistry,
    after: Mapping[str, str | None],
    now: datetime,
    names: Names,
) -> Board:
    """Everything the board shows ``actor`` (``after``: the checklists' links, for the reports
    an agency received): a handful of statements, plus one or two per event for its timeline,
    all in one snapshot of the database (on PostgreSQL a repeatable read: the board is rendered
    once per version and shown to every viewer, so it must not mix two)."""
    if session.get_bind().dialect.name == "postgresql":
        await session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
    events = list(
        await session.scalars(
            visible_events(actor).where(on_board(now - RECENTLY_ENDED)).order_by(Event.opened_at)
        )
    )
    ids = [event.id for event in events]
    grid_rows: dict[uuid.UUID, list[EventGrid]] = defaultdict(list)
    actions: dict[uuid.UUID, list[ActionRead]] = defaultdict(list)
    warnings: dict[uuid.UUID, list[WarningRead]] = defaultdict(list)
    if ids:
        for grid in await session.scalars(select(EventGrid).where(EventGrid.event_id.in_(ids))):
            grid_rows[grid.event_id].append(grid)
        action_query = with_drill().where(Action.event_id.in_(ids))
        if actor.role == "agency":
            action_query = action_query.where(Action.agency == actor.agency)
        rows = await session.execute(action_query.order_by(Action.due_at, Action.key))
        for action, drill in rows:
            actions[action.event_id].append(read(action, drill))
        published = (
            select(EarlyWarning)
            .where(EarlyWarning.event_id.in_(ids), EarlyWarning.state == "published")
            .order_by(EarlyWarning.published_at)
        )
        for warning in await session.scalars(published):
            warnings[warning.event_id].append(WarningRead.of(warning))
    curves = await restoration_curves(session, ids)
    shown = [
        BoardEvent(
            event=event_read(event, grid_rows[event.id], grids),
            agencies=by_agency(actions[event.id]),
            timeline=[
                entry.told(names)
                for entry in await latest_timeline(session, actor, event, actions[event.id], after)
            ],
            warnings=warnings[event.id],
            loss=loss_now(
                GridNow(g.region, g.scope, g.load_lost_mw, g.customers_out)
                for g in grid_rows[event.id]
            ),
            levels=await level_history(session, event.id),
            curve=curves.get(event.id, []),
            evaluation=actor.role != "agency"
            or evaluates((action.clause, action.state) for action in actions[event.id]),
        )
        for event in events
    ]
    shown.sort(key=_precedence)
    live = [e for e in shown if e.event.state not in ENDED_STATES]
    ended = sorted((e for e in shown if e.event.state in ENDED_STATES), key=_latest_ended_first)
    return Board(
        events=[e for e in live if not e.event.drill],
        drills=[e for e in live if e.event.drill],
        at=now,
        ended=ended,
        agency_view=actor.role == "agency",
        standing=await board_panel(session, actor, now),
    )


def _latest_ended_first(shown: BoardEvent) -> tuple[bool, float]:
    """A terminated event (its plan 6 work open) before the closed; the last to close first."""
    closed = shown.event.closed_at
    return (closed is not None, -(closed or shown.event.updated_at).timestamp())


def _precedence(shown: BoardEvent) -> tuple[int, int, datetime]:
    """Responses first, the highest level first, then the oldest."""
    event = shown.event
    rank = level_rank(max_level(event.response_level, event.level))
    return (event.state != "response", -rank, event.opened_at)


def by_agency(actions: list[ActionRead]) -> list[AgencyActions]:
    """The actions grouped by agency: agencies with open actions first, the one whose next
    action is due soonest first; then the rest by code."""
    grouped: dict[str, list[ActionRead]] = defaultdict(list)
    for action in actions:
        grouped[action.agency].append(action)
    found = [
        AgencyActions(
            agency=agency,
            open=sorted(
                (a for a in held if a.state in OPEN_STATES), key=lambda a: (a.due_at, a.key)
            ),
            done=sum(1 for a in held if a.state == "done"),
            cancelled=sum(1 for a in held if a.state == "cancelled"),
        )
        for agency, held in grouped.items()
    ]
    return sorted(found, key=_soonest_first)


def _soonest_first(group: AgencyActions) -> tuple[int, float, str]:
    if group.open:
        return (0, group.open[0].due_at.timestamp(), group.agency)
    return (1, 0.0, group.agency)
