"""``lock_child`` (service.store.events): a row hanging off an event and its event, locked in the
one lock order (the event, then the row), a row the caller may not know of answered as missing."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import event as sa_event
from sqlalchemy import update

from models import Action, EarlyWarning, Release
from service.errors import NotFound
from service.flows.context import AppContext
from service.store import events
from service.store.events import lock_child
from tests.helpers import MakeToken, county, event_actions, post, report


async def an_action(client: httpx.AsyncClient, make_token: MakeToken) -> tuple[str, dict[str, Any]]:
    """An event at IV with its duties dispatched, and one of them."""
    dispatcher = await make_token("dispatcher")
    event_id = (await post(client, dispatcher, report(county("330603", 151, 60.4))))["event_id"]
    return event_id, (await event_actions(client, dispatcher, event_id))[0]


@pytest.fixture
def locking_statements(context: AppContext) -> Iterator[list[str]]:
    """The tables of the statements that lock rows (``FOR …``), in the order they run."""
    seen: list[str] = []

    def note(_c: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if re.search(r"\bFOR (NO KEY )?UPDATE\b", statement):
            seen.append(re.findall(r"\bFROM\s+(\w+)", statement)[0])

    engine = context.engine.sync_engine
    sa_event.listen(engine, "before_cursor_execute", note)
    yield seen
    sa_event.remove(engine, "before_cursor_execute", note)


async def test_the_event_is_locked_before_the_row(
    client: httpx.AsyncClient,
    make_token: MakeToken,
    context: AppContext,
    locking_statements: list[str],
) -> None:
    event_id, action = await an_action(client, make_token)
    async with context.sessions() as session:
        locking_statements.clear()
        event, locked = await lock_child(session, Action, uuid.UUID(action["id"]))
        own = Action.agency == action["agency"]
        _, again = await lock_child(session, Action, uuid.UUID(action["id"]), own)

    assert (str(event.id), str(locked.id)) == (event_id, action["id"])
    assert again is locked
    if context.engine.dialect.name == "postgresql":  # SQLite has no row locks: its writer lock
        assert locking_statements == ["events", "actions"] * 2


@pytest.mark.parametrize(
    ("model", "noun"), [(Action, "任务"), (EarlyWarning, "预警"), (Release, "信息发布")]
)
async def test_a_missing_row_is_404_by_its_name(
    context: AppContext, model: type[Action | EarlyWarning | Release], noun: str
) -> None:
    missing = uuid.uuid4()
    async with context.sessions() as session:
        with pytest.raises(NotFound, match=f"^{noun} {missing} 不存在$"):
            await lock_child(session, model, missing)


async def test_a_row_outside_the_callers_reach_is_404_not_403(
    client: httpx.AsyncClient, make_token: MakeToken, context: AppContext
) -> None:
    _, action = await an_action(client, make_token)
    async with context.sessions() as session:
        with pytest.raises(NotFound, match=f"^任务 {action['id']} 不存在$"):
            await lock_child(session, Action, uuid.UUID(action["id"]), Action.agency == "other")


async def test_the_callers_reach_is_checked_again_once_the_event_is_held(
    client: httpx.AsyncClient,
    make_token: MakeToken,
    context: AppContext,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An action handed to another agency while the caller waited for the event (plan 2.2) is
    no longer the caller's when it gets the lock."""
    _, action = await an_action(client, make_token)
    action_id = uuid.UUID(action["id"])
    wait_for_event = events.lock_event

    async def handed_over_meanwhile(session: Any, event_id: uuid.UUID) -> Any:
        moved = update(Action).where(Action.id == action_id).values(agency="hq-city")
        await session.execute(moved)
        return await wait_for_event(session, event_id)

    monkeypatch.setattr(events, "lock_event", handed_over_meanwhile)
    async with context.sessions() as session:
        with pytest.raises(NotFound, match=f"^任务 {action_id} 不存在$"):
            await lock_child(session, Action, action_id, Action.agency == action["agency"])
        await session.rollback()
