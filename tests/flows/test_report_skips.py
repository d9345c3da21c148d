"""越级上报 (issue 18, item 8): plan 4 "初判为一般大面积停电事件，事发地电力运行主管部门要…向上级
电力运行主管部门和同级政府报告…必要时可越级上报". A county's report at IV may go straight to the
receivers above 市经信委 (省发改委, 市政府), with the reason, as it is completed: their receipts go
out now, their clocks from now, 市经信委's never; the timeline says who skipped, to whom, why. Any
other skip is 422 naming the rule, and changes nothing. Through the API, on SQLite and
PostgreSQL.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import httpx

from tests.helpers import T0, Clock, MakeToken, county, event_actions, post, report

API = "/api/v1"
K = "330603"
POWER = "reporting.power-company.report-local-authority"
VERIFY = "reporting.local-power-authority.verify"
GENERAL = "reporting.local-power-authority.report-general"
COUNTY_UP = "reporting.county-hq.report-major"
E_RECEIVES = "reporting.economy-it.receive-general-report"
DRC_SKIPPED = "reporting.provincial-drc.receive-skipped-report"
CITY_SKIPPED = "reporting.hq-city.receive-skipped-report"
REASON = "市经信委值班电话无法接通，停电范围仍在扩大"


async def links(client: httpx.AsyncClient, headers: dict[str, str], event_id: str) -> Any:
    return [a for a in await event_actions(client, headers, event_id) if a["run"]]


async def walk(
    client: httpx.AsyncClient, make_token: MakeToken, observer: dict[str, str], event_id: str
) -> dict[str, Any]:
    """Plan 4's chain up to the authority's report: the power company's report and the
    verification done; the report (pending) and its unit's token."""
    for key in (POWER, VERIFY):
        [action] = [a for a in await links(client, observer, event_id) if a["key"] == key]
        unit = await make_token("agency", agency=action["agency"])
        done = await client.post(f"{API}/actions/{action['id']}/complete", json={}, headers=unit)
        assert done.status_code == 200, done.text
    [up] = [
        a
        for a in await links(client, observer, event_id)
        if a["key"] in (GENERAL, COUNTY_UP) and a["state"] == "pending"
    ]
    up["headers"] = await make_token("agency", agency=up["agency"])
    return dict(up)


async def test_a_countys_report_goes_straight_to_the_province_and_the_city(
    client: httpx.AsyncClient, make_token: MakeToken, clock: Clock
) -> None:
    dispatcher = await make_token("dispatcher")
    observer = await make_token("observer")
    clock.set(0)
    event_id = (await post(client, dispatcher, report(county(K, 200, 90))))["event_id"]
    clock.set(20)
    up = await walk(client, make_token, observer, event_id)
    assert (up["key"], up["agency"]) == (GENERAL, f"hq-{K}")
    clock.set(45)
    skipped = await client.post(
        f"{API}/actions/{up['id']}/complete",
        json={
            "note": "已直接报省发改委、市政府",
            "skip_to": ["provincial-drc", "hq-city"],
            "skip_reason": REASON,
        },
        headers=up["headers"],
    )
    assert skipped.status_code == 200, skipped.text
    assert skipped.json()["state"] == "done"

    after = {a["key"]: a for a in await links(client, observer, event_id)}
    assert E_RECEIVES not in after  # 市经信委, skipped, receives nothing in this run
    for key, agency in ((DRC_SKIPPED, "provincial-drc"), (CITY_SKIPPED, "hq-city")):
        receipt = after[key]
        assert (receipt["agency"], receipt["state"], receipt["run"]) == (agency, "pending", 1)
        assert datetime.fromisoformat(receipt["dispatched_at"]) == T0 + timedelta(minutes=45)
        assert datetime.fromisoformat(receipt["due_at"]) == T0 + timedelta(minutes=75)
        assert receipt["title"] == "收到区、县(市)电力运行主管部门越级上报的报告，确认接报"

    entries = (
        await client.get(f"{API}/events/{event_id}/timeline?limit=200", headers=observer)
    ).json()["items"]
    [told] = [e for e in entries if e["kind"] == "action_completed" and e["data"]["key"] == GENERAL]
    assert told["data"]["skip_to"] == ["provincial-drc", "hq-city"]
    assert told["data"]["skipped"] == ["economy-it"]
    assert told["text"].endswith(f"，越过市经信委越级上报至省发改委、市应急指挥部：{REASON}")
    assert told["actor"].startswith("agency:")
    # 省发改委 sees the report it received, and the chain goes on from there: its receipt,
    # acknowledged, is done
    drc = await make_token("agency", agency="provincial-drc")
    seen = (await client.get(f"{API}/events/{event_id}/timeline", headers=drc)).json()["items"]
    assert told["seq"] in {e["seq"] for e in seen}
    received = await client.post(
        f"{API}/actions/{after[DRC_SKIPPED]['id']}/ack", json={}, headers=drc
    )
    assert received.json()["state"] == "done"


