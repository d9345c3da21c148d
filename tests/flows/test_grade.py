"""Plan 6 by the event's grade, and the decisions on the record (issue 18, items 4 and 5).

Plan 6.1 "根据事件分级，各级电力运行主管部门…进行评估": the evaluation and the investigation go to
the power authority of the event's grade (its peak level), whatever level the response was
lowered to; that authority reads the evaluation report. The start of a response says who decided,
and its end says which HQs were dissolved (plan 5.5 "相应应急指挥机构随即撤销").
"""

from __future__ import annotations

from typing import Any

import httpx

from tests.helpers import MakeToken, county, event_actions, event_list, post, report

API = "/api/v1"
KEQIAO = "330603"


def held(actions: list[dict[str, Any]], clause: str) -> set[tuple[str, str, str]]:
    return {(a["key"], a["agency"], a["state"]) for a in actions if a["clause"] == clause}


async def end(
    client: httpx.AsyncClient, dispatcher: dict[str, str], commander: dict[str, str], event: str
) -> None:
    back = report(county(KEQIAO, 200, 0), minutes=60) | {"event_id": event}
    await post(client, dispatcher, back)
    for condition in ("grid_stable", "hazard_removed", "secondary_handled"):
        attested = await client.post(
            f"{API}/events/{event}/attestations",
            json={"condition": condition, "evidence": "核实"},
            headers=commander,
        )
        assert attested.status_code == 201, attested.text
    ended = await client.post(f"{API}/events/{event}/terminate", json={}, headers=commander)
    assert ended.status_code == 200, ended.text


async def test_a_lowered_response_keeps_plan_6_with_the_grades_authority(
    client: httpx.AsyncClient, make_token: MakeToken
) -> None:
    """A 较大 outage whose response is lowered to IV is still 较大: 市经信委 keeps its
    investigation group, evaluates and investigates, and reads the evaluation; the county, the
    authority of a 一般 one, gets none of it."""
    dispatcher = await make_token("dispatcher")
    city = await make_token("commander", region="330600")
    observer = await make_token("observer")
    event = (await post(client, dispatcher, report(county(KEQIAO, 200, 130))))["event_id"]
    lowered = await client.post(
        f"{API}/events/{event}/level", json={"level": "IV", "reason": "负荷大部恢复"}, headers=city
    )
    assert lowered.status_code == 200, lowered.text
    group = "post-event.economy-it.investigation-group"
    assert held(await event_actions(client, observer, event), "6.2") == {
        (group, "economy-it", "pending")
    }
    await end(client, dispatcher, city, event)
    actions = await event_actions(client, observer, event)
    assert held(actions, "6.1") == {("post-event.economy-it.evaluation", "economy-it", "pending")}
    assert held(actions, "6.2") == {
        (group, "economy-it", "pending"),
        ("post-event.economy-it.investigation-report", "economy-it", "pending"),
    }
    authority = await make_token("agency", agency="economy-it")
    for suffix in ("", ".html"):
        answer = await client.get(f"{API}/events/{event}/evaluation{suffix}", headers=authority)
        assert answer.status_code == 200, answer.text
    county_hq = await make_token("agency", agency="hq-330603")
    refused = await client.get(f"{API}/events/{event}/evaluation", headers=county_hq)
    assert refused.status_code == 403
    assert refused.json()["rule"] == "plan 6.1"


async def test_a_higher_grade_takes_the_investigation_over(
    client: httpx.AsyncClient, make_token: MakeToken
) -> None:
    """A response raised to II by the province above a 一般 outage, then reported 较大: the grade
    rises to III, the county's investigation group gives way to 市经信委's."""
    dispatcher = await make_token("dispatcher")
    province = await make_token("commander", region="330000")
    observer = await make_token("observer")
    event = (await post(client, dispatcher, report(county(KEQIAO, 200, 90))))["event_id"]
    local_group = "post-event.local-power-authority.investigation-group"
    assert held(await event_actions(client, observer, event), "6.2") == {
        (local_group, "hq-330603", "pending")
    }
    raised = await client.post(
        f"{API}/events/{event}/level", json={"level": "II", "reason": "省里决定"}, headers=province
    )
    assert raised.status_code == 200, raised.text
    # the response's level is not the grade: the outage is still 一般
    assert held(await event_actions(client, observer, event), "6.2") == {
        (local_group, "hq-330603", "pending")
    }
    worse = report(county(KEQIAO, 200, 130), minutes=10) | {"event_id": event}
    assert (await post(client, dispatcher, worse))["response_level"] == "II"
    states = held(await event_actions(client, observer, event), "6.2")
    assert ("post-event.economy-it.investigation-group", "economy-it", "pending") in states
    assert not {s for s in states if s[1] == "hq-330603" and s[2] in ("pending", "acknowledged")}


async def test_the_start_says_who_decided_and_the_end_which_hqs_went(
    client: httpx.AsyncClient, make_token: MakeToken
) -> None:
    dispatcher = await make_token("dispatcher")
    city = await make_token("commander", region="330600")
    event = (await post(client, dispatcher, report(county(KEQIAO, 200, 130))))["event_id"]
    entries = await event_list(client, dispatcher, event, "timeline")
    started = next(e for e in entries if e["kind"] == "response_started")
    assert started["data"]["decided_by"] == "service"
    assert started["text"].startswith("信息报告达到III级 较大，系统按预案启动")
    # the city HQ records the government's consent to its formation (plan 2.1)
    formation = [
        a
        for a in await event_actions(client, dispatcher, event)
        if a["key"] == "response.hq-city.formation"
    ]
    assert [(a["agency"], a["clause"]) for a in formation] == [("hq-city", "2.1")]
    await end(client, dispatcher, city, event)
    entries = await event_list(client, dispatcher, event, "timeline")
    ended = next(e for e in entries if e["kind"] == "response_terminated")
    assert ended["data"]["dissolved"] == ["330600", "330603"]
    assert ended["text"].endswith(
        "；绍兴市大面积停电事件应急指挥部、柯桥区大面积停电事件应急指挥部随即撤销"
    ), ended["text"]

    # a commander's start at discretion says so
    other = (await post(client, dispatcher, report(county("330624", 100, 10))))["event_id"]
    xinchang = await make_token("commander", region="330624", name="新昌县值班长")
    begun = await client.post(
        f"{API}/events/{other}/response", json={"level": "IV", "reason": "预防"}, headers=xinchang
    )
    assert begun.status_code == 200, begun.text
    entries = await event_list(client, dispatcher, other, "timeline")
    started = next(e for e in entries if e["kind"] == "response_started")
    assert started["data"]["decided_by"] == "commander"
    assert started["text"].startswith("新昌县值班长决定启动IV级 一般应急响应")
