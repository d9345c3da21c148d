"""The moments the plan sets duties going at, beyond a response's start (issue 10): monitoring
(plan 3.2.1), a warning's own steps (3.2.2.1), a county hit anew (2.2), the receiving end of plan
4's reports, plan 6.4's reconstruction only when needed, and what a dismissal ends."""

from __future__ import annotations

from typing import Any

import httpx

from tests.helpers import MakeToken, county, event_actions, post, report

API = "/api/v1"
MONITORING = {
    "monitoring.power-company.monitor-facilities",
    "monitoring.power-company.share-information",
    "monitoring.power-company.assess-impact",
}


def pairs(found: list[dict[str, Any]], prefix: str = "") -> set[tuple[str, str]]:
    return {(a["key"], a["agency"]) for a in found if a["key"].startswith(prefix)}


async def test_an_event_opened_in_monitoring_sets_the_monitoring_going(
    client: httpx.AsyncClient, make_token: MakeToken
) -> None:
    """Plan 3.2.1: the power company monitors, shares with the departments, assesses; the
    monitoring goes on into a response and ends with it; a dismissal ends it too."""
    dispatcher = await make_token("dispatcher")
    city = await make_token("commander", region="330600")
    quiet = await post(client, dispatcher, report(county("330603", 200, 30)))
    assert quiet["state"] == "monitoring"
    found = await event_actions(client, dispatcher, quiet["event_id"])
    assert pairs(found) == {(key, "power-company") for key in MONITORING}
    assert {(a["phase"], a["clause"], a["level"]) for a in found} == {("monitoring", "3.2.1", None)}
    # a report at IV: the response starts, the monitoring goes on
    await post(
        client,
        dispatcher,
        report(county("330603", 200, 90), minutes=5) | {"event_id": quiet["event_id"]},
    )
    watching = [
        a
        for a in await event_actions(client, dispatcher, quiet["event_id"])
        if a["phase"] == "monitoring"
    ]
    assert {a["state"] for a in watching} == {"pending"}

    # another event in monitoring is dismissed: its monitoring ends with it
    other = await post(client, dispatcher, report(county("330624", 100, 10)))
    dismissed = await client.post(
        f"{API}/events/{other['event_id']}/dismiss", json={"reason": "误报"}, headers=city
    )
    assert dismissed.status_code == 200
    ended = await event_actions(client, dispatcher, other["event_id"])
    assert ended and {(a["state"], a["cancel_reason"]) for a in ended} == {
        ("cancelled", "event dismissed: 误报")
    }
    # an event that opens straight into a response is monitored too (issue 18: plan 3.2.1 goes
    # with every event), beside the response's duties
    straight = await post(client, dispatcher, report(county("330604", 200, 90)))
    straight_actions = await event_actions(client, dispatcher, straight["event_id"])
    assert pairs(straight_actions, "monitoring.") == {
        (key, "power-company")
        for key in (
            "monitoring.power-company.monitor-facilities",
            "monitoring.power-company.share-information",
            "monitoring.power-company.assess-impact",
        )
    }
    assert pairs(straight_actions, "response.county-hq.command")


async def test_a_warnings_own_steps(client: httpx.AsyncClient, make_token: MakeToken) -> None:
    """Plan 3.2.2.1: at the proposal the power authority judges it and the grid company tells
    the important users; once published the authority tells the other departments of its level."""
    dispatcher = await make_token("dispatcher")
    city = await make_token("commander", region="330600")
    xinchang = await make_token("commander", region="330624")
    # one county's area: its authority (the county's HQ stands for it) judges
    one = (
        await client.post(
            f"{API}/warnings",
            json={"area": ["330624"], "headline": "台风", "description": "新昌县"},
            headers=dispatcher,
        )
    ).json()
    assert pairs(await event_actions(client, dispatcher, one["event_id"]), "warning.") == {
        ("warning.local-power-authority.assess-proposal", "hq-330624"),
        ("warning.power-company.notify-important-users", "power-company"),
    }
    # two counties: the city's authority, 市经信委, judges; the city publishes and 市经信委 tells
    # the other city departments
    two = (
        await client.post(
            f"{API}/warnings",
            json={"area": ["330624", "330683"], "headline": "台风", "description": "南部"},
            headers=dispatcher,
        )
    ).json()
    assert two["event_id"] == one["event_id"]  # 新昌县 is in the open event: one outage, one event
    published = await client.post(f"{API}/warnings/{two['id']}/publish", json={}, headers=city)
    assert published.status_code == 200
    warned = pairs(await event_actions(client, dispatcher, two["event_id"]), "warning.")
    assert ("warning.local-power-authority.notify-departments", "economy-it") in warned
    assert ("warning.leading-hq.linkage-mechanism", "hq-city") in warned
    # 新昌县's own warning, published by its HQ, brings no second set of the same duties
    await client.post(f"{API}/warnings/{one['id']}/publish", json={}, headers=xinchang)
    assert pairs(await event_actions(client, dispatcher, two["event_id"]), "warning.") == warned


