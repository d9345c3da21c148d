"""Many hands on one event (issue 9), on SQLite and PostgreSQL, in process: one outage opens one
event, its timeline is numbered without gaps and never runs backwards, concurrent re-levels,
reports and acknowledgements answer no 5xx, and what an action keeps when it is reopened or
acknowledged again."""

from __future__ import annotations

import asyncio
import sqlite3
import uuid
from datetime import timedelta
from typing import Any, NoReturn

import httpx
import pytest
from sqlalchemy import select, update
from sqlalchemy.exc import OperationalError

from models import Action, Event, EventGrid, IdempotencyRecord
from models.base import utcnow
from service.flows.context import AppContext
from service.flows.reports import submit
from service.store.transactions import ATTEMPTS
from tests.helpers import MakeToken, count, county, post, report

API = "/api/v1"


async def first_reports(
    client: httpx.AsyncClient, headers: dict[str, str], bodies: list[dict[str, Any]]
) -> list[httpx.Response]:
    return list(
        await asyncio.gather(
            *(client.post(f"{API}/reports", json=b, headers=headers) for b in bodies)
        )
    )


async def test_concurrent_first_reports_for_one_grid_open_one_event(
    client: httpx.AsyncClient, make_token: MakeToken, context: AppContext
) -> None:
    dispatcher = await make_token("dispatcher")
    bodies = [report(county("330603", 151, 70), minutes=n) for n in range(20)]
    answers = await first_reports(client, dispatcher, bodies)
    assert [a.status_code for a in answers] == [201] * 20, [a.text for a in answers]
    assert len({a.json()["event_id"] for a in answers}) == 1
    assert await count(context, Event) == 1
    async with context.read_sessions() as session:
        actions = (await session.execute(select(Action.key, Action.agency))).all()
    assert actions and len(actions) == len(set(actions))  # the checklist once, not twenty times


async def test_a_report_joins_the_open_event_naming_its_grid_and_drills_keep_apart(
    client: httpx.AsyncClient, make_token: MakeToken
) -> None:
    dispatcher = await make_token("dispatcher")
    first = await post(client, dispatcher, report(county("330603", 151, 10)))
    both = await post(
        client, dispatcher, report(county("330603", 151, 12), county("330604", 180, 5))
    )
    assert both["event_id"] == first["event_id"]
    drill = await post(client, dispatcher, report(county("330603", 151, 10), drill=True))
    assert drill["event_id"] != first["event_id"]
    # a warning proposed for 上虞区 joins the event that already names it
    proposed = await client.post(
        f"{API}/warnings",
        json={"area": ["330604"], "headline": "台风", "description": "预计跳闸"},
        headers=dispatcher,
    )
    assert proposed.status_code == 201, proposed.text
    assert proposed.json()["event_id"] == first["event_id"]


async def test_grids_in_two_open_events_are_refused_naming_them(
    client: httpx.AsyncClient, make_token: MakeToken
) -> None:
    dispatcher = await make_token("dispatcher")
    keqiao = await post(client, dispatcher, report(county("330603", 151, 10)))
    shangyu = await post(client, dispatcher, report(county("330604", 180, 10)))
    assert keqiao["event_id"] != shangyu["event_id"]
    refused = await client.post(
        f"{API}/reports",
        json=report(county("330603", 151, 11), county("330604", 180, 11)),
        headers=dispatcher,
    )
    assert refused.status_code == 409, refused.text
    problem = refused.json()
    assert sorted(problem["events"]) == sorted([keqiao["event_id"], shangyu["event_id"]])
    assert problem["rule"] == "design § One outage, one event"
    named = report(county("330603", 151, 11), county("330604", 180, 11))
    chosen = await post(client, dispatcher, {**named, "event_id": keqiao["event_id"]})
    assert chosen["event_id"] == keqiao["event_id"]


async def test_a_closed_event_is_not_joined(
    client: httpx.AsyncClient, make_token: MakeToken
) -> None:
    dispatcher = await make_token("dispatcher")
    city = await make_token("commander", region="330600")
    first = await post(client, dispatcher, report(county("330603", 151, 10)))
    dismissed = await client.post(
        f"{API}/events/{first['event_id']}/dismiss", json={"reason": "误报"}, headers=city
    )
    assert dismissed.status_code == 200, dismissed.text
    again = await post(client, dispatcher, report(county("330603", 151, 10)))
    assert again["event_id"] != first["event_id"]


async def timeline(
    client: httpx.AsyncClient, headers: dict[str, str], event_id: str
) -> list[dict[str, Any]]:
    """The event's whole timeline, read page by page (seven entries a page)."""
    entries: list[dict[str, Any]] = []
    cursor = ""
    while True:
        page = await client.get(
            f"{API}/events/{event_id}/timeline?limit=7{cursor}", headers=headers
        )
        entries += page.json()["items"]
        if not page.json().get("next"):
            return entries
        cursor = f"&cursor={page.json()['next']}"


