"""Each event's part of the board kept per version of the event (service.api.board.parts,
``EventParts``), on SQLite and PostgreSQL: bounded, a changed event drawn anew and an unchanged
one placed as drawn, the page the same bytes as a board drawn from nothing, and no viewer handed
the part drawn for a scope of viewers that sees more than it may."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta

import httpx

from models.base import utcnow
from service.api.board.parts import DrawnEvent, DrawnPages, EventParts
from service.api.board.render import BoardPages
from service.flows.context import AppContext
from service.flows.events.board import Board, EventVersion, OnBoard, board_version, read_board
from service.flows.events.board_events import BoardEvent
from service.flows.standing.listing import StandingPanel
from service.flows.standing.schemas import StandingTaskRead
from service.plan.actor import Actor
from service.playbooks.bundle import Playbooks
from tests.helpers import (
    PLAYBOOKS_DIR,
    MakeToken,
    bearer_token_of,
    board_sign_in,
    county,
    event_actions,
    post,
    report,
)

PLAYBOOKS = Playbooks.load(PLAYBOOKS_DIR)
OBSERVER = Actor(id=uuid.uuid4(), name="值班观察员", role="observer")
POLICE = Actor(id=uuid.uuid4(), name="指挥中心", role="agency", agency="public-security")


def _version(n: int, scope: str = "all") -> EventVersion:
    return EventVersion(scope, uuid.UUID(int=n), seq=1, overdue=0)


def _part(text: str) -> DrawnEvent:
    return DrawnEvent(text.encode(), text.encode())


def test_the_parts_kept_are_bounded_the_least_lately_used_dropped() -> None:
    parts = EventParts(limit=2)
    first, second, third = _version(1), _version(2), _version(3)
    parts.keep(first, _part("1"))
    parts.keep(second, _part("2"))
    assert parts.get(first) == _part("1")  # used: the second is now the least lately used
    parts.keep(third, _part("3"))
    assert len(parts) == 2 and list(parts) == [first, third]
    assert parts.get(second) is None
    # another scope's version of the same event is another part
    assert parts.get(_version(1, "agency:public-security")) is None


def test_the_pages_kept_are_bounded_by_count_and_by_bytes_the_newest_always_kept() -> None:
    pages = DrawnPages(limit=3, most_bytes=10)
    pages.keep("a", b"1234")
    pages.keep("b", b"1234")
    assert list(pages) == ["a", "b"] and pages.size == 8
    pages.keep("c", b"1234")  # 12 bytes: the oldest goes
    assert list(pages) == ["b", "c"] and pages.size == 8
    pages.keep("c", b"12")  # the same version kept again counts once
    assert list(pages) == ["b", "c"] and pages.size == 6
    pages.keep("d", b"1")
    pages.keep("e", b"1")  # four pages: past the count
    assert list(pages) == ["c", "d", "e"] and pages.size == 4
    pages.keep("huge", b"x" * 50)  # larger than the bound alone: kept, the rest dropped
    assert list(pages) == ["huge"] and pages.get("huge") == b"x" * 50 and pages.get("c") is None


def test_a_part_goes_where_the_layout_marks_it_and_nowhere_else() -> None:
    """The page is the layout's bytes with each part where the layout marks it: text drawn in
    the layout that reads like a mark (a standing task's title) is escaped, never replaced."""
    at = datetime(2026, 7, 20, 6, 0, tzinfo=UTC)
    task = StandingTaskRead(
        id=uuid.uuid4(),
        key="drill.yearly",
        agency="power-company",
        period="2026",
        recurrence="yearly",
        clause="8.1",
        title="<!--part 0-->",
        detail="",
        state="pending",
        raised_at=at,
        due_at=at + timedelta(days=30),
        playbook_version="1",
        acknowledged_at=None,
        completed_at=None,
        cancelled_at=None,
        cancel_reason=None,
        escalated_at=None,
        note=None,
        event_id=None,
        finding_id=None,
        from_drill=False,
        source_task_id=None,
    )
    card = DrawnEvent("<article>停电</article>".encode(), b"<a>row</a>")
    board = Board([OnBoard(_version(1), card)], [], at, standing=StandingPanel([task], at))
    page = BoardPages(PLAYBOOKS).events(uuid.uuid4().hex, board).decode()
    assert page.count("<article>停电</article>") == 1
    assert "&lt;!--part 0--&gt;" in page and "<!--part" not in page


async def _drawn(
    pages: BoardPages, context: AppContext, actor: Actor, now: datetime
) -> tuple[str, Board[DrawnEvent]]:
    async with context.read_engine.connect() as connection:
        version = await board_version(connection, actor, now)
    async with context.read_sessions() as session:
        board = await read_board(session, actor, version, pages.drawn_part, context.playbooks, now)
    return pages.events(uuid.uuid4().hex, board).decode(), board


def _fresh(board: Board[DrawnEvent]) -> set[uuid.UUID]:
    return {e.version.event_id for e in board.live if isinstance(e.shown, BoardEvent)}


async def test_a_changed_event_is_drawn_anew_and_the_page_is_as_if_drawn_from_nothing(
    client: httpx.AsyncClient, make_token: MakeToken, context: AppContext
) -> None:
    dispatcher = await make_token("dispatcher")
    keqiao = (await post(client, dispatcher, report(county("330603", 151, 64))))["event_id"]
    shangyu = (await post(client, dispatcher, report(county("330604", 200, 90))))["event_id"]
    pages = BoardPages(context.playbooks)
    _page, before = await _drawn(pages, context, OBSERVER, utcnow())
    assert {str(i) for i in _fresh(before)} == {keqiao, shangyu}
    kept = {str(e.version.event_id): e.version for e in before.live}
    unchanged = pages.parts.get(kept[shangyu])

    await post(client, dispatcher, report(county("330603", 151, 30), minutes=30))
    now = utcnow()
    page, after = await _drawn(pages, context, OBSERVER, now)
    assert {str(i) for i in _fresh(after)} == {keqiao}
    assert pages.parts.get(kept[shangyu]) is unchanged  # placed as drawn, not drawn again
    assert unchanged is not None and unchanged.card.decode() in page
    # byte for byte the page a worker that never drew this board draws of it
    from_nothing, _board = await _drawn(BoardPages(context.playbooks), context, OBSERVER, now)
    assert page == from_nothing


async def test_an_agency_is_never_handed_a_part_drawn_for_every_agency(
    client: httpx.AsyncClient, make_token: MakeToken, context: AppContext
) -> None:
    dispatcher = await make_token("dispatcher")
    keqiao = (await post(client, dispatcher, report(county("330603", 151, 64))))["event_id"]
    pages = BoardPages(context.playbooks)
    now = utcnow()
    whole, _board = await _drawn(pages, context, OBSERVER, now)
    police, board = await _drawn(pages, context, POLICE, now)
    assert _fresh(board) == {uuid.UUID(keqiao)}
    assert set(re.findall(r'data-agency="([^"]+)"', police)) == {"public-security"}
    assert len(set(re.findall(r'data-agency="([^"]+)"', whole))) > 1
    alone, _board = await _drawn(BoardPages(context.playbooks), context, POLICE, now)
    assert police == alone


async def test_viewers_polling_in_turn_each_see_their_own_board(
    client: httpx.AsyncClient, make_token: MakeToken
) -> None:
    """Through the app's own renderer: an observer's poll draws every agency's actions; the
    agency's poll after it, of the same event at the same version, shows its own alone; and a
    report after both draws the event anew for each."""
    dispatcher = await make_token("dispatcher")
    police = await make_token("agency", agency="public-security")
    observer = await make_token("observer")
    event_id = (await post(client, dispatcher, report(county("330603", 151, 64))))["event_id"]
    held = await event_actions(client, police, event_id)
    own = {a["id"] for a in held if a["state"] == "pending"}
    every = {a["id"] for a in await event_actions(client, observer, event_id)}
    for turn in range(2):
        await board_sign_in(client, bearer_token_of(observer))
        seen = (await client.get("/board/updates")).text
        assert set(re.findall(r'data-action="([^"]+)"', seen)) > own
        await board_sign_in(client, bearer_token_of(police))
        theirs = (await client.get("/board/updates")).text
        assert set(re.findall(r'data-action="([^"]+)"', theirs)) == own
        assert set(re.findall(r'data-action="([^"]+)"', theirs)) < every
        if turn == 0:
            await post(client, dispatcher, report(county("330603", 151, 30), minutes=30))
