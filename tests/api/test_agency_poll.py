"""GET /agencies/{code}/actions, the agency's poll (design § Actions, § Pagination, § ETags), on
SQLite and PostgreSQL: pages newest first through a long history with each filter, a tag per
page answered 304, the tag that a change on its page moves, and the refusals naming the field."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from models import Action, Event
from models.base import utcnow
from service.flows.context import AppContext
from tests.helpers import MakeToken, county, post, problem, report

API = "/api/v1"
POWER = "power-company"
POLL = f"{API}/agencies/{POWER}/actions"
HISTORY = 260  # actions written straight into the database, beside those the reports dispatch
STATES = ("pending", "acknowledged", "done", "cancelled")


async def opened(client: httpx.AsyncClient, make_token: MakeToken, **extra: Any) -> str:
    """A level-IV event on 柯桥区 (a drill with ``drill=True``): its id."""
    dispatcher = await make_token("dispatcher")
    body = {**report(county("330603", 200, 90)), **extra}
    return str((await post(client, dispatcher, body))["event_id"])


async def long_history(context: AppContext, real: str, drill: str) -> None:
    """``HISTORY`` older actions of power-company, shared between the two events and the
    states, three at a time dispatched at the very same moment (the id settles their order)."""
    start = utcnow() - timedelta(days=30)
    async with context.sessions() as session:
        for n in range(HISTORY):
            at = start + timedelta(minutes=n // 3)
            session.add(
                Action(
                    event_id=uuid.UUID(real if n % 3 else drill),
                    key=f"history.{n}",
                    agency=POWER,
                    phase="response",
                    level="IV",
                    clause="5.2.3",
                    title=f"历史任务 {n}",
                    detail="测试用的历史任务。",
                    state=STATES[n % len(STATES)],
                    playbook_version="0123456789abcdef",
                    dispatched_at=at,
                    due_at=at + timedelta(hours=1),
                    updated_at=at,
                )
            )
        await session.commit()


@pytest.fixture
async def history(
    client: httpx.AsyncClient, make_token: MakeToken, context: AppContext
) -> dict[str, str]:
    """A real event and a drill on 柯桥区, with power-company's long history between them."""
    events = {
        "real": await opened(client, make_token),
        "drill": await opened(client, make_token, drill=True),
    }
    await long_history(context, events["real"], events["drill"])
    return events


async def pages(
    client: httpx.AsyncClient, headers: dict[str, str], limit: int, **filters: str
) -> list[dict[str, Any]]:
    """Every page of the poll, following ``next``; each page's answer."""
    found = []
    cursor = None
    while True:
        params = {**filters, "limit": str(limit)} | ({} if cursor is None else {"cursor": cursor})
        answer = await client.get(POLL, params=params, headers=headers)
        assert answer.status_code == 200, answer.text
        found.append({"tag": answer.headers["etag"], "cursor": cursor, **answer.json()})
        cursor = answer.json()["next"]
        if cursor is None:
            return found


def order_key(action: dict[str, Any]) -> tuple[datetime, uuid.UUID]:
    return datetime.fromisoformat(action["dispatched_at"]), uuid.UUID(action["id"])


async def stored(context: AppContext, **filters: Any) -> list[uuid.UUID]:
    """The ids of power-company's actions that ``filters`` keep, read from the database."""
    query = select(Action.id).join(Event, Event.id == Action.event_id)
    query = query.where(Action.agency == POWER)
    if "state" in filters:
        query = query.where(Action.state == filters["state"])
    if "event_id" in filters:
        query = query.where(Action.event_id == uuid.UUID(filters["event_id"]))
    if "drill" in filters:
        query = query.where(Event.drill == (filters["drill"] == "true"))
    async with context.read_sessions() as session:
        return list(await session.scalars(query))


@pytest.mark.parametrize(
    "filters",
    [
        {},
        {"state": "pending"},
        {"state": "done"},
        {"event_id": "real"},
        {"drill": "true"},
        {"drill": "false"},
        {"event_id": "drill", "state": "acknowledged"},
    ],
    ids=["all", "pending", "done", "one-event", "drills", "real-events", "event-and-state"],
)
async def test_pages_give_every_action_once_newest_first_with_each_filter(
    client: httpx.AsyncClient,
    make_token: MakeToken,
    context: AppContext,
    history: dict[str, str],
    filters: dict[str, str],
) -> None:
    power = await make_token("agency", agency=POWER)
    asked = {k: history.get(v, v) if k == "event_id" else v for k, v in filters.items()}
    expected = await stored(context, **asked)
    assert len(expected) > 7  # more than one page of 7

    walked = await pages(client, power, 7, **asked)

    items = [a for page in walked for a in page["items"]]
    assert all(len(page["items"]) == 7 for page in walked[:-1])
    assert 1 <= len(walked[-1]["items"]) <= 7
    assert sorted(uuid.UUID(a["id"]) for a in items) == sorted(expected)  # each once
    keys = [order_key(a) for a in items]
    assert keys == sorted(keys, reverse=True) and len(set(keys)) == len(keys)
    for field, value in asked.items():
        if field == "drill":
            assert {a["drill"] for a in items} == {value == "true"}
        else:
            assert {a[field] for a in items} == {value}
    # each page has its own tag
    assert len({page["tag"] for page in walked}) == len(walked)


