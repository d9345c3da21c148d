"""GET /metrics on SQLite and PostgreSQL: Prometheus text (a token only when one is set), the
database's counts as they stand at the scrape, reports received and request latency; a scrape
computed at most once a second however many ask, and small whatever the traffic was."""

from __future__ import annotations

import asyncio
import itertools
import re
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr
from sqlalchemy import func, insert, select

from models import Action, Delivery, Event, OutboxMessage, Subscription
from models.base import table_of
from service.api import metrics
from service.api.metrics import ScrapeCache, ScrapePace, SharedScrape
from service.app import create_app
from service.config import Settings
from service.flows.context import AppContext
from service.flows.events.figures import Figures, read_figures
from service.plan.levels import LEVELS
from service.plan.lifecycle import STATES
from tests.helpers import T0, Clock, MakeToken, county, hold_clock, post, report

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


@pytest.fixture
def cache(app_and_context: tuple[Any, AppContext], monkeypatch: pytest.MonkeyPatch) -> ScrapeCache:
    """The app's scrape cache, emptied (the app, and so the cache, lives for the session); its
    pace lets every scrape through at once (``no_waiting``)."""
    kept: ScrapeCache = app_and_context[0].state.metrics_cache
    kept.clear()
    no_waiting(app_and_context[0].state.metrics_pace, monkeypatch)
    return kept