async def test_many_hands_at_once_answer_no_5xx_and_keep_the_timeline_in_order(
    client: httpx.AsyncClient, make_token: MakeToken, context: AppContext
) -> None:
    """The reproduction of issue 9: a commander re-levelling IV↔II, reports and agency
    acknowledgements on one event at once used to deadlock on PostgreSQL (500s)."""
    dispatcher = await make_token("dispatcher")
    province = await make_token("commander", region="330000")
    power = await make_token("agency", agency="power-company")
    observer = await make_token("observer")
    event_id = (await post(client, dispatcher, report(county("330603", 151, 70))))["event_id"]
    statuses: list[int] = []

    async def relevel() -> None:
        for n in range(8):
            level = "II" if n % 2 == 0 else "IV"
            answer = await client.post(
                f"{API}/events/{event_id}/level",
                json={"level": level, "reason": "态势变化"},
                headers=province,
            )
            statuses.append(answer.status_code)

    async def reports(region: str, load: int) -> None:
        for n in range(8):
            body = {**report(county(region, load, 30 + n), minutes=n), "event_id": event_id}
            answer = await client.post(f"{API}/reports", json=body, headers=dispatcher)
            statuses.append(answer.status_code)

    async def acks() -> None:
        for _ in range(4):
            listing = await client.get(f"{API}/agencies/power-company/actions", headers=power)
            for action in listing.json()["items"][:4]:
                for verb in ("ack", "complete"):
                    answer = await client.post(
                        f"{API}/actions/{action['id']}/{verb}", json={}, headers=power
                    )
                    statuses.append(answer.status_code)

    await asyncio.gather(relevel(), reports("330603", 151), reports("330604", 180), acks(), acks())
    assert not [s for s in statuses if s >= 500], statuses
    entries = await timeline(client, observer, event_id)
    assert [e["seq"] for e in entries] == list(range(1, len(entries) + 1))
    assert [e["at"] for e in entries] == sorted(e["at"] for e in entries)
    async with context.read_sessions() as session:
        keys = list(
            await session.execute(
                select(Action.key, Action.agency, Action.run).where(
                    Action.event_id == uuid.UUID(event_id)
                )
            )
        )
    assert len(keys) == len(set(keys))


async def test_a_reopened_action_is_due_afresh(
    client: httpx.AsyncClient, make_token: MakeToken, context: AppContext
) -> None:
    dispatcher = await make_token("dispatcher")
    city = await make_token("commander", region="330600")
    event_id = (await post(client, dispatcher, report(county("330603", 200, 130))))["event_id"]
    event = uuid.UUID(event_id)
    # the III duties were dispatched long ago, have escalated and been reminded
    long_ago = utcnow() - timedelta(days=1)
    async with context.sessions() as session:
        await session.execute(
            update(Action)
            .where(Action.event_id == event)
            .values(
                dispatched_at=long_ago, due_at=long_ago, escalated_at=long_ago, reminded_at=long_ago
            )
        )
        await session.commit()
    for level in ("IV", "III"):
        answer = await client.post(
            f"{API}/events/{event_id}/level",
            json={"level": level, "reason": "态势变化"},
            headers=city,
        )
        assert answer.status_code == 200, answer.text
    async with context.read_sessions() as session:
        reopened = list(
            await session.scalars(
                select(Action).where(Action.event_id == event, Action.dispatched_at > long_ago)
            )
        )
    assert reopened
    now = utcnow()
    # the county's on-site HQ of the IV between gave way again to the city's (plan 2.3), and
    # plan 4's report at IV to the follow-up at III
    between = [
        a
        for a in reopened
        if a.key
        in ("response.county-hq.on-site-hq", "reporting.power-company.report-local-authority")
        and a.run < 3
    ]
    assert sorted((a.key, a.state) for a in between) == [
        ("reporting.power-company.report-local-authority", "superseded"),
        ("response.county-hq.on-site-hq", "superseded"),
    ]
    for action in reopened:
        if action in between:
            continue
        assert action.state == "pending"
        assert action.due_at > now, action.key
        assert action.escalated_at is None and action.reminded_at is None


async def test_a_repeated_acknowledgement_keeps_its_new_note(
    client: httpx.AsyncClient, make_token: MakeToken
) -> None:
    dispatcher = await make_token("dispatcher")
    power = await make_token("agency", agency="power-company")
    observer = await make_token("observer")
    event_id = (await post(client, dispatcher, report(county("330603", 151, 70))))["event_id"]
    listing = await client.get(f"{API}/agencies/power-company/actions", headers=power)
    action = listing.json()["items"][0]["id"]
    for note in ("抢修队已出发", "抢修队已到达现场"):
        answer = await client.post(
            f"{API}/actions/{action}/ack", json={"note": note}, headers=power
        )
        assert answer.status_code == 200, answer.text
        assert answer.json()["note"] == note
    kinds = [e["kind"] for e in await timeline(client, observer, event_id)]
    assert kinds.count("action_acknowledged") == 1
    assert kinds.count("action_noted") == 1