async def test_a_county_hit_anew_gets_its_duties(
    client: httpx.AsyncClient, make_token: MakeToken
) -> None:
    """Plan 2.2: at III the city leads; 上虞区 hit later sets up its HQ under it, and the two
    counties cooperate across their border."""
    dispatcher = await make_token("dispatcher")
    event_id = (await post(client, dispatcher, report(county("330603", 200, 130))))["event_id"]
    before = pairs(await event_actions(client, dispatcher, event_id), "response.county-hq.")
    assert before == {("response.county-hq.command", "hq-330603")}
    await post(
        client, dispatcher, report(county("330604", 180, 20), minutes=10) | {"event_id": event_id}
    )
    after = pairs(await event_actions(client, dispatcher, event_id), "response.county-hq.")
    assert after == {
        ("response.county-hq.command", "hq-330603"),
        ("response.county-hq.command", "hq-330604"),
        ("response.county-hq.cross-region-cooperation", "hq-330603"),
        ("response.county-hq.cross-region-cooperation", "hq-330604"),
    }


async def test_the_receiving_unit_sees_the_report_it_received(
    client: httpx.AsyncClient, make_token: MakeToken
) -> None:
    """Plan 4 (design § Reporting chain): 省发改委 sees nothing of a III until 市经信委's report
    reaches it; then it holds the report to acknowledge, due from then, and sees the event."""
    dispatcher = await make_token("dispatcher")
    drc = await make_token("agency", agency="provincial-drc")
    grid = {"scope": "city", "region": "330600", "load_mw": 1000, "load_lost_mw": 500}
    event_id = (await post(client, dispatcher, report(grid)))["event_id"]
    assert (await client.get(f"{API}/events/{event_id}", headers=drc)).status_code == 404
    for agency, key in (
        ("power-company", "reporting.power-company.report-local-authority"),
        ("economy-it", "reporting.local-power-authority.verify"),
        ("economy-it", "reporting.economy-it.report-city-government-and-provincial-drc"),
    ):
        unit = await make_token("agency", agency=agency)
        [link] = [a for a in await event_actions(client, unit, event_id) if a["key"] == key]
        done = await client.post(f"{API}/actions/{link['id']}/complete", json={}, headers=unit)
        assert done.status_code == 200, done.text
    [received] = await event_actions(client, drc, event_id)
    assert received["key"] == "reporting.provincial-drc.receive-major-report"
    assert received["dispatched_at"] >= done.json()["completed_at"]
    assert (await client.get(f"{API}/events/{event_id}", headers=drc)).status_code == 200


async def test_reconstruction_only_when_the_grid_needs_it(
    client: httpx.AsyncClient, make_token: MakeToken
) -> None:
    """Plan 6.4 "需对电网网架结构和设施设备进行修复或重建的": the commander who ends the response
    says whether it is needed."""
    dispatcher = await make_token("dispatcher")
    keqiao = await make_token("commander", region="330603")
    ended: dict[bool, set[str]] = {}
    for needed in (False, True):
        region = "330603"
        event_id = (await post(client, dispatcher, report(county(region, 200, 90))))["event_id"]
        await post(
            client, dispatcher, report(county(region, 200, 0), minutes=60) | {"event_id": event_id}
        )
        for condition in ("grid_stable", "hazard_removed", "secondary_handled"):
            await client.post(
                f"{API}/events/{event_id}/attestations",
                json={"condition": condition, "evidence": "核实"},
                headers=keqiao,
            )
        body = {"reason": "恢复", "reconstruction": True} if needed else {}
        answer = await client.post(f"{API}/events/{event_id}/terminate", json=body, headers=keqiao)
        assert answer.status_code == 200, answer.text
        ended[needed] = {
            a["key"]
            for a in await event_actions(client, dispatcher, event_id)
            if a["clause"] == "6.4"
        }
    assert ended[False] == set()
    assert ended[True] == {
        "post-event.local-government.reconstruction-plan",
        "post-event.power-company.reconstruction",
    }