def no_waiting(pace: ScrapePace, monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The pace's turns taken with no time passing, and the waits it asked for."""
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    monkeypatch.setattr(pace, "sleep", sleep)
    monkeypatch.setattr(pace, "most_waiting", 10**9)
    return waits


async def scrape(client: httpx.AsyncClient, cache: ScrapeCache | None = None) -> Samples:
    """The samples of a scrape; of a scrape computed anew when given the cache (to clear)."""
    if cache is not None:
        cache.clear()
    response = await client.get("/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


async def test_the_databases_counts_as_they_stand(
    client: httpx.AsyncClient,
    make_token: MakeToken,
    context: AppContext,
    monkeypatch: pytest.MonkeyPatch,
    cache: ScrapeCache,
) -> None:
    clock = Clock()
    hold_clock(monkeypatch, clock)
    before = await scrape(client, cache)
    assert value(before, "outage_events", state="response", level="IV") == 0
    assert value(before, "outage_deliveries", state="dead") == 0  # present, at zero
    assert ("outage_deliveries", frozenset({("state", "dead")})) in before

    dispatcher = await make_token("dispatcher")
    await post(client, dispatcher, report(county("330603", 151, "60.4")))
    await post(client, dispatcher, report(county("330624", 100, 1), minutes=1))
    async with context.read_sessions() as session:
        power = await session.scalar(
            select(func.count()).where(Action.agency == "power-company", Action.state == "pending")
        )
        pending = await session.scalar(select(func.count()).where(Action.state == "pending"))
    assert power and pending

    now = await scrape(client, cache)
    clock.now = T0 + timedelta(days=2)  # past every action's due time
    late = await scrape(client, cache)

    assert value(now, "outage_events", state="response", level="IV") == 1
    assert value(now, "outage_events", state="monitoring", level="none") == 1
    assert value(now, "outage_actions_open", agency="power-company") == power
    assert value(now, "outage_actions_overdue", agency="power-company") == 0
    assert value(late, "outage_actions_overdue", agency="power-company") == power
    agencies = {agency.code for agency in context.playbooks.agencies}
    series = {dict(labels)["agency"]: n for (name, labels), n in late.items() if "open" in name}
    assert series.keys() == agencies  # every agency, those without an open action at zero
    assert sum(series.values()) == pending

    # acknowledged, an action stays open; due on its acknowledgement it is no longer overdue,
    # due on its completion (plan 4's report) it still is (as the escalation job judges)
    agency = await make_token("agency", agency="power-company")
    feed = (await client.get("/api/v1/agencies/power-company/actions", headers=agency)).json()
    taken = next(a for a in feed["items"] if a["due_on"] == "acknowledgement")
    reported = next(
        a for a in feed["items"] if a["key"] == "reporting.power-company.report-local-authority"
    )
    for action in (taken, reported):
        acked = await client.post(f"/api/v1/actions/{action['id']}/ack", headers=agency, json={})
        assert acked.status_code == 200, acked.text
    after = await scrape(client, cache)
    assert value(after, "outage_actions_open", agency="power-company") == power
    assert value(after, "outage_actions_overdue", agency="power-company") == power - 1


async def test_deliveries_by_state(
    client: httpx.AsyncClient, make_token: MakeToken, context: AppContext, cache: ScrapeCache
) -> None:
    dispatcher = await make_token("dispatcher")
    event = uuid.UUID(
        (await post(client, dispatcher, report(county("330603", 151, "60.4"))))["event_id"]
    )
    message, states = uuid.uuid4(), ("delivered", "dead")
    subscriptions = [uuid.uuid4() for _ in states]
    async with context.sessions() as session:
        await session.execute(
            insert(table_of(Subscription)),
            [
                {"id": s, "url": "https://example.org/hook", "format": "standard"}
                for s in subscriptions
            ],
        )
        await session.execute(
            insert(table_of(OutboxMessage)).values(
                id=message, event_id=event, type="event.opened", data={}
            )
        )
        await session.execute(
            insert(table_of(Delivery)),
            [
                {"message_id": message, "subscription_id": subscription, "type": "event.opened"}
                | {"event_id": event, "state": state, "id": uuid.uuid4()}
                for subscription, state in zip(subscriptions, states, strict=True)
            ],
        )
        await session.commit()

    found = await scrape(client, cache)

    counts = {
        s: value(found, "outage_deliveries", state=s) for s in ("pending", "delivered", "dead")
    }
    assert counts == {"pending": 0, "delivered": 1, "dead": 1}


async def test_reports_received_and_request_latency(
    client: httpx.AsyncClient, make_token: MakeToken, cache: ScrapeCache
) -> None:
    dispatcher = await make_token("dispatcher")
    once = {**dispatcher, "Idempotency-Key": "k-1"}
    before = await scrape(client, cache)

    await post(client, dispatcher, report(county("330603", 151, 30)))
    await post(client, once, report(county("330603", 151, 31)))
    await post(client, once, report(county("330603", 151, 31)))  # a replay: not received again
    await client.get("/api/v1/events/not-a-uuid", headers=dispatcher)
    await client.get("/no/such/path")
    after = await scrape(client, cache)

    def grew(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert grew("outage_reports_received_total") == 2
    posted = {"route": "/api/v1/reports", "method": "POST", "status": "2xx"}
    assert grew("outage_http_requests_total", **posted) == 3
    assert grew("outage_http_request_seconds_total", route="/api/v1/reports", method="POST") > 0
    assert grew("outage_http_request_duration_seconds_bucket", status="2xx", le="+Inf") >= 3
    event = {"route": "/api/v1/events/{event_id}", "method": "GET", "status": "4xx"}
    assert grew("outage_http_requests_total", **event) == 1
    unmatched = {"route": "unmatched", "method": "GET", "status": "4xx"}
    assert grew("outage_http_requests_total", **unmatched) == 1


async def test_a_method_the_route_lacks_is_unmatched(
    client: httpx.AsyncClient, make_token: MakeToken, cache: ScrapeCache
) -> None:
    """A 405 names no route: the series stay one per method a route serves."""
    dispatcher = await make_token("dispatcher")
    before = await scrape(client, cache)
    assert (await client.delete("/api/v1/reports", headers=dispatcher)).status_code == 405
    after = await scrape(client, cache)
    labels = {"route": "unmatched", "method": "DELETE", "status": "4xx"}
    grown = value(after, "outage_http_requests_total", **labels)
    assert grown - value(before, "outage_http_requests_total", **labels) == 1
    assert not any(
        dict(labels).get("route") == "/api/v1/reports" and dict(labels).get("method") == "DELETE"
        for _name, labels in after
    )


async def test_metrics_can_be_turned_off(settings: Settings) -> None:
    app = create_app(settings.model_copy(update={"metrics": False}))
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://test") as client,
    ):
        assert (await client.get("/metrics")).status_code == 404


async def test_concurrent_scrapes_share_one_computation(
    client: httpx.AsyncClient, cache: ScrapeCache, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Twenty callers at once: the database is read once, and all get the same text."""
    monkeypatch.setattr(cache, "clock", lambda: 1000.0)  # no time passes
    reads, begun, gate = 0, asyncio.Event(), asyncio.Event()

    async def held(context: AppContext) -> Figures:
        nonlocal reads
        reads += 1
        begun.set()
        await gate.wait()  # every caller arrives while this computation runs
        return await read_figures(context)

    monkeypatch.setattr(metrics, "read_figures", held)
    asking = [asyncio.create_task(client.get("/metrics")) for _ in range(20)]
    await begun.wait()
    for _ in range(200):  # let every request reach the cache
        await asyncio.sleep(0)
    gate.set()
    answers = await asyncio.gather(*asking)

    assert [a.status_code for a in answers] == [200] * 20
    assert reads == 1
    assert len({a.content for a in answers}) == 1


async def test_a_scrape_is_computed_at_most_once_a_second(
    client: httpx.AsyncClient,
    make_token: MakeToken,
    cache: ScrapeCache,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    now = [1000.0]
    monkeypatch.setattr(cache, "clock", lambda: now[0])
    dispatcher = await make_token("dispatcher")
    made = cache.computations
    first = await scrape(client)
    await post(client, dispatcher, report(county("330603", 151, 30)))

    now[0] += 0.999
    within = await scrape(client)
    now[0] += 0.001
    after = await scrape(client)

    received = "outage_reports_received_total"
    assert value(within, received) == value(first, received)  # the text made a moment ago
    assert value(after, received) == value(first, received) + 1  # a second on: computed anew
    assert cache.computations - made == 2


async def test_a_failed_computation_is_not_kept(
    client: httpx.AsyncClient, cache: ScrapeCache, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cache, "clock", lambda: 1000.0)

    async def broken(context: AppContext) -> Figures:
        raise RuntimeError("the database went away")

    monkeypatch.setattr(metrics, "read_figures", broken)
    made = cache.computations
    assert (await client.get("/metrics")).status_code == 500
    monkeypatch.setattr(metrics, "read_figures", read_figures)
    assert (await client.get("/metrics")).status_code == 200
    assert cache.running is None and cache.computations - made == 1


async def test_a_scrape_is_small_with_a_hundred_events_and_every_route_asked(
    client: httpx.AsyncClient, make_token: MakeToken, context: AppContext, cache: ScrapeCache
) -> None:
    """Under 50 KB however the routes were asked: a series per route, method and status class
    and a histogram by status class only, not fourteen lines per route."""
    pairs = [(state, level) for state in STATES for level in (*LEVELS, None)]
    async with context.sessions() as session:
        await session.execute(
            insert(table_of(Event)),
            [
                {"id": uuid.uuid4(), "state": state, "level": level}
                for state, level in itertools.islice(itertools.cycle(pairs), 99)
            ],
        )
        await session.commit()
    admin = await make_token("admin")
    dispatcher = await make_token("dispatcher")
    await post(client, dispatcher, report(county("330603", 151, "60.4")))  # actions, notices
    paths = (await client.get("/openapi.json")).json()["paths"]
    nobody = str(uuid.uuid4())
    for template, operations in paths.items():
        path = re.sub(r"\{[^}]+\}", nobody, template)
        for method in ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"):
            served = method.lower() in operations
            await client.request(method, path, headers=admin, json={} if served else None)
            await client.request(method, path)  # no token

    response = await client.get("/metrics")

    found = {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(response.text)
        for s in family.samples
    }
    events = sum(n for (name, _labels), n in found.items() if name == "outage_events")
    assert events == 100  # the 99 and the report's
    assert len(response.content) < 50_000, len(response.content)


async def test_a_token_guards_metrics_when_set(settings: Settings) -> None:
    app = create_app(settings.model_copy(update={"metrics_token": SecretStr("s3cret-metrics")}))
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://test") as client,
    ):
        answers = {
            name: await client.get("/metrics", headers=headers)
            for name, headers in {
                "none": {},
                "wrong": {"Authorization": "Bearer s3cret-metricz"},
                "basic": {"Authorization": "Basic czNjcmV0LW1ldHJpY3M="},
                "right": {"Authorization": "Bearer s3cret-metrics"},
            }.items()
        }
    for name in ("none", "wrong", "basic"):
        refused = answers[name]
        assert refused.status_code == 401, name
        assert refused.headers["content-type"] == "application/problem+json"
        assert refused.headers["www-authenticate"] == "Bearer"
        assert "Authorization: Bearer" in refused.json()["detail"]
        assert "s3cret" not in refused.text
    assert answers["right"].status_code == 200
    assert "outage_events" in answers["right"].text


def test_the_token_is_compared_in_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    compared: list[tuple[bytes, bytes]] = []

    def compare(a: bytes, b: bytes) -> bool:
        compared.append((a, b))
        return a == b

    monkeypatch.setattr(metrics.hmac, "compare_digest", compare)
    assert metrics.allowed("abc", None)  # no token set: anyone
    assert not metrics.allowed(None, "abc")
    assert not metrics.allowed("abd", "abc")
    assert metrics.allowed("abc", "abc")
    assert compared == [(b"abd", b"abc"), (b"abc", b"abc")]


async def test_a_flood_of_scrapes_is_answered_ten_times_a_second(
    client: httpx.AsyncClient,
    cache: ScrapeCache,
    app_and_context: tuple[Any, AppContext],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Thirty callers at once: the first answered at once, the next twenty each a tenth of a
    second after the one before, the rest refused with 503 and Retry-After."""
    pace = ScrapePace(clock=lambda: 1000.0)
    waits = no_waiting(pace, monkeypatch)
    monkeypatch.setattr(pace, "most_waiting", 20)
    monkeypatch.setattr(app_and_context[0].state, "metrics_pace", pace)

    answers = await asyncio.gather(*(client.get("/metrics") for _ in range(30)))

    assert [a.status_code for a in answers].count(200) == 21
    busy = [a for a in answers if a.status_code == 503]
    assert len(busy) == 9
    assert all(a.headers["retry-after"] == "1" for a in busy)
    assert all(a.headers["content-type"] == "application/problem+json" for a in busy)
    assert waits == pytest.approx([n / 10 for n in range(1, 21)])


async def test_the_pace_lets_a_turn_go_by_as_time_passes() -> None:
    now = [1000.0]
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    pace = ScrapePace(rate=10, most_waiting=1, clock=lambda: now[0], sleep=sleep)
    assert await pace.turn()  # at once
    assert await pace.turn()  # a tenth of a second on
    assert not await pace.turn()  # two turns ahead: refused
    now[0] += 0.2
    assert await pace.turn()  # its turn has come: at once
    assert waits == pytest.approx([0.1])


async def test_workers_give_one_text_and_never_an_older_one(tmp_path: Path) -> None:
    """Two workers' caches over one multiprocess folder (SharedScrape): what one computed is what
    the other gives within the second, and a text begun earlier never replaces a later one, so
    scrapes answered by turns never see a counter go back."""
    now = [1000.0]
    shared = SharedScrape(tmp_path, clock=lambda: now[0])
    counts = iter([b"requests 7\n", b"requests 5\n"])
    made: list[str] = []

    def worker(name: str) -> ScrapeCache:
        async def produce() -> bytes:
            made.append(name)
            return next(counts)

        return ScrapeCache(produce, shared=shared)

    first, second = worker("first"), worker("second")
    assert await first.text() == b"requests 7\n"
    assert await second.text() == b"requests 7\n"  # the other's text, not one of its own
    assert made == ["first"]
    # a computation begun before the kept one ends after it: the kept one stays
    assert shared.offer(b"requests 5\n", began=now[0] - 5) == b"requests 7\n"
    now[0] += 2  # the kept text is over a second old: the second worker computes anew
    assert await second.text() == b"requests 5\n"
    assert made == ["first", "second"]
    assert (tmp_path / SharedScrape.NAME).read_bytes().endswith(b"requests 5\n")
