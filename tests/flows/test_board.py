"""The board's flow (service.flows.events.board.current_board) against a renderer that keeps
what it drew and counts what it was handed: the board is read and drawn once per version, a poll
at a version already drawn asks only for the version, and a change reads its own event alone,
each scope of viewers apart."""

from __future__ import annotations

import uuid
from datetime import timedelta

import httpx
from sqlalchemy import update

from models import Action
from models.base import utcnow
from service.flows.context import AppContext
from service.flows.events.board import (
    Board,
    EventVersion,
    board_version,
    current_board,
    read_board,
)
from service.flows.events.board_events import BoardEvent
from service.flows.events.schemas import EventRead
from service.plan.actor import Actor
from tests.helpers import MakeToken, county, event_actions, post, report

OBSERVER = Actor(id=uuid.uuid4(), name="值班观察员", role="observer")
POLICE = Actor(id=uuid.uuid4(), name="指挥中心", role="agency", agency="public-security")


class KeepingRenderer:
    """Keeps what it drew, as service.api.board.render.BoardPages does: the board by version,
    and each event's part by the event's version (here the part is the event as it was read)."""

    def __init__(self) -> None:
        self.drawn: dict[str, Board[EventRead]] = {}
        self.parts: dict[EventVersion, EventRead] = {}
        self.draws = 0
        self.read: list[uuid.UUID] = []  # the events handed read anew, in the order drawn

    def cached_events(self, tag: str) -> Board[EventRead] | None:
        return self.drawn.get(tag)

    def drawn_part(self, version: EventVersion) -> EventRead | None:
        return self.parts.get(version)

    def events(self, tag: str, board: Board[EventRead]) -> Board[EventRead]:
        self.draws += 1
        for entry in (*board.live, *board.ended):
            if isinstance(entry.shown, BoardEvent):
                self.read.append(entry.version.event_id)
                self.parts[entry.version] = entry.shown.event
        self.drawn[tag] = board
        return board


async def test_the_board_is_read_once_per_version(
    client: httpx.AsyncClient, make_token: MakeToken, context: AppContext
) -> None:
    renderer = KeepingRenderer()
    empty_tag, empty = await current_board(context, OBSERVER, renderer)
    assert (empty.events, empty.drills, renderer.draws) == ([], [], 1)
    assert await current_board(context, OBSERVER, renderer) == (empty_tag, empty)
    assert renderer.draws == 1

    dispatcher = await make_token("dispatcher")
    opened = await post(client, dispatcher, report(county("330603", 151, 64)))
    tag, shown = await current_board(context, OBSERVER, renderer)
    assert tag != empty_tag and renderer.draws == 2
    assert [str(e.version.event_id) for e in shown.events] == [opened["event_id"]]
    assert (await current_board(context, OBSERVER, renderer))[0] == tag
    assert renderer.draws == 2


async def two_events(
    client: httpx.AsyncClient, make_token: MakeToken
) -> tuple[dict[str, str], str, str]:
    """A dispatcher's headers, and two events at level IV it reported: 柯桥区's and 上虞区's."""
    dispatcher = await make_token("dispatcher")
    keqiao = (await post(client, dispatcher, report(county("330603", 151, 64))))["event_id"]
    shangyu = (await post(client, dispatcher, report(county("330604", 200, 90))))["event_id"]
    return dispatcher, keqiao, shangyu


async def test_a_report_reads_its_own_event_alone(
    client: httpx.AsyncClient, make_token: MakeToken, context: AppContext
) -> None:
    dispatcher, keqiao, shangyu = await two_events(client, make_token)
    renderer = KeepingRenderer()
    _tag, before = await current_board(context, OBSERVER, renderer)
    assert sorted(map(str, renderer.read)) == sorted([keqiao, shangyu])
    held = {str(e.version.event_id): e for e in before.events}

    restored = report(county("330603", 151, 30), minutes=30)
    await post(client, dispatcher, restored)
    renderer.read.clear()
    _tag, after = await current_board(context, OBSERVER, renderer)
    assert [str(event_id) for event_id in renderer.read] == [keqiao]
    now = {str(e.version.event_id): e for e in after.events}
    assert now[keqiao].version.seq > held[keqiao].version.seq
    assert isinstance(now[keqiao].shown, BoardEvent)
    # the other event's part is the one drawn before, not read again
    assert now[shangyu].version == held[shangyu].version
    assert now[shangyu].shown is renderer.parts[held[shangyu].version]


async def test_an_action_running_past_due_reads_its_event_anew(
    client: httpx.AsyncClient, make_token: MakeToken, context: AppContext
) -> None:
    dispatcher, keqiao, shangyu = await two_events(client, make_token)
    renderer = KeepingRenderer()
    await current_board(context, OBSERVER, renderer)
    late = (await event_actions(client, dispatcher, shangyu))[0]
    async with context.sessions() as session:
        past = utcnow() - timedelta(minutes=5)
        await session.execute(
            update(Action).where(Action.id == uuid.UUID(late["id"])).values(due_at=past)
        )
        await session.commit()
    renderer.read.clear()
    _tag, after = await current_board(context, OBSERVER, renderer)
    assert [str(event_id) for event_id in renderer.read] == [shangyu]
    versions = {str(e.version.event_id): e.version for e in after.events}
    assert (versions[shangyu].overdue, versions[keqiao].overdue) == (1, 0)


async def test_each_scope_of_viewers_reads_its_own_parts(
    client: httpx.AsyncClient, make_token: MakeToken, context: AppContext
) -> None:
    dispatcher = await make_token("dispatcher")
    keqiao = (await post(client, dispatcher, report(county("330603", 151, 64))))["event_id"]
    renderer = KeepingRenderer()
    await current_board(context, OBSERVER, renderer)
    renderer.read.clear()
    _tag, police = await current_board(context, POLICE, renderer)
    # none of the observer's parts serves the agency: its event is read anew, for its scope
    assert [str(event_id) for event_id in renderer.read] == [keqiao]
    [entry] = police.events
    assert entry.version.scope == "agency:public-security"
    assert isinstance(entry.shown, BoardEvent)
    assert {group.agency for group in entry.shown.agencies} == {"public-security"}
    observer_versions = [v for v in renderer.parts if v.scope == "all"]
    assert [v.event_id for v in observer_versions] == [entry.version.event_id]
    assert observer_versions[0] != entry.version


async def test_a_change_after_the_version_is_drawn_under_its_own_version(
    client: httpx.AsyncClient, make_token: MakeToken, context: AppContext
) -> None:
    """The board is read after its version: an event that changed in between is read as it now
    stands, and its part keyed by the version it was read at, never by the older one."""
    dispatcher = await make_token("dispatcher")
    keqiao = (await post(client, dispatcher, report(county("330603", 151, 64))))["event_id"]
    renderer = KeepingRenderer()
    await current_board(context, OBSERVER, renderer)
    now = utcnow()
    async with context.read_engine.connect() as connection:
        version = await board_version(connection, OBSERVER, now)
    await post(client, dispatcher, report(county("330603", 151, 30), minutes=30))
    async with context.read_sessions() as session:
        board = await read_board(
            session, OBSERVER, version, renderer.drawn_part, context.playbooks, now
        )
    [entry] = board.events
    older = version.events[uuid.UUID(keqiao)]
    assert renderer.drawn_part(older) is not None  # held, yet not placed: the event moved on
    assert isinstance(entry.shown, BoardEvent)
    assert entry.version.seq > older.seq
    assert entry.shown.loss.load_lost_mw == 30
