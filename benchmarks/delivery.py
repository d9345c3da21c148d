"""Webhook delivery (issue 11), on fresh databases of its own, against a local receiver
(``benchmarks.receiver`` under uvicorn, a process of its own):

(a) **delivery**, in process: ``--delivery-messages`` notices are put in the outbox for one
    ``standard`` subscription (outside the measurement); then the service's ``Deliverer``
    starts, as a worker runs it, and the time until every delivery is recorded delivered gives
    messages/s: fan-out, claims, signing, posting and recording. Its baseline, in the same round:
    bare httpx (one ``AsyncClient``, as many posts in flight as the deliverer's
    ``delivery_concurrency``) posting the same signed bodies to the same receiver. Goal ≥ 0.5×.
(b) **reports**, over HTTP: two services as they ship, one with 10 ``standard`` subscriptions
    to the receiver and one with none, each taking ``POST /api/v1/reports`` on its open level-IV
    event: first at IV (the level it has: nothing new to tell, the hot path's own cost), goal
    ≥ 0.8×; then, for information, alternately at IV and below every threshold, so that every
    report changes the event's level and writes an ``event.level_changed`` notice: ten
    deliveries a report for the service with subscriptions, more than its deliverer can post, so
    it works flat out beside the requests the whole time. Rounds alternate the two services; the
    ratio is the median of the rounds' ratios.
(c) **bad receivers**, in process (``benchmarks.bad_receivers``): the p95 of a healthy
    receiver's delay from a notice's creation to its arrival, beside six bad receivers (hanging,
    dripping, 500, redirect, a huge ``Retry-After``, a WeCom errcode) against alone; goal: under
    one second beside them.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final

import httpx
from sqlalchemy import func, select

from benchmarks import servers
from benchmarks.alone import run_alone
from benchmarks.bad_receivers import measure_receivers, sample_event
from benchmarks.cases import QUIET, RESPONSE, Pair, pair_json
from benchmarks.load import BenchError, Load, Target, check, driver
from benchmarks.output import delivery_table
from models import Delivery, Event
from service.app import open_context
from service.config import Settings
from service.flows.actions.schemas import action_json
from service.flows.admin.schemas import SubscriptionCreate
from service.flows.admin.subscriptions import create_subscription
from service.flows.context import AppContext
from service.notify.deliverer import Deliverer
from service.notify.formats import Notice, NoticeText, outgoing
from service.store import outbox
from service.store.batch import WriteBatch

# The measures' databases: the deliverer in process; the services with and without subscriptions.
DATABASES: Final = ("delivery", "subscribed", "plain", "receivers")
SUBSCRIPTIONS: Final = 10
DELIVERY_GOAL: Final = 0.5
REPORTS_GOAL: Final = 0.8


def receiver_command(port: int) -> list[str]:
    return [
        sys.executable,
        "-m",
        "uvicorn",
        "benchmarks.receiver:app",
        "--port",
        str(port),
        "--http",
        "httptools",
        "--log-level",
        "warning",
        "--no-access-log",
    ]


def measure_delivery(urls: dict[str, str], work: Path, args: argparse.Namespace) -> dict[str, Any]:
    """Both measures; ``urls``: the ``DATABASES`` by name."""
    work.mkdir(parents=True, exist_ok=True)
    port = servers.free_port()
    hook = f"http://127.0.0.1:{port}/hook"
    log = work / "receiver.log"
    with servers.server(receiver_command(port), dict(os.environ), log) as receiver:
        servers.wait_ready(f"http://127.0.0.1:{port}/count", receiver, log)
        found: dict[str, Any] = {"status": "ok"}
        found["delivery"] = asyncio.run(
            _delivery(urls["delivery"], hook, args.delivery_messages, args.rounds)
        )
        found.update(_reports(urls, hook, work, args))
    # (c) a healthy receiver beside six bad ones, receivers of its own (benchmarks.bad_receivers)
    found["receivers"] = asyncio.run(measure_receivers(urls["receivers"]))
    return found


# --- (a) the deliverer against bare httpx -------------------------------------------------


async def _delivery(database_url: str, hook: str, messages: int, rounds: int) -> dict[str, Any]:
    servers.cli("db", "upgrade", env={**os.environ, "OUTAGE_DATABASE_URL": database_url})
    settings = Settings(
        database_url=database_url, delivery_interval_seconds=1, escalation_interval_seconds=0
    )
    context = open_context(settings)
    try:
        created = await create_subscription(context, SubscriptionCreate(url=hook))
        async with context.sessions() as session:
            event = sample_event()
            session.add(event)
            await session.commit()
        secret = created.secret
        service: list[float] = []
        bare: list[float] = []
        for _round in range(rounds):
            await _fill(context, event, messages)
            service.append(await _deliverer_rate(context, messages))
            bare.append(await _bare_rate(context, hook, secret, messages))
    finally:
        await context.close()
    ratios = [s / b for s, b in zip(service, bare, strict=True)]
    ratio = statistics.median(ratios)
    return {
        "messages": messages,
        "concurrency": settings.delivery_concurrency,
        "service_per_s": round(statistics.median(service), 1),
        "bare_per_s": round(statistics.median(bare), 1),
        "service_rounds": [round(x, 1) for x in service],
        "bare_rounds": [round(x, 1) for x in bare],
        "ratio": round(ratio, 3),
        "goal": DELIVERY_GOAL,
        "meets_goal": ratio >= DELIVERY_GOAL,
    }


def _action(event: Event, n: int) -> dict[str, Any]:
    now = datetime.now(UTC)
    return action_json(
        drill=False,
        row={
            "id": uuid.uuid4(),
            "event_id": event.id,
            "key": f"bench-{n}",
            "agency": "power-company",
            "phase": "response",
            "level": "IV",
            "clause": "5.2.2",
            "title": "组织抢修受损电网设施",
            "detail": "尽快恢复停电区域供电",
            "state": "pending",
            "due_at": now + timedelta(minutes=30),
            "due_on": "acknowledgement",
            "dispatched_at": now,
            "playbook_version": "bench",
        },
    )


async def _fill(context: AppContext, event: Event, messages: int) -> None:
    async with context.sessions() as session:
        session.add(event)
        async with WriteBatch(session) as batch:
            for n in range(messages):
                extra = {"action": _action(event, n)}
                outbox.emit(
                    batch, event, "action.dispatched", audience=["power-company"], extra=extra
                )
        await session.commit()


async def _deliverer_rate(context: AppContext, messages: int) -> float:
    async def delivered() -> int:
        async with context.read_sessions() as session:
            count = select(func.count()).where(Delivery.state == "delivered")
            return int(await session.scalar(count.select_from(Delivery)) or 0)

    target = await delivered() + messages
    deliverer = Deliverer(context.sessions, context.settings, context.playbooks)
    start = time.perf_counter()
    deliverer.start()
    try:
        deadline = start + 300
        while await delivered() < target:
            if time.perf_counter() > deadline:
                raise BenchError("the deliverer did not deliver every message in 300 s")
            await asyncio.sleep(0.05)  # the measure's own reads, kept rare
        return messages / (time.perf_counter() - start)
    finally:
        await deliverer.stop()


async def _bare_rate(context: AppContext, hook: str, secret: str | None, messages: int) -> float:
    """Bare httpx posting the same signed bodies as the deliverer, as many at once."""
    event = sample_event()
    text = NoticeText(context.playbooks, context.settings.public_url)
    now = datetime.now(UTC)
    requests = [
        outgoing(
            "standard",
            hook,
            secret,
            str(uuid.uuid4()),
            Notice(
                "action.dispatched",
                False,
                outbox.notice_data(event, {"action": _action(event, n)}),
                now,
            ),
            text,
            now,
        )
        for n in range(messages)
    ]
    slots = context.settings.delivery_concurrency
    gate = asyncio.Semaphore(slots)
    limits = httpx.Limits(max_connections=slots, max_keepalive_connections=slots)
    async with httpx.AsyncClient(limits=limits, timeout=10) as client:

        async def send(request: Any) -> None:
            async with gate:
                answer = await client.post(
                    request.url, headers=request.headers, content=request.content
                )
                answer.raise_for_status()

        start = time.perf_counter()
        await asyncio.gather(*(send(r) for r in requests))
        return messages / (time.perf_counter() - start)


# --- (b) reports with 10 subscriptions against none ---------------------------------------


def _reports(
    urls: dict[str, str], hook: str, work: Path, args: argparse.Namespace
) -> dict[str, Any]:
    drive = driver(args.generator)
    with contextlib.ExitStack() as running:
        base: dict[str, str] = {}
        headers: dict[str, dict[str, str]] = {}
        for side in ("subscribed", "plain"):
            env = {
                **os.environ,
                "OUTAGE_DATABASE_URL": urls[side],
                "OUTAGE_VAR_DIR": str(work / side),
            }
            servers.cli("db", "upgrade", env=env)
            tokens = servers.new_tokens(env, {"dispatcher": ("dispatcher",), "admin": ("admin",)})
            port = servers.free_port()
            log = work / f"reports-{side}.log"
            process = running.enter_context(servers.server(servers.service_command(port), env, log))
            base[side] = f"http://127.0.0.1:{port}"
            servers.wait_ready(base[side] + "/healthz", process, log)
            if side == "subscribed":
                for _ in range(SUBSCRIPTIONS):
                    check(
                        base[side],
                        Target(
                            "POST", "/api/v1/subscriptions", 201, {"url": hook}, tokens["admin"]
                        ),
                    )
            check(
                base[side],
                Target("POST", "/api/v1/reports", 201, RESPONSE, tokens["dispatcher"]),
            )
            headers[side] = tokens["dispatcher"]
        found: dict[str, Any] = {}
        # At IV on the IV event first (nothing new to tell), then IV and below in turn.
        for name, bodies, goal in (
            ("reports", (RESPONSE,), REPORTS_GOAL),
            ("reports_notifying", (QUIET, RESPONSE), None),
        ):
            targets = {
                side: Target("POST", "/api/v1/reports", 201, headers=h, bodies=bodies)
                for side, h in headers.items()
            }
            runs = _alternate(drive, base, targets, args)
            what = "at IV" if goal else "IV and below in turn, each a notice"
            label = f"POST /api/v1/reports ({what}): {SUBSCRIPTIONS} subscriptions vs none"
            pair = Pair(name, label, targets["subscribed"], targets["plain"], goal)
            found[name] = {
                **pair_json(pair, runs),
                "deliveries": asyncio.run(_deliveries_made(urls["subscribed"])),
            }
        return found


def _alternate(
    drive: Any, base: dict[str, str], targets: dict[str, Target], args: argparse.Namespace
) -> dict[str, list[Load]]:
    """Rounds alternating the subscribed service (``service``) and the plain one (``bare``)."""
    if args.warmup > 0:
        for side, target in targets.items():
            drive(base[side], target, args, args.warmup)
    runs: dict[str, list[Load]] = {"service": [], "bare": []}
    for _round in range(args.rounds):
        runs["service"].append(
            drive(base["subscribed"], targets["subscribed"], args, args.duration)
        )
        runs["bare"].append(drive(base["plain"], targets["plain"], args, args.duration))
    return runs


async def _deliveries_made(database_url: str) -> dict[str, int]:
    """The subscribed service's deliveries by state when the load ended."""
    context = open_context(Settings(database_url=database_url))
    try:
        async with context.read_sessions() as session:
            rows = await session.execute(
                select(Delivery.state, func.count()).group_by(Delivery.state)
            )
            return {state: int(n) for state, n in rows}
    finally:
        await context.close()


def main(argv: list[str] | None = None) -> int:
    """The delivery measures alone: ``python -m benchmarks.delivery`` takes ``benchmarks.run``'s
    options (``--backends``, ``--rounds``, ``--duration``, ``--delivery-messages`` …)."""
    return run_alone(
        argv,
        "webhook delivery measures alone (benchmarks.run runs them too)",
        "delivery",
        tuple(DATABASES),
        lambda urls, args, work: measure_delivery(urls, work, args),
        delivery_table,
    )


if __name__ == "__main__":
    raise SystemExit(main())
