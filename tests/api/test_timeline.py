"""GET /events/{id}/timeline as each role sees it, on SQLite and PostgreSQL (design § Visibility):
an agency sees the event-level entries and those about its own actions,
never another agency's actions, notes or keys; everyone else sees everything. Pages stay whole
when entries are left out."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from service.flows.events import read as events
from service.flows.events.agency_view import EVENT_KINDS
from tests.helpers import MakeToken, county, ok, post, report

API = "/api/v1"
POWER_NOTES = ("抢修队已出发", "已恢复送电")
POLICE_NOTE = "警力已到位"
CANCELLED = "用户自行恢复，无需抢修"


@dataclass
class Storm:
    event_id: str
    dispatcher: dict[str, str]
    power: dict[str, str]
    police: dict[str, str]
    power_actions: list[dict[str, Any]]
    police_actions: list[dict[str, Any]]


@pytest.fixture
async def storm(client: httpx.AsyncClient, make_token: MakeToken) -> Storm:
    """柯桥区 at IV: both agencies act on their actions, a commander cancels one of
    power-company's, raises the response to III and lowers it again, and a condition is attested
    (an entry for commanders, not agencies)."""
    dispatcher = await make_token("dispatcher")
    power = await make_token("agency", agency="power-company")
    police = await make_token("agency", agency="public-security")
    commander = await make_token("commander", name="市指挥长", region="330600")
    event_id = (await post(client, dispatcher, report(county("330603", 200, 90))))["event_id"]

    def actions(headers: dict[str, str]) -> Any:
        return client.get(f"{API}/events/{event_id}/actions", headers=headers)

    power_actions = (await ok(await actions(power)))["items"]
    police_actions = (await ok(await actions(police)))["items"]
    first, second, third = (a["id"] for a in power_actions[:3])
    await ok(
        await client.post(
            f"{API}/actions/{first}/ack", json={"note": POWER_NOTES[0]}, headers=power
        )
    )
    await ok(
        await client.post(
            f"{API}/actions/{second}/complete", json={"note": POWER_NOTES[1]}, headers=power
        )
    )
    await ok(
        await client.post(
            f"{API}/actions/{third}/cancel", json={"reason": CANCELLED}, headers=commander
        )
    )
    police_first = police_actions[0]["id"]
    await ok(
        await client.post(
            f"{API}/actions/{police_first}/ack", json={"note": POLICE_NOTE}, headers=police
        )
    )
    for level in ("III", "IV"):
        body = {"level": level, "reason": "台风路径变化"}
        await ok(await client.post(f"{API}/events/{event_id}/level", json=body, headers=commander))
    attested = {"condition": "grid_stable", "evidence": "主网架恢复"}
    await ok(
        await client.post(
            f"{API}/events/{event_id}/attestations", json=attested, headers=dispatcher
        ),
        201,
    )
    return Storm(event_id, dispatcher, power, police, power_actions, police_actions)


async def timeline(
    client: httpx.AsyncClient, headers: dict[str, str], event_id: str, limit: int = 200
) -> list[dict[str, Any]]:
    """Every entry, page by page."""
    entries: list[dict[str, Any]] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": limit} | ({"cursor": cursor} if cursor else {})
        page = await ok(
            await client.get(f"{API}/events/{event_id}/timeline", params=params, headers=headers)
        )
        assert len(page["items"]) <= limit
        entries += page["items"]
        cursor = page["next"]
        if cursor is None:
            return entries
        assert len(page["items"]) == limit  # a page before the last is full


def keys_of(actions: list[dict[str, Any]]) -> set[str]:
    return {a["key"] for a in actions}


async def test_an_agency_sees_the_event_and_its_own_actions_only(
    client: httpx.AsyncClient, storm: Storm
) -> None:
    seen = await timeline(client, storm.police, storm.event_id)
    text = str(seen)

    police_keys = keys_of(storm.police_actions)
    kinds = [e["kind"] for e in seen]
    assert {
        "event_opened",
        "report",
        "response_started",
        "response_raised",
        "response_lowered",
    } <= set(kinds)
    assert set(kinds) <= EVENT_KINDS | {"actions_dispatched", "action_acknowledged"}
    [dispatched] = [e for e in seen if e["kind"] == "actions_dispatched"]
    assert set(dispatched["data"]["keys"]) == police_keys
    assert dispatched["summary"] == f"{len(police_keys)} action(s) of public-security dispatched"
    [acknowledged] = [e for e in seen if e["kind"] == "action_acknowledged"]
    assert acknowledged["data"] == {
        "action_id": storm.police_actions[0]["id"],
        "agency": "public-security",
        "key": storm.police_actions[0]["key"],
        "note": POLICE_NOTE,
    }
    # nothing of power-company's: no action, note, key or cancellation; no attestation
    assert "power-company" not in text, [e for e in seen if "power-company" in str(e)]
    assert all(note not in text for note in POWER_NOTES) and CANCELLED not in text
    assert "attestation" not in kinds


async def test_another_agency_sees_its_own_and_not_the_first_ones(
    client: httpx.AsyncClient, storm: Storm
) -> None:
    seen = await timeline(client, storm.power, storm.event_id)
    text = str(seen)

    by_kind = {e["kind"]: e for e in seen}
    assert by_kind["action_acknowledged"]["data"]["note"] == POWER_NOTES[0]
    assert by_kind["action_completed"]["data"]["note"] == POWER_NOTES[1]
    assert by_kind["action_cancelled"]["data"]["reason"] == CANCELLED
    power_keys = keys_of(storm.power_actions)
    dispatched = [e for e in seen if e["kind"] == "actions_dispatched"]
    assert dispatched and all(set(e["data"]["keys"]) <= power_keys for e in dispatched)
    assert "public-security" not in text and POLICE_NOTE not in text


async def test_everyone_else_sees_every_entry(client: httpx.AsyncClient, storm: Storm) -> None:
    seen = await timeline(client, storm.dispatcher, storm.event_id)
    text = str(seen)

    assert all(note in text for note in (*POWER_NOTES, POLICE_NOTE, CANCELLED))
    assert "attestation" in {e["kind"] for e in seen}
    dispatched = {k for e in seen if e["kind"] == "actions_dispatched" for k in e["data"]["keys"]}
    assert keys_of(storm.police_actions) | keys_of(storm.power_actions) <= dispatched


@pytest.mark.parametrize("limit", [1, 2, 3])
async def test_an_agencys_pages_are_whole_when_entries_are_left_out(
    client: httpx.AsyncClient, storm: Storm, monkeypatch: pytest.MonkeyPatch, limit: int
) -> None:
    """Read a chunk of limit + 1 rows at a time, so that the entries it does not see (every
    power-company entry lies between two of its own) fall across chunk and page bounds."""
    whole = await timeline(client, storm.police, storm.event_id)
    monkeypatch.setattr(events, "TIMELINE_CHUNK", 1)

    paged = await timeline(client, storm.police, storm.event_id, limit=limit)

    assert paged == whole
    seqs = [e["seq"] for e in paged]
    assert seqs == sorted(set(seqs))


async def test_a_handed_over_duty_is_seen_by_the_hq_that_holds_it(
    client: httpx.AsyncClient, make_token: MakeToken
) -> None:
    """Plan 2.2: 上虞区 reaches IV too, the city HQ leads, and 柯桥区's HQ hands over its pending
    duties. The city HQ sees the hand-over with its keys; 柯桥区's HQ keeps seeing the duty it
    took up, not those it gave away."""
    dispatcher = await make_token("dispatcher")
    keqiao = await make_token("agency", agency="hq-330603")
    city = await make_token("agency", agency="hq-city")
    event_id = (await post(client, dispatcher, report(county("330603", 200, 90))))["event_id"]
    own = (await ok(await client.get(f"{API}/events/{event_id}/actions", headers=keqiao)))["items"]
    kept = own[0]
    await ok(await client.post(f"{API}/actions/{kept['id']}/ack", json={}, headers=keqiao))
    await post(client, dispatcher, report(county("330604", 180, 80), event_id=event_id, minutes=5))

    city_view = await timeline(client, city, event_id)
    keqiao_view = await timeline(client, keqiao, event_id)

    [handed] = [e for e in city_view if e["kind"] == "actions_handed_over"]
    # the lead's pending duties move; the county's own (commanding its area) stay with it
    after = await ok(await client.get(f"{API}/events/{event_id}/actions", headers=keqiao))
    moved = {a["key"] for a in own} - {a["key"] for a in after["items"]}
    assert moved and kept["key"] not in moved
    assert set(handed["data"]["keys"]) == moved
    assert (
        handed["summary"] == f"{len(moved)} pending duty(ies) of the leading HQ handed to hq-city"
    )
    assert "leading_hq_changed" in {e["kind"] for e in keqiao_view}
    assert "actions_handed_over" not in {e["kind"] for e in keqiao_view}
    dispatched = {
        k for e in keqiao_view if e["kind"] == "actions_dispatched" for k in e["data"]["keys"]
    }
    assert dispatched == {a["key"] for a in after["items"]}
    assert kept["key"] in dispatched


async def test_the_receiving_unit_sees_the_report_it_received(
    client: httpx.AsyncClient, make_token: MakeToken
) -> None:
    """Plan 4 at IV in 柯桥区: power-company reports to the county (its HQ verifies), the county
    reports on to 市经信委. Each receiver sees the report it received, with its note; nobody
    else does, and 市经信委 does not see the county's own verification."""
    dispatcher = await make_token("dispatcher")
    event_id = (await post(client, dispatcher, report(county("330603", 200, 90))))["event_id"]
    power = await make_token("agency", agency="power-company")
    county_hq = await make_token("agency", agency="hq-330603")
    economy = await make_token("agency", agency="economy-it")
    police = await make_token("agency", agency="public-security")

    async def complete(headers: dict[str, str], key: str, note: str) -> str:
        items = await ok(await client.get(f"{API}/events/{event_id}/actions", headers=headers))
        [action] = [a for a in items["items"] if a["key"] == key]
        path = f"{API}/actions/{action['id']}/complete"
        await ok(await client.post(path, json={"note": note}, headers=headers))
        return str(action["id"])

    def reports(seen: list[dict[str, Any]]) -> dict[str, str]:
        return {
            e["data"]["action_id"]: e["data"]["note"]
            for e in seen
            if e["kind"] == "action_completed"
        }

    first = await complete(power, "reporting.power-company.report-local-authority", "10kV 线路跳闸")
    assert reports(await timeline(client, county_hq, event_id)) == {first: "10kV 线路跳闸"}
    verified = await complete(county_hq, "reporting.local-power-authority.verify", "核实为一般")
    onward = await complete(
        county_hq, "reporting.local-power-authority.report-general", "柯桥区一般停电事件"
    )
    assert reports(await timeline(client, economy, event_id)) == {onward: "柯桥区一般停电事件"}
    assert set(reports(await timeline(client, county_hq, event_id))) == {first, verified, onward}
    assert reports(await timeline(client, police, event_id)) == {}