async def test_a_skip_the_plan_does_not_allow_is_refused_and_changes_nothing(
    client: httpx.AsyncClient, make_token: MakeToken
) -> None:
    dispatcher = await make_token("dispatcher")
    observer = await make_token("observer")
    general = (await post(client, dispatcher, report(county(K, 200, 90))))["event_id"]
    up = await walk(client, make_token, observer, general)

    async def refused(action: dict[str, Any], body: dict[str, Any], status: int = 422) -> Any:
        answer = await client.post(
            f"{API}/actions/{action['id']}/complete", json=body, headers=action["headers"]
        )
        assert answer.status_code == status, answer.text
        return answer.json()

    # 市经信委 is the level skipped, not one to skip to
    wrong = await refused(up, {"skip_to": ["economy-it"], "skip_reason": REASON})
    assert (wrong["rule"], wrong["errors"][0]["field"]) == ("plan 4", "skip_to")
    assert "省发改委、市应急指挥部" in wrong["detail"]
    # a skip says why, and where to
    why = await refused(up, {"skip_to": ["provincial-drc"]})
    assert (why["rule"], why["errors"][0]["field"]) == ("plan 4", "skip_reason")
    where = await refused(up, {"skip_reason": REASON})
    assert where["errors"][0]["field"] == "skip_to"
    twice = await refused(up, {"skip_to": ["hq-city", "hq-city"], "skip_reason": REASON})
    assert "skip_to" in twice["errors"][0]["field"]
    # nothing half-written: the report is still owed, nobody else received anything
    state = {(a["key"], a["state"]) for a in await links(client, observer, general)}
    assert (GENERAL, "pending") in state
    assert not {key for key, _state in state} & {DRC_SKIPPED, CITY_SKIPPED, E_RECEIVES}
    # done, it can no longer skip
    done = await client.post(f"{API}/actions/{up['id']}/complete", json={}, headers=up["headers"])
    assert done.status_code == 200
    late = await refused(up, {"skip_to": ["provincial-drc"], "skip_reason": REASON}, 409)
    assert late["state"] == "done"

    # at III the county reports to 市经信委 立即: the plan gives no skip there
    major = (await post(client, dispatcher, report(county("330624", 200, 130))))["event_id"]
    up = await walk(client, make_token, observer, major)
    assert up["key"] == COUNTY_UP
    no = await refused(up, {"skip_to": ["provincial-drc"], "skip_reason": REASON})
    assert (no["rule"], no["errors"][0]["field"]) == ("plan 4", "skip_to")
    # with no county named, 市经信委 reports to 省发改委 and 市政府 itself: no level to skip
    city = {"scope": "city", "region": "330600", "load_mw": 1000, "load_lost_mw": 300}
    whole = (await post(client, dispatcher, report(city)))["event_id"]
    up = await walk(client, make_token, observer, whole)
    assert (up["key"], up["agency"]) == (GENERAL, "economy-it")
    none = await refused(up, {"skip_to": ["provincial-drc"], "skip_reason": REASON})
    assert none["rule"] == "plan 4"
