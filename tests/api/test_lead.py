"""POST /events/{id}/lead: a higher HQ takes the lead of a III or IV, the level kept (plan 5.1
"跨设区市的较大、一般大面积停电事件，必要时由省政府组织指挥应对工作"; plan 2.2 必要时由市政府
组织指挥)."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from tests.helpers import MakeToken, county, event_actions, post, report

API = "/api/v1"


async def take(
    client: httpx.AsyncClient, headers: dict[str, str], event_id: str, body: dict[str, Any]
) -> httpx.Response:
    return await client.post(f"{API}/events/{event_id}/lead", json=body, headers=headers)


async def test_the_province_takes_a_iii_from_the_city(
    client: httpx.AsyncClient, make_token: MakeToken
) -> None:
    dispatcher = await make_token("dispatcher")
    province = await make_token("commander", name="省指挥长", region="330000")
    city = await make_token("commander", region="330600")
    hq_city = await make_token("agency", agency="hq-city")
    event_id = (await post(client, dispatcher, report(county("330603", 200, 130))))["event_id"]
    before = [
        a for a in await event_actions(client, dispatcher, event_id) if ".leading-hq." in a["key"]
    ]
    assert before and {a["agency"] for a in before} == {"hq-city"}
    kept = before[0]
    acked = await client.post(f"{API}/actions/{kept['id']}/ack", json={}, headers=hq_city)
    assert acked.status_code == 200

    answer = await take(client, province, event_id, {"region": "330000", "reason": "跨设区市停电"})

    assert answer.status_code == 200, answer.text
    taken = answer.json()
    assert (taken["response_level"], taken["level"]) == ("III", "III")  # the level is kept
    assert taken["leading_hq"] == {"region": "330000", "name": "浙江省大面积停电事件应急指挥部"}
    after = {a["key"]: a for a in await event_actions(client, dispatcher, event_id)}
    # the pending duties of the leading HQ go to the province; one taken up stays with the city
    assert after[kept["key"]]["agency"] == "hq-city"
    moved = [after[a["key"]] for a in before if a["key"] != kept["key"]]
    assert moved and {a["agency"] for a in moved} == {"hq-province"}
    timeline = (await client.get(f"{API}/events/{event_id}/timeline", headers=dispatcher)).json()
    changed = [e for e in timeline["items"] if e["kind"] == "leading_hq_changed"]
    assert changed[-1]["clause"] == "5.1"
    assert changed[-1]["data"] == {
        "leading_hq": "330000",
        "previous": "330600",
        "reason": "跨设区市停电",
    }
    assert "省指挥长" in changed[-1]["actor"]
    # the province ends it now (plan 5.5); the city no longer may
    refused = await client.post(f"{API}/events/{event_id}/terminate", json={}, headers=city)
    assert refused.status_code == 403
    # a report that rises to II keeps the province; one back at III does not hand it down
    city_grid = {"scope": "city", "region": "330600", "load_mw": 800, "load_lost_mw": 500}
    risen = await post(client, dispatcher, report(city_grid, minutes=5, event_id=event_id))
    assert (risen["response_level"], risen["leading_hq"]["region"]) == ("II", "330000")


async def test_a_rise_by_report_keeps_a_taken_lead(
    client: httpx.AsyncClient, make_token: MakeToken
) -> None:
    dispatcher = await make_token("dispatcher")
    province = await make_token("commander", region="330000")
    event_id = (await post(client, dispatcher, report(county("330603", 200, 90))))["event_id"]
    taken = await take(client, province, event_id, {"region": "330000", "reason": "跨市"})
    assert taken.json()["leading_hq"]["region"] == "330000"
    risen = await post(
        client, dispatcher, report(county("330603", 200, 130), minutes=5, event_id=event_id)
    )
    assert (risen["response_level"], risen["leading_hq"]["region"]) == ("III", "330000")


async def test_the_city_takes_a_countys_iv(
    client: httpx.AsyncClient, make_token: MakeToken
) -> None:
    dispatcher = await make_token("dispatcher")
    city = await make_token("commander", region="330600")
    keqiao = await make_token("commander", region="330603")
    event_id = (await post(client, dispatcher, report(county("330603", 200, 90))))["event_id"]
    answer = await take(client, city, event_id, {"region": "330600", "reason": "需市级协调"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["leading_hq"]["region"] == "330600"
    held = {a["key"]: a["agency"] for a in await event_actions(client, dispatcher, event_id)}
    assert held["response.leading-hq.consultation"] == "hq-city"
    # 柯桥区's HQ keeps its own area's duties (plan 2.2, 2.3)
    assert held["response.county-hq.command"] == "hq-330603"
    assert held["response.county-hq.on-site-hq"] == "hq-330603"
    # and no longer commands the response
    lowered = await client.post(
        f"{API}/events/{event_id}/level", json={"level": "IV", "reason": "x"}, headers=keqiao
    )
    assert lowered.status_code == 403


async def test_who_may_take_the_lead(client: httpx.AsyncClient, make_token: MakeToken) -> None:
    """403 for who the caller is, 404 for the event, 403 for jurisdiction, 409 for the state
    and the lead, 422 for the body."""
    dispatcher = await make_token("dispatcher")
    province = await make_token("commander", region="330000")
    city = await make_token("commander", region="330600")
    keqiao = await make_token("commander", region="330603")
    agency = await make_token("agency", agency="hq-province")
    body = {"region": "330000", "reason": "跨设区市停电"}
    event_id = (await post(client, dispatcher, report(county("330603", 200, 130))))["event_id"]

    assert (await take(client, dispatcher, event_id, body)).status_code == 403
    assert (await take(client, agency, event_id, body)).status_code == 403
    assert (await take(client, province, str(uuid.uuid4()), body)).status_code == 404
    # the city may not hand the lead to the province, nor 柯桥区 take it
    assert (await take(client, city, event_id, body)).status_code == 403
    own = {"region": "330603", "reason": "r"}
    assert (await take(client, keqiao, event_id, own)).status_code == 409  # below the city
    same = await take(client, city, event_id, {"region": "330600", "reason": "r"})
    assert same.status_code == 409 and "leads already" in same.json()["detail"]
    assert (
        await take(client, province, event_id, {"region": "330699", "reason": "r"})
    ).status_code == 422
    assert (await take(client, province, event_id, {"region": "330000"})).status_code == 422
    assert (await take(client, province, event_id, {**body, "extra": 1})).status_code == 422

    # I and II are the province's already
    city_grid = {"scope": "city", "region": "330600", "load_mw": 800, "load_lost_mw": 500}
    await post(client, dispatcher, report(city_grid, minutes=5, event_id=event_id))
    at_two = await take(client, province, event_id, body)
    assert at_two.status_code == 409 and "province HQ's already" in at_two.json()["detail"]

    # an event not in response: 409 naming the state and its triggers
    quiet = (await post(client, dispatcher, report(county("330604", 200, 10))))["event_id"]
    refused = await take(client, province, quiet, body)
    assert refused.status_code == 409
    assert refused.json()["state"] == "monitoring"
    assert "take_lead" not in refused.json()["allowed"]