async def test_idempotency_on_ack_and_a_fingerprint_that_means_the_same(
    client: httpx.AsyncClient, make_token: MakeToken, context: AppContext
) -> None:
    dispatcher = await make_token("dispatcher")
    power = await make_token("agency", agency="power-company")
    event_id = (await post(client, dispatcher, report(county("330603", 151, 70))))["event_id"]
    listing = await client.get(f"{API}/agencies/power-company/actions", headers=power)
    action = listing.json()["items"][0]["id"]
    once = {**power, "Idempotency-Key": "ack-1"}
    first = await client.post(f"{API}/actions/{action}/ack", json={"note": "到"}, headers=once)
    again = await client.post(f"{API}/actions/{action}/ack", json={"note": "到"}, headers=once)
    assert first.status_code == again.status_code == 200
    assert first.json() == again.json()
    other = await client.post(f"{API}/actions/{action}/ack", json={"note": "另"}, headers=once)
    assert other.status_code == 422, other.text
    # the same report written two ways is the same request
    keyed = {**dispatcher, "Idempotency-Key": "report-1"}
    as_number = {**report(county("330603", 151, 61.0)), "event_id": event_id}
    as_text = {**report(county("330603", "151.000", "61.000")), "event_id": event_id}
    as_text["observed_at"] = "2026-07-20T14:00:00+08:00"  # T0 (06:00Z) in Shanghai time
    one = await client.post(f"{API}/reports", json=as_number, headers=keyed)
    two = await client.post(f"{API}/reports", json=as_text, headers=keyed)
    assert one.status_code == two.status_code == 201, two.text
    assert one.json() == two.json()


async def test_an_idempotent_answer_expires(
    client: httpx.AsyncClient, make_token: MakeToken, context: AppContext
) -> None:
    dispatcher = await make_token("dispatcher")
    keyed = {**dispatcher, "Idempotency-Key": "report-expiring"}
    first = await client.post(
        f"{API}/reports", json=report(county("330603", 151, 5)), headers=keyed
    )
    assert first.status_code == 201
    stale = utcnow() - context.settings.idempotency_ttl - timedelta(seconds=1)
    async with context.sessions() as session:
        await session.execute(update(IdempotencyRecord).values(created_at=stale))
        await session.commit()
    # another body under the expired key is a new request, not a 422
    second = await client.post(
        f"{API}/reports", json=report(county("330603", 151, 6), minutes=1), headers=keyed
    )
    assert second.status_code == 201, second.text
    assert second.json()["report_id"] != first.json()["report_id"]
    assert await count(context, IdempotencyRecord) == 1


async def test_a_conflict_that_outlasts_the_retries_is_a_503_with_retry_after(
    client: httpx.AsyncClient, make_token: MakeToken, monkeypatch: pytest.MonkeyPatch
) -> None:
    dispatcher = await make_token("dispatcher")
    tries: list[int] = []

    async def deadlocked(*_args: Any) -> NoReturn:
        tries.append(1)
        raise OperationalError(
            "UPDATE events …", {}, sqlite3.OperationalError("database is locked")
        )

    monkeypatch.setattr(submit, "report_answer", deadlocked)
    answer = await client.post(
        f"{API}/reports", json=report(county("330603", 151, 5)), headers=dispatcher
    )
    assert answer.status_code == 503, answer.text
    assert answer.headers["retry-after"] == "1"
    assert answer.headers["content-type"] == "application/problem+json"
    assert len(tries) == ATTEMPTS


async def test_a_grid_joined_and_first_reports_for_it_at_once_leave_it_in_one_event(
    client: httpx.AsyncClient, make_token: MakeToken, context: AppContext
) -> None:
    """A report without event_id that joins an event by one grid and brings another into it,
    and first reports for that other grid alone, all at once: the grid ends in one open event.
    (The joining report may find the grid's new event first and be refused as ambiguous.)"""
    dispatcher = await make_token("dispatcher")
    await post(client, dispatcher, report(county("330603", 151, 10)))
    joining = report(county("330603", 151, 12), county("330604", 180, 5), minutes=1)
    firsts = [report(county("330604", 180, 6), minutes=2 + n) for n in range(6)]
    answers = await first_reports(client, dispatcher, [joining, *firsts])
    assert {a.status_code for a in answers} <= {201, 409}, [a.text for a in answers]
    assert all(a.status_code == 201 for a in answers[1:]), [a.text for a in answers]
    async with context.read_sessions() as session:
        holding = set(
            await session.scalars(select(EventGrid.event_id).where(EventGrid.region == "330604"))
        )
    assert len(holding) == 1
