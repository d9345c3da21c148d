"""The deliverer against real HTTP receivers on 127.0.0.1 (design § Notifications):
signatures, the robots' formats, retries, dead deliveries and replay, drills, and that a slow
receiver never holds up a report; on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from standardwebhooks.webhooks import Webhook

from models.base import utcnow
from service.app import open_context
from service.flows.context import AppContext
from service.words.timeline import kind_label
from tests.helpers import (
    MakeToken,
    Receiver,
    Reply,
    county,
    deliveries,
    delivering,
    free_port,
    outbox_rows,
    post,
    report,
    subscribe,
    wait_until,
)

IV = county("330603", 200, 90)  # 柯桥区 loses 45%: level IV, its own HQ leads
OPENED = ["event.opened"]
TINY = {"delivery_backoff_seconds": 0.05}


async def test_standard_notices_verify_with_the_standardwebhooks_package(
    client: httpx.AsyncClient, make_token: MakeToken, context: AppContext
) -> None:
    admin = await make_token("admin")
    dispatcher = await make_token("dispatcher")
    with Receiver() as receiver:
        created = await subscribe(client, admin, url=receiver.url, format="standard")
        event_id = (await post(client, dispatcher, report(IV)))["event_id"]
        async with delivering(context) as deliverer:
            await deliverer.drain()
    rows = await deliveries(context)
    assert rows and all(row.state == "delivered" and row.attempts == 1 for row in rows), [
        (row.state, row.attempts, row.last_error) for row in rows
    ]
    assert len(receiver.hits) == len(rows) == len(await outbox_rows(context, event_id))
    verifier = Webhook(created["secret"])
    bodies = [verifier.verify(hit.body, hit.headers) for hit in receiver.hits]
    assert {hit.webhook_id for hit in receiver.hits} == {str(row.id) for row in rows}
    assert {body["type"] for body in bodies} == {"event.opened", "action.dispatched"}
    for body in bodies:
        assert body["data"]["event_id"] == event_id and body["data"]["level"] == "IV"
        assert body["data"]["drill"] is False and "timestamp" in body
        # the words for people, as the robots get them: Chinese, with names
        assert body["title"] in {"事件开启", "任务下达"}, body["title"]
        assert "IV级 一般" in body["text"] and "柯桥区" in body["text"]
        assert event_id not in body["text"]
    forged = dict(receiver.hits[0].headers, **{"webhook-id": "msg_other"})
    with pytest.raises(Exception, match="signature"):
        verifier.verify(receiver.hits[0].body, forged)


async def test_dingtalk_signs_by_its_recipe_and_writes_chinese_markdown(
    client: httpx.AsyncClient, make_token: MakeToken, context: AppContext
) -> None:
    admin = await make_token("admin")
    dispatcher = await make_token("dispatcher")
    secret = "SEC0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcd"
    answer = Reply(body=json.dumps({"errcode": 0, "errmsg": "ok"}).encode())
    with Receiver(lambda _hit, _n: answer) as receiver:
        await subscribe(
            client,
            admin,
            url=receiver.url,
            format="dingtalk",
            secret=secret,
            drills=True,
            types=["action.dispatched"],
            agencies=["power-company"],
        )
        await post(client, dispatcher, report(IV, drill=True))
        async with delivering(context) as deliverer:
            await deliverer.drain()
    assert receiver.hits
    for hit in receiver.hits:
        query = {k: v[0] for k, v in parse_qs(urlsplit(hit.path).query).items()}
        to_sign = f"{query['timestamp']}\n{secret}".encode()
        expected = base64.b64encode(hmac.new(secret.encode(), to_sign, hashlib.sha256).digest())
        assert query["sign"] == expected.decode()
        assert abs(int(query["timestamp"]) / 1000 - time.time()) < 60
        message = hit.json()
        assert message["msgtype"] == "markdown"
        title, text = message["markdown"]["title"], message["markdown"]["text"]
        assert title.startswith("【演练】任务下达")
        assert "IV级 一般" in text and "绍兴电力局" in text and "北京时间" in text
        assert "http://127.0.0.1:8000/board" in text
    rows = await deliveries(context)
    assert {row.state for row in rows} == {"delivered"}


@pytest.mark.parametrize("fmt", ["wecom", "dingtalk"])
async def test_a_robots_nonzero_errcode_is_a_failed_attempt(
    client: httpx.AsyncClient, make_token: MakeToken, context: AppContext, fmt: str
) -> None:
    admin = await make_token("admin")
    dispatcher = await make_token("dispatcher")

    def robot(_hit: Any, n: int) -> Reply:
        if n == 1:
            return Reply(
                body=json.dumps({"errcode": 45009, "errmsg": "api freq out of limit"}).encode()
            )
        return Reply(body=b'{"errcode": 0, "errmsg": "ok"}')

    with Receiver(robot) as receiver:
        await subscribe(client, admin, url=receiver.url, format=fmt, types=OPENED)
        await post(client, dispatcher, report(IV))
        async with delivering(context, delivery_backoff_seconds=0.5) as deliverer:
            await deliverer.drain()
            (row,) = await deliveries(context)
            assert (row.state, row.attempts, row.last_status) == ("pending", 1, 200)
            assert row.last_error == "api freq out of limit"
            await asyncio.sleep(0.6)
            await deliverer.drain()
    (row,) = await deliveries(context)
    assert (row.state, row.attempts) == ("delivered", 2)
    content = receiver.hits[0].json()["markdown"]
    assert kind_label("event_opened") in content.get("content", content.get("title", ""))


async def test_500_twice_then_200_delivers_on_the_third_attempt(
    client: httpx.AsyncClient, make_token: MakeToken, context: AppContext
) -> None:
    admin = await make_token("admin")
    dispatcher = await make_token("dispatcher")
    with Receiver(lambda _hit, n: Reply(500 if n <= 2 else 200)) as receiver:
        await subscribe(client, admin, url=receiver.url, types=OPENED)
        await post(client, dispatcher, report(IV))
        async with delivering(context, **TINY) as deliverer:

            async def delivered() -> bool:
                await deliverer.drain()
                return [r.state for r in await deliveries(context)] == ["delivered"]

            await wait_until(delivered)
    (row,) = await deliveries(context)
    assert (row.attempts, row.last_status) == (3, 200)
    assert list(receiver.by_webhook_id().values()) == [3]


async def test_retry_after_is_honoured(
    client: httpx.AsyncClient, make_token: MakeToken, context: AppContext
) -> None:
    admin = await make_token("admin")
    dispatcher = await make_token("dispatcher")
    busy = Reply(429, headers=(("Retry-After", "30"),))
    with Receiver(lambda _hit, _n: busy) as receiver:
        await subscribe(client, admin, url=receiver.url, types=OPENED)
        await post(client, dispatcher, report(IV))
        async with delivering(context, **TINY) as deliverer:
            await deliverer.drain()
    (row,) = await deliveries(context)
    assert (row.state, row.attempts, row.last_status) == ("pending", 1, 429)
    assert row.next_attempt_at > utcnow() + timedelta(seconds=25)
    assert len(receiver.hits) == 1


async def test_a_4xx_is_dead_at_once_and_replay_delivers_it_with_the_same_webhook_id(
    client: httpx.AsyncClient, make_token: MakeToken, context: AppContext
) -> None:
    admin = await make_token("admin")
    dispatcher = await make_token("dispatcher")
    with Receiver(lambda _hit, n: Reply(400 if n == 1 else 200)) as receiver:
        await subscribe(client, admin, url=receiver.url, types=OPENED)
        await post(client, dispatcher, report(IV))
        async with delivering(context, **TINY) as deliverer:
            await deliverer.drain()
            (row,) = await deliveries(context)
            assert (row.state, row.attempts, row.last_status) == ("dead", 1, 400)
            replayed = await client.post(f"/api/v1/deliveries/{row.id}/replay", headers=admin)
            assert replayed.status_code == 202, replayed.text
            await deliverer.drain()
    (row,) = await deliveries(context)
    assert (row.state, row.attempts, row.last_status) == ("delivered", 2, 200)
    assert receiver.by_webhook_id() == {str(row.id): 2}


async def test_a_dead_receiver_ends_dead_after_max_attempts_and_replay_delivers(
    client: httpx.AsyncClient, make_token: MakeToken, context: AppContext
) -> None:
    admin = await make_token("admin")
    dispatcher = await make_token("dispatcher")
    port = free_port()  # nothing listens there yet
    url = f"http://127.0.0.1:{port}/hook"
    await subscribe(client, admin, url=url, types=OPENED)
    await post(client, dispatcher, report(IV))
    async with delivering(context, max_attempts=3, **TINY) as deliverer:

        async def dead() -> bool:
            await deliverer.drain()
            return [r.state for r in await deliveries(context)] == ["dead"]

        await wait_until(dead)
        (row,) = await deliveries(context)
        assert row.attempts == 3 and row.last_status is None and row.last_error
        with Receiver(port=port) as receiver:
            replayed = await client.post(f"/api/v1/deliveries/{row.id}/replay", headers=admin)
            assert replayed.status_code == 202
            await deliverer.drain()
    (after,) = await deliveries(context)
    assert (after.state, after.attempts) == ("delivered", 4)
    assert receiver.by_webhook_id() == {str(row.id): 1}


async def test_a_drill_reaches_only_subscriptions_that_asked_for_drills(
    client: httpx.AsyncClient, make_token: MakeToken, context: AppContext
) -> None:
    admin = await make_token("admin")
    dispatcher = await make_token("dispatcher")
    with Receiver() as real, Receiver() as drills:
        await subscribe(client, admin, url=real.url, types=OPENED)
        await subscribe(client, admin, url=drills.url, types=OPENED, drills=True)
        await post(client, dispatcher, report(IV, drill=True))
        async with delivering(context) as deliverer:
            await deliverer.drain()
    assert real.hits == []
    (hit,) = drills.hits
    assert hit.json()["data"]["drill"] is True


async def test_a_receiver_that_sleeps_does_not_hold_up_reports(
    client: httpx.AsyncClient, make_token: MakeToken, context: AppContext
) -> None:
    admin = await make_token("admin")
    dispatcher = await make_token("dispatcher")
    with Receiver(lambda _hit, _n: Reply(delay=10)) as receiver:
        await subscribe(client, admin, url=receiver.url)
        first = await post(client, dispatcher, report(IV))
        async with delivering(context, delivery_interval_seconds=0.02):
            await wait_until(lambda: _hit(receiver))
            # the receiver holds the deliverer's posts open; reports go on meanwhile
            body = report(county("330603", 200, 130), minutes=5, event_id=first["event_id"])
            raised = await post(client, dispatcher, body)
            assert raised["response_level"] == "III"
            assert receiver.answered == 0, "the report waited for a delivery"


async def _hit(receiver: Receiver) -> bool:
    return bool(receiver.hits)


async def test_two_deliverers_on_one_postgresql_database_never_send_one_delivery_twice(
    client: httpx.AsyncClient, make_token: MakeToken, context: AppContext
) -> None:
    if not context.settings.database_url.startswith("postgresql"):
        pytest.skip("workers side by side are PostgreSQL's case; SQLite has one writer")
    admin = await make_token("admin")
    dispatcher = await make_token("dispatcher")
    with Receiver() as receiver:
        for _ in range(4):
            await subscribe(client, admin, url=receiver.url)
        for region in ("330603", "330604", "330624"):
            await post(client, dispatcher, report(county(region, 200, 90)))
        workers = [open_context(context.settings, context.playbooks) for _ in range(2)]
        try:
            async with (
                delivering(workers[0], delivery_concurrency=4) as one,
                delivering(workers[1], delivery_concurrency=4) as other,
            ):
                await asyncio.gather(one.drain(), other.drain(), one.drain(), other.drain())
        finally:
            for worker in workers:
                await worker.close()
    rows = await deliveries(context)
    assert len(rows) >= 4 * 3 * 10
    assert {row.state for row in rows} == {"delivered"}
    assert sum(row.attempts for row in rows) == len(rows), "a delivery was claimed twice"
    sent = receiver.by_webhook_id()
    assert len(sent) == len(rows) and set(sent.values()) == {1}
