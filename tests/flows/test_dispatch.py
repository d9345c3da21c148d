"""Dispatching checklists: bulk statements, playbook versions, lowering, ETags."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import event as sa_event
from sqlalchemy import select

from models import Action, Event
from service.flows.actions.dispatch import dispatch, response_items
from service.flows.context import AppContext
from service.plan.actor import Actor
from service.plan.addressees import Scene
from service.playbooks.bundle import Playbooks
from service.store.batch import WriteBatch
from tests.helpers import PLAYBOOKS_DIR, MakeToken, county, post, report

NOW = datetime(2026, 7, 20, 6, 0, tzinfo=UTC)


@contextmanager
def counting(context: AppContext) -> Iterator[list[str]]:
    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    engine = context.engine.sync_engine
    sa_event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        sa_event.remove(engine, "before_cursor_execute", count)


async def new_event(context: AppContext, level: str) -> Event:
    event = Event(
        id=uuid.uuid4(),
        state="response",
        response_level=level,
        leading_hq="330600",
        opened_at=NOW,
        updated_at=NOW,
        basis=[],
    )
    async with context.sessions() as session:
        session.add(event)
        await session.commit()
    return event


async def system_actor(make_token: MakeToken, context: AppContext) -> Actor:
    headers = await make_token("commander", region="330600")
    return await context.tokens.verify(headers["Authorization"].removeprefix("Bearer "))


async def test_dispatch_statements_do_not_grow_with_items(
    context: AppContext, make_token: MakeToken
) -> None:
    actor = await system_actor(make_token, context)
    counts = {}
    for level in ("I", "IV"):
        # one action per item: no link waiting for another, no circumstance, one county hit,
        # no role naming two units there (the expert group of each commanding HQ)
        scene = Scene("330600", ("330603",))
        items = [
            item
            for item in response_items(context.playbooks, level)
            if item.after is None
            and item.when is None
            and len(context.playbooks.agencies.addressees(item.agency, scene)) == 1
        ]
        for size in (1, len(items)):
            event = await new_event(context, level)
            async with context.sessions() as session:
                session.add(event)
                with counting(context) as statements:
                    async with WriteBatch(session) as batch:
                        created = await dispatch(
                            session,
                            batch,
                            context.playbooks,
                            event,
                            items[:size],
                            actor,
                            NOW,
                            scene,
                        )
                    await session.commit()
            assert created == size
            counts[(level, size)] = len(statements)
    assert len(set(counts.values())) == 1, counts
    assert len(response_items(context.playbooks, "I")) > 40


async def test_actions_keep_the_playbook_version_they_came_from(
    client: httpx.AsyncClient, make_token: MakeToken, context: AppContext, tmp_path: Path
) -> None:
    dispatcher = await make_token("dispatcher")
    event_id = (await post(client, dispatcher, report(county("330603", 151, 70))))["event_id"]
    edited = tmp_path / "playbooks"
    shutil.copytree(PLAYBOOKS_DIR, edited)
    first = next(edited.glob("checklists/response_iii_iv.yaml"))
    first.write_text(first.read_text().replace("title: ", "title: 修订 ", 1))
    reloaded = Playbooks.load(edited)
    assert reloaded.checklists.version != context.playbooks.checklists.version
    async with context.sessions() as session:
        rows = list(
            await session.scalars(select(Action).where(Action.event_id == uuid.UUID(event_id)))
        )
    assert rows
    assert {a.playbook_version for a in rows} == {context.playbooks.checklists.version}
    assert not any(a.title.startswith("修订") for a in rows)


async def test_lowering_cancels_what_the_new_level_lacks(
    client: httpx.AsyncClient, make_token: MakeToken, context: AppContext
) -> None:
    dispatcher = await make_token("dispatcher")
    city = await make_token("commander", region="330600")
    keqiao = await make_token("commander", region="330603")
    event_id = (await post(client, dispatcher, report(county("330603", 200, 130))))["event_id"]
    # III is led by the city: 柯桥's HQ may not re-level it
    refused = await client.post(
        f"/api/v1/events/{event_id}/level", json={"level": "IV", "reason": "r"}, headers=keqiao
    )
    assert refused.status_code == 403
    missing_reason = await client.post(
        f"/api/v1/events/{event_id}/level", json={"level": "IV"}, headers=city
    )
    assert missing_reason.status_code == 422
    lowered = await client.post(
        f"/api/v1/events/{event_id}/level",
        json={"level": "IV", "reason": "负荷快速恢复"},
        headers=city,
    )
    assert lowered.status_code == 200, lowered.text
    assert lowered.json()["response_level"] == "IV"
    actions = (await client.get(f"/api/v1/events/{event_id}/actions", headers=city)).json()["items"]
    iv_keys = {i.key for i in response_items(context.playbooks, "IV")}
    taken_back = [a for a in actions if a["state"] in ("cancelled", "superseded")]
    assert taken_back and all(a["key"] not in iv_keys for a in taken_back)
    assert all("负荷快速恢复" in a["cancel_reason"] for a in taken_back if a["cancel_reason"])
    # the city's on-site HQ of a 较大 gives way to the county's of a 一般 (plan 2.3)
    assert {(a["key"], a["agency"], a["state"]) for a in taken_back} == {
        ("response.hq-city.on-site-hq", "hq-city", "superseded")
    }
    assert all(a["state"] == "pending" for a in actions if a["key"] in iv_keys)
    # raising again brings the cancelled duties back
    raised = await client.post(
        f"/api/v1/events/{event_id}/level",
        json={"level": "III", "reason": "再次恶化"},
        headers=city,
    )
    assert raised.status_code == 200
    again = (await client.get(f"/api/v1/events/{event_id}/actions", headers=city)).json()["items"]
    assert not [a for a in again if a["state"] == "cancelled"]
    on_site = {(a["agency"], a["state"]) for a in again if a["key"].endswith(".on-site-hq")}
    assert on_site == {("hq-city", "pending"), ("hq-330603", "superseded")}
    same = await client.post(
        f"/api/v1/events/{event_id}/level", json={"level": "III", "reason": "x"}, headers=city
    )
    assert same.status_code == 409


async def test_agency_poll_etag_and_304(client: httpx.AsyncClient, make_token: MakeToken) -> None:
    dispatcher = await make_token("dispatcher")
    power = await make_token("agency", agency="power-company")
    health = await make_token("agency", agency="health")
    await post(client, dispatcher, report(county("330603", 151, 70)))
    url = "/api/v1/agencies/power-company/actions"
    first = await client.get(url, headers=power)
    tag = first.headers["etag"]
    assert tag.startswith('W/"')
    unchanged = await client.get(url, headers={**power, "If-None-Match": tag})
    assert unchanged.status_code == 304 and unchanged.content == b""
    action = first.json()["items"][0]
    await client.post(f"/api/v1/actions/{action['id']}/ack", json={}, headers=power)
    changed = await client.get(url, headers={**power, "If-None-Match": tag})
    assert changed.status_code == 200 and changed.headers["etag"] != tag
    # another agency's work leaves power-company's tag alone; a new dispatch moves it
    tag = changed.headers["etag"]
    mine = (await client.get("/api/v1/agencies/health/actions", headers=health)).json()["items"]
    await client.post(f"/api/v1/actions/{mine[0]['id']}/complete", json={}, headers=health)
    assert (await client.get(url, headers={**power, "If-None-Match": tag})).status_code == 304
    await post(client, dispatcher, report(county("330604", 151, 70)))
    assert (await client.get(url, headers={**power, "If-None-Match": tag})).status_code == 200
    pending = await client.get(url, params={"state": "pending"}, headers=power)
    assert action["id"] not in [a["id"] for a in pending.json()["items"]]
    # another agency's list does not exist for this caller; nor does an unknown agency's
    assert (await client.get(url, headers=health)).status_code == 404
    observer = await make_token("observer")
    assert (await client.get(url, headers=observer)).status_code == 200
    for code in ("no-such-unit", "leading-hq"):
        missing = await client.get(f"/api/v1/agencies/{code}/actions", headers=observer)
        assert missing.status_code == 404


@pytest.mark.parametrize("role", ["dispatcher", "observer"])
async def test_only_agencies_ack(
    client: httpx.AsyncClient, make_token: MakeToken, role: str
) -> None:
    headers = await make_token(role)
    response = await client.post(f"/api/v1/actions/{uuid.uuid4()}/ack", json={}, headers=headers)
    assert response.status_code == 403


async def test_each_dispatch_cites_its_items_clauses(
    client: httpx.AsyncClient, make_token: MakeToken
) -> None:
    """The monitoring of plan 3.2.1 goes out as the event opens; plan 4's reports and 5.2.1's
    first measures before the response starts, cited as what they are (not "5.2"); then the
    response's own duties and plan 6.2's group."""
    dispatcher = await make_token("dispatcher")
    event_id = (await post(client, dispatcher, report(county("330603", 151, 70))))["event_id"]
    entries = (await client.get(f"/api/v1/events/{event_id}/timeline", headers=dispatcher)).json()[
        "items"
    ]
    moves = [(e["kind"], e["clause"], e["data"].get("phase")) for e in entries[2:]]
    assert moves == [
        ("actions_dispatched", "3.2.1", "monitoring"),
        ("actions_dispatched", "4, 5.2.1", "first_response"),
        ("response_started", "5.1", None),
        ("actions_dispatched", "2.2, 2.3, 2.4, 2.5, 5.2.3, 5.3, 5.4", "response"),
        ("actions_dispatched", "6.2", "post_event"),
    ]
