"""What a receiver can do to the deliverer, each against a real HTTP receiver on 127.0.0.1
(design § Notifications): an answer of 100 MB is read a few KB deep; a Retry-After of any size
is cut and its 503 recorded; a slow receiver holds only its own share of the slots; a receiver
failing again and again rests. On SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import timedelta

import httpx

from models.base import utcnow
from service.flows.context import AppContext
from service.notify.deliverer import MAX_ANSWER_BYTES
from tests.helpers import (
    MakeToken,
    Receiver,
    Reply,
    county,
    deliveries,
    delivering,
    post,
    report,
    subscribe,
    wait_until,
)

IV = county("330603", 200, 90)  # 柯桥区 loses 45%: level IV
OPENED = ["event.opened"]
TINY = {"delivery_backoff_seconds": 0.05}
HUGE = 100 * 1024 * 1024


async def test_a_huge_answer_is_read_only_a_few_kb_deep(
    client: httpx.AsyncClient, make_token: MakeToken, context: AppContext
) -> None:
    admin = await make_token("admin")
    dispatcher = await make_token("dispatcher")
    chunk = b"x" * 65536
    huge = Reply(500, body=chunk, repeat=HUGE // len(chunk))
    with Receiver(lambda _hit, _n: huge) as receiver:
        await subscribe(client, admin, url=receiver.url, types=OPENED)
        await post(client, dispatcher, report(IV))
        async with delivering(context, **TINY) as deliverer:
            await deliverer.drain()
        # what left the receiver's socket: the few KB read, and what the kernel's buffers took
        assert receiver.sent < HUGE // 10, receiver.sent
    (row,) = await deliveries(context)
    assert (row.state, row.attempts, row.last_status) == ("pending", 1, 500)
    assert row.last_error == "HTTP 500: " + "x" * 200


async def test_a_robots_errcode_is_read_from_the_first_kb_of_a_long_answer(
    client: httpx.AsyncClient, make_token: MakeToken, context: AppContext
) -> None:
    admin = await make_token("admin")
    dispatcher = await make_token("dispatcher")
    padded = json.dumps({"errcode": 45009, "errmsg": "api freq out of limit"}).encode()
    # the answer is cut at MAX_ANSWER_BYTES: a JSON body past it is no JSON, and delivers
    long = Reply(200, body=b" " * (MAX_ANSWER_BYTES * 4) + padded)
    with Receiver(lambda _hit, _n: long) as receiver:
        await subscribe(client, admin, url=receiver.url, format="wecom", types=OPENED)
        await post(client, dispatcher, report(IV))
        async with delivering(context, **TINY) as deliverer:
            await deliverer.drain()
        assert len(receiver.hits) == 1
    (row,) = await deliveries(context)
    assert (row.state, row.last_status) == ("delivered", 200)


async def test_a_retry_after_of_any_size_is_cut_and_its_503_recorded(
    client: httpx.AsyncClient, make_token: MakeToken, context: AppContext
) -> None:
    admin = await make_token("admin")
    dispatcher = await make_token("dispatcher")
    answers = {
        "seconds": Reply(503, headers=(("Retry-After", "9" * 4000),)),
        "date": Reply(503, headers=(("Retry-After", "Fri, 31 Dec 9999 23:59:59 GMT"),)),
    }
    with Receiver(lambda hit, _n: answers[hit.path.rsplit("/", 1)[1]]) as receiver:
        for name in answers:
            url = receiver.url + "/" + name
            await subscribe(client, admin, url=url, types=OPENED)
        await post(client, dispatcher, report(IV))
        before = utcnow()
        async with delivering(context, delivery_max_retry_after_seconds=600, **TINY) as one:
            await one.drain()
        after = utcnow()
        assert len(receiver.hits) == 2
    rows = await deliveries(context)
    assert [(r.state, r.attempts, r.last_status) for r in rows] == [("pending", 1, 503)] * 2
    for row in rows:
        assert row.last_error == "HTTP 503: {}"
        wait = timedelta(seconds=600)
        assert before + wait <= row.next_attempt_at <= after + wait


async def test_six_bad_receivers_hold_only_their_own_share_of_the_slots(
    client: httpx.AsyncClient, make_token: MakeToken, context: AppContext
) -> None:
    admin = await make_token("admin")
    dispatcher = await make_token("dispatcher")
    with (
        Receiver() as healthy,
        Receiver(lambda _hit, _n: Reply(delay=60)) as hanging,
        Receiver(lambda _hit, _n: Reply(body=b"{" + b" " * 1000 + b"}", drip=0.5)) as dripping,
        Receiver(lambda _hit, _n: Reply(500)) as failing,
        Receiver(lambda _hit, _n: Reply(302, headers=(("Location", healthy.url),))) as moving,
        Receiver(lambda _hit, _n: Reply(503, headers=(("Retry-After", "9" * 400),))) as busy,
        Receiver(lambda _hit, _n: Reply(body=b'{"errcode":93000,"errmsg":"invalid"}')) as robot,
    ):
        for bad in (hanging, dripping, failing, moving, busy):
            await subscribe(client, admin, url=bad.url)
        await subscribe(client, admin, url=robot.url, format="wecom")
        await subscribe(client, admin, url=healthy.url)
        for region in ("330603", "330604"):
            await post(client, dispatcher, report(county(region, 200, 90)))
        async with delivering(
            context,
            delivery_interval_seconds=0.02,
            delivery_timeout_seconds=30,
            delivery_backoff_seconds=60,
        ):

            async def healthy_has_all() -> bool:
                rows = await deliveries(context)
                return len(healthy.hits) == len(rows) // 7 > 0

            await wait_until(healthy_has_all, seconds=10)
            # the slow receivers still hold their attempts: the healthy one never waited for them
            assert hanging.answered == 0 and dripping.answered == 0
            assert hanging.hits and dripping.hits
    rows = await deliveries(context)
    assert len(rows) % 7 == 0


async def test_a_receiver_failing_again_and_again_rests_then_is_tried_once(
    client: httpx.AsyncClient, make_token: MakeToken, context: AppContext
) -> None:
    admin = await make_token("admin")
    dispatcher = await make_token("dispatcher")
    down = True

    def answer(_hit: object, _n: int) -> Reply:
        return Reply(500 if down else 200)

    with Receiver(answer) as receiver:
        created = await subscribe(client, admin, url=receiver.url)
        await post(client, dispatcher, report(IV))
        settings = {
            "delivery_breaker_failures": 3,
            "delivery_breaker_seconds": 1.5,
            "delivery_concurrency": 1,
            "delivery_backoff_seconds": 0.01,
        }
        async with delivering(context, **settings) as deliverer:
            await deliverer.drain()
            # three failed in a row: it rests, and what it had claimed is given back unattempted
            assert len(receiver.hits) == 3
            (subscription,) = deliverer.resting()
            assert str(subscription) == created["id"]
            rows = await deliveries(context)
            assert sum(row.attempts for row in rows) == 3
            assert all(row.state == "pending" for row in rows)
            await deliverer.drain()
            assert len(receiver.hits) == 3, "a resting receiver was tried"

            # the rest over, one attempt tries it; failing, it rests twice as long
            async def tried() -> bool:
                await deliverer.drain()
                return len(receiver.hits) == 4

            await wait_until(tried, seconds=10)
            until = deliverer.resting()[subscription]
            assert until > utcnow() + timedelta(seconds=2)
            down = False

            async def all_delivered() -> bool:
                await deliverer.drain()
                return {row.state for row in await deliveries(context)} == {"delivered"}

            await wait_until(all_delivered)
            assert deliverer.resting() == {}
    rows = await deliveries(context)
    assert len(receiver.hits) == 4 + len(rows)
