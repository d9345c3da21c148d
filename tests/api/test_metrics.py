"""GET /metrics on SQLite and PostgreSQL: Prometheus text without a token, the database's counts
as they stand at the scrape, reports received and request latency by route template."""

from __future__ import annotations

import uuid
from datetime import timedelta

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, insert, select

from models import Action, Delivery, OutboxMessage, Subscription
from models.base import table_of
from service.app import create_app
from service.config import Settings
from service.flows.context import AppContext
from tests.helpers import T0, Clock, MakeToken, county, hold_clock, post, report

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


async def scrape(client: httpx.AsyncClient) -> Samples:
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
) -> None:
    clock = Clock()
    hold_clock(monkeypatch, clock)
    before = await scrape(client)
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

    now = await scrape(client)
    clock.now = T0 + timedelta(days=2)  # past every action's due time
    late = await scrape(client)

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
    after = await scrape(client)
    assert value(after, "outage_actions_open", agency="power-company") == power
    assert value(after, "outage_actions_overdue", agency="power-company") == power - 1


async def test_deliveries_by_state(
    client: httpx.AsyncClient, make_token: MakeToken, context: AppContext
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

    found = await scrape(client)

    counts = {
        s: value(found, "outage_deliveries", state=s) for s in ("pending", "delivered", "dead")
    }
    assert counts == {"pending": 0, "delivered": 1, "dead": 1}


async def test_reports_received_and_request_latency(
    client: httpx.AsyncClient, make_token: MakeToken
) -> None:
    dispatcher = await make_token("dispatcher")
    once = {**dispatcher, "Idempotency-Key": "k-1"}
    before = await scrape(client)

    await post(client, dispatcher, report(county("330603", 151, 30)))
    await post(client, once, report(county("330603", 151, 31)))
    await post(client, once, report(county("330603", 151, 31)))  # a replay: not received again
    await client.get("/api/v1/events/not-a-uuid", headers=dispatcher)
    await client.get("/no/such/path")
    after = await scrape(client)

    def grew(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert grew("outage_reports_received_total") == 2
    posted = {"route": "/api/v1/reports", "method": "POST", "status": "2xx"}
    assert grew("outage_http_request_duration_seconds_count", **posted) == 3
    assert grew("outage_http_request_duration_seconds_bucket", **posted, le="+Inf") == 3
    assert grew("outage_http_request_duration_seconds_sum", **posted) > 0
    event = {"route": "/api/v1/events/{event_id}", "method": "GET", "status": "4xx"}
    assert grew("outage_http_request_duration_seconds_count", **event) == 1
    unmatched = {"route": "unmatched", "method": "GET", "status": "4xx"}
    assert grew("outage_http_request_duration_seconds_count", **unmatched) == 1


async def test_metrics_can_be_turned_off(settings: Settings) -> None:
    app = create_app(settings.model_copy(update={"metrics": False}))
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://test") as client,
    ):
        assert (await client.get("/metrics")).status_code == 404
