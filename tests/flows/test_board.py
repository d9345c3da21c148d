"""The board's flow (service.flows.events.board.current_board) against a renderer that counts:
the board is read and drawn once per version, and a poll at a version already drawn asks only
for the version."""

from __future__ import annotations

import uuid

import httpx

from service.flows.context import AppContext
from service.flows.events.board import Board, current_board
from service.plan.actor import Actor
from tests.helpers import MakeToken, county, post, report

OBSERVER = Actor(id=uuid.uuid4(), name="值班观察员", role="observer")


class CountingRenderer:
    """Keeps what it drew by version, as service.api.board.render.BoardPages does."""

    def __init__(self) -> None:
        self.drawn: dict[str, Board] = {}
        self.draws = 0

    def cached_events(self, tag: str) -> Board | None:
        return self.drawn.get(tag)

    def events(self, tag: str, board: Board) -> Board:
        self.draws += 1
        self.drawn[tag] = board
        return board


async def test_the_board_is_read_once_per_version(
    client: httpx.AsyncClient, make_token: MakeToken, context: AppContext
) -> None:
    renderer = CountingRenderer()
    empty_tag, empty = await current_board(context, OBSERVER, renderer)
    assert (empty.events, empty.drills, renderer.draws) == ([], [], 1)
    assert await current_board(context, OBSERVER, renderer) == (empty_tag, empty)
    assert renderer.draws == 1

    dispatcher = await make_token("dispatcher")
    opened = await post(client, dispatcher, report(county("330603", 151, 64)))
    tag, shown = await current_board(context, OBSERVER, renderer)
    assert tag != empty_tag and renderer.draws == 2
    assert [str(e.event.id) for e in shown.events] == [opened["event_id"]]
    assert (await current_board(context, OBSERVER, renderer))[0] == tag
    assert renderer.draws == 2