async def test_the_first_page_holds_the_newest_and_the_default_size(
    client: httpx.AsyncClient, make_token: MakeToken, context: AppContext, history: dict[str, str]
) -> None:
    power = await make_token("agency", agency=POWER)
    everything = sorted(
        [a for page in await pages(client, power, 200) for a in page["items"]],
        key=order_key,
        reverse=True,
    )
    assert len(everything) > HISTORY

    first = await client.get(POLL, headers=power)

    assert first.status_code == 200
    assert first.json()["items"] == everything[:50]
    assert first.json()["next"] is not None
    # what the reports dispatched a moment ago comes before the month-old history
    assert not first.json()["items"][0]["key"].startswith("history.")


async def test_each_page_answers_304_to_its_own_tag_only(
    client: httpx.AsyncClient, make_token: MakeToken, history: dict[str, str]
) -> None:
    power = await make_token("agency", agency=POWER)
    first, second, third = (await pages(client, power, 100))[:3]

    for page in (first, second, third):
        params = {"limit": "100"} | ({} if page["cursor"] is None else {"cursor": page["cursor"]})
        held = await client.get(
            POLL, params=params, headers={**power, "If-None-Match": page["tag"]}
        )
        assert held.status_code == 304 and held.headers["etag"] == page["tag"]
        assert held.content == b""
    # another page's tag, another size or another filter is another answer
    other = await client.get(
        POLL,
        params={"limit": "100", "cursor": second["cursor"]},
        headers={**power, "If-None-Match": first["tag"]},
    )
    assert other.status_code == 200 and other.headers["etag"] == second["tag"]
    for params in ({"limit": "99"}, {"limit": "100", "state": "pending"}):
        differs = await client.get(
            POLL, params=params, headers={**power, "If-None-Match": first["tag"]}
        )
        assert differs.status_code == 200 and differs.headers["etag"] != first["tag"]


async def test_a_new_dispatch_moves_the_first_pages_tag_and_leads_it(
    client: httpx.AsyncClient, make_token: MakeToken, history: dict[str, str]
) -> None:
    power = await make_token("agency", agency=POWER)
    first = await client.get(POLL, headers=power)
    tag, before = first.headers["etag"], first.json()["items"]

    # 越城区 at IV: a new event, whose duties reach power-company
    dispatcher = await make_token("dispatcher")
    await post(client, dispatcher, report(county("330602", 200, 90)))

    polled = await client.get(POLL, headers={**power, "If-None-Match": tag})
    assert polled.status_code == 200 and polled.headers["etag"] != tag
    items = polled.json()["items"]
    new = [a for a in items if a["id"] not in {b["id"] for b in before}]
    assert new and items[: len(new)] == new  # the new ones lead the first page
    # the pages after it did not shift: the second page still starts where the first left off
    assert items[len(new) :] == before[: len(items) - len(new)]


async def test_a_change_on_an_older_page_moves_that_pages_tag(
    client: httpx.AsyncClient, make_token: MakeToken, history: dict[str, str]
) -> None:
    power = await make_token("agency", agency=POWER)
    walked = await pages(client, power, 20, state="pending")
    page = walked[2]
    action = page["items"][3]
    params = {"limit": "20", "state": "pending", "cursor": page["cursor"]}

    acked = await client.post(f"{API}/actions/{action['id']}/ack", json={}, headers=power)
    assert acked.status_code == 200, acked.text

    polled = await client.get(POLL, params=params, headers={**power, "If-None-Match": page["tag"]})
    assert polled.status_code == 200 and polled.headers["etag"] != page["tag"]
    assert action["id"] not in {a["id"] for a in polled.json()["items"]}  # no longer pending


@pytest.mark.parametrize(
    "cursor",
    [
        "not-a-cursor",
        "bm90IGpzb24",  # base64 of "not json"
        "WzFd",  # [1]: one value, where a time and an id are given
        base64.urlsafe_b64encode(
            json.dumps(["2026-07-20T06:00:00", str(uuid.UUID(int=0))]).encode()
        )
        .decode()
        .rstrip("="),
        "x" * 201,
    ],
    ids=["not-base64", "not-json", "one-value", "naive-time", "too-long"],
)
async def test_a_cursor_the_service_did_not_give_is_422_naming_it(
    client: httpx.AsyncClient, make_token: MakeToken, cursor: str
) -> None:
    power = await make_token("agency", agency=POWER)
    await opened(client, make_token)
    tag = (await client.get(POLL, headers=power)).headers["etag"]

    # with a tag too: the cursor is judged before the tag is compared
    for headers in (power, {**power, "If-None-Match": tag}):
        refused = await client.get(POLL, params={"cursor": cursor}, headers=headers)
        assert [e["field"] for e in problem(refused, 422)["errors"]] == ["cursor"]


@pytest.mark.parametrize("limit", ["0", "201", "-1", "ten", "1.5"])
async def test_a_limit_outside_1_to_200_is_422_naming_it(
    client: httpx.AsyncClient, make_token: MakeToken, limit: str
) -> None:
    power = await make_token("agency", agency=POWER)

    refused = await client.get(POLL, params={"limit": limit}, headers=power)

    assert [e["field"] for e in problem(refused, 422)["errors"]] == ["limit"]


async def test_a_page_of_one_walks_one_event_action_by_action(
    client: httpx.AsyncClient, make_token: MakeToken, context: AppContext
) -> None:
    event_id = await opened(client, make_token)
    power = await make_token("agency", agency=POWER)

    walked = await pages(client, power, 1, event_id=event_id)

    ids = [uuid.UUID(a["id"]) for page in walked for a in page["items"]]
    assert sorted(ids) == sorted(await stored(context, event_id=event_id))
    assert [len(page["items"]) for page in walked] == [1] * len(ids)
