"""Plan 5.5's key-area and important-city rule through HTTP, on SQLite and PostgreSQL: GET
termination-check and POST terminate hold 越城区 (330602, regions.yaml's key area) and 诸暨市
(330681, an important city) to 90% once a report shows them losing load (受停电影响的)."""

from __future__ import annotations

from typing import Any

import httpx

from tests.helpers import MakeToken, county, post, report

API = "/api/v1"
YUECHENG = "330602"
ZHUJI = "330681"


async def attest_all_but_load(
    client: httpx.AsyncClient, headers: dict[str, str], event_id: str
) -> None:
    for condition in ("grid_stable", "hazard_removed", "secondary_handled"):
        attested = await client.post(
            f"{API}/events/{event_id}/attestations",
            json={"condition": condition, "evidence": "现场核实"},
            headers=headers,
        )
        assert attested.status_code == 201, attested.text


async def load_condition(
    client: httpx.AsyncClient, headers: dict[str, str], event_id: str
) -> tuple[bool, dict[str, Any]]:
    """``can_terminate`` and the load_restored condition of GET termination-check."""
    check = await client.get(f"{API}/events/{event_id}/termination-check", headers=headers)
    assert check.status_code == 200, check.text
    body = check.json()
    [load] = [c for c in body["conditions"] if c["key"] == "load_restored"]
    return body["can_terminate"], load


async def test_yuecheng_below_90_percent_holds_the_response_until_exactly_90(
    client: httpx.AsyncClient, make_token: MakeToken
) -> None:
    dispatcher = await make_token("dispatcher")
    city = await make_token("commander", region="330600")
    # 越城区 and 柯桥区 both lose half their load: two counties at IV, the city HQ leads
    first = await post(
        client, dispatcher, report(county(YUECHENG, 200, 100), county("330603", 400, 200))
    )
    event_id = first["event_id"]
    assert (first["state"], first["leading_hq"]["region"]) == ("response", "330600")
    await attest_all_but_load(client, city, event_id)

    # 柯桥区 wholly back, 越城区 at 89.9999990%: overall 96.7%, far above 80%
    await post(
        client,
        dispatcher,
        report(county(YUECHENG, 200, "10.000001"), county("330603", 400, 0), minutes=60)
        | {"event_id": event_id},
    )
    can_terminate, load = await load_condition(client, city, event_id)
    assert can_terminate is False
    assert load["met"] is False
    assert load["figures"]["overall"] >= 0.8
    assert 0.8999 < load["figures"]["key_areas"][YUECHENG] < 0.9
    assert f"key area 越城区 ({YUECHENG}) 89.9% (< 90%)" in load["evidence"]
    refused = await client.post(f"{API}/events/{event_id}/terminate", json={}, headers=city)
    assert refused.status_code == 409, refused.text
    problem = refused.json()
    assert [u["key"] for u in problem["unmet"]] == ["load_restored"]
    assert YUECHENG in problem["unmet"][0]["evidence"]
    assert problem["rule"] == "plan 5.5"
    detail = (await client.get(f"{API}/events/{event_id}", headers=city)).json()
    assert detail["state"] == "response"

    # 越城区 at exactly 90% (以上 includes the number): the condition is met, the response ends
    await post(
        client,
        dispatcher,
        report(county(YUECHENG, 200, 10), minutes=120) | {"event_id": event_id},
    )
    can_terminate, load = await load_condition(client, city, event_id)
    assert (can_terminate, load["met"]) == (True, True), load
    assert load["figures"]["key_areas"] == {YUECHENG: 0.9}
    assert f"key area 越城区 ({YUECHENG}) 90.0% (≥ 90%)" in load["evidence"]
    ended = await client.post(f"{API}/events/{event_id}/terminate", json={}, headers=city)
    assert ended.status_code == 200, ended.text
    assert ended.json()["state"] == "terminated"


async def test_an_event_that_never_named_yuecheng_is_not_held_to_it(
    client: httpx.AsyncClient, make_token: MakeToken
) -> None:
    dispatcher = await make_token("dispatcher")
    keqiao = await make_token("commander", region="330603")
    event_id = (await post(client, dispatcher, report(county("330603", 200, 100))))["event_id"]
    await attest_all_but_load(client, keqiao, event_id)
    # 80% exactly over the one county reported; 越城区 appears in no report
    await post(
        client, dispatcher, report(county("330603", 200, 20), minutes=60) | {"event_id": event_id}
    )

    can_terminate, load = await load_condition(client, keqiao, event_id)

    assert (can_terminate, load["met"]) == (True, True), load
    assert load["figures"] == {"overall": 0.8, "key_areas": {}, "important_cities": {}}
    assert "key area" not in load["evidence"]
    ended = await client.post(f"{API}/events/{event_id}/terminate", json={}, headers=keqiao)
    assert ended.status_code == 200, ended.text


async def test_a_city_wide_event_holds_only_the_key_areas_its_reports_show_hit(
    client: httpx.AsyncClient, make_token: MakeToken
) -> None:
    """Reported at city scope only, the event shows no loss in 越城区: it is not 受停电影响的,
    and the city's 95% alone decides (issue 18: it was demanded before). Once a report shows
    越城区 losing load, its own figures decide."""
    dispatcher = await make_token("dispatcher")
    city = await make_token("commander", region="330600")
    grid = {"scope": "city", "region": "330600", "load_mw": 1000, "load_lost_mw": 300}
    event_id = (await post(client, dispatcher, report(grid)))["event_id"]
    await attest_all_but_load(client, city, event_id)
    back = {**grid, "load_lost_mw": 15}  # 95% back over the city
    await post(client, dispatcher, report(back, minutes=60) | {"event_id": event_id})

    can_terminate, load = await load_condition(client, city, event_id)
    assert (can_terminate, load["met"]) == (True, True), load
    assert load["figures"]["key_areas"] == {}
    assert "key area" not in load["evidence"]

    # 越城区 reported at its worst (10 of 100 MW lost), then 89% back: held to 90%, short
    worst = report(county(YUECHENG, 100, 10), minutes=0) | {"event_id": event_id}
    await post(client, dispatcher, worst)
    now = report(back, county(YUECHENG, 100, "1.1"), minutes=90) | {"event_id": event_id}
    await post(client, dispatcher, now)
    can_terminate, load = await load_condition(client, city, event_id)
    assert (can_terminate, load["met"]) == (False, False), load
    assert f"key area 越城区 ({YUECHENG}) 89.0% (< 90%)" in load["evidence"]


async def test_a_key_area_reported_with_nothing_lost_is_not_demanded(
    client: httpx.AsyncClient, make_token: MakeToken
) -> None:
    dispatcher = await make_token("dispatcher")
    city = await make_token("commander", region="330600")
    both = report(county(YUECHENG, 200, 0), county("330603", 200, 100))
    event_id = (await post(client, dispatcher, both))["event_id"]
    await attest_all_but_load(client, city, event_id)
    await post(
        client, dispatcher, report(county("330603", 200, 20), minutes=60) | {"event_id": event_id}
    )

    can_terminate, load = await load_condition(client, city, event_id)

    assert (can_terminate, load["met"]) == (True, True), load
    assert load["figures"]["key_areas"] == {}


async def test_an_important_city_below_90_percent_is_named_and_holds_the_response(
    client: httpx.AsyncClient, make_token: MakeToken
) -> None:
    """诸暨市 (an important city) and 柯桥区 both hit; 柯桥区 wholly back, 诸暨市 at 85%: the
    overall is far above 80%, and the important city alone holds the response."""
    dispatcher = await make_token("dispatcher")
    city = await make_token("commander", region="330600")
    first = report(county(ZHUJI, 200, 100), county("330603", 800, 400))
    event_id = (await post(client, dispatcher, first))["event_id"]
    await attest_all_but_load(client, city, event_id)
    await post(
        client,
        dispatcher,
        report(county(ZHUJI, 200, 15), county("330603", 800, 0), minutes=60)
        | {"event_id": event_id},
    )

    can_terminate, load = await load_condition(client, city, event_id)
    assert (can_terminate, load["met"]) == (False, False), load
    assert load["figures"]["important_cities"] == {ZHUJI: 0.85}
    assert f"important city 诸暨市 ({ZHUJI}) 85.0% (< 90%)" in load["evidence"]
    refused = await client.post(f"{API}/events/{event_id}/terminate", json={}, headers=city)
    assert refused.status_code == 409, refused.text
    assert "诸暨市" in refused.json()["unmet"][0]["evidence"]

    await post(
        client, dispatcher, report(county(ZHUJI, 200, 10), minutes=120) | {"event_id": event_id}
    )
    can_terminate, load = await load_condition(client, city, event_id)
    assert (can_terminate, load["met"]) == (True, True), load


async def test_evidence_of_white_space_alone_is_refused_and_nothing_is_attested(
    client: httpx.AsyncClient, make_token: MakeToken
) -> None:
    dispatcher = await make_token("dispatcher")
    city = await make_token("commander", region="330600")
    event_id = (await post(client, dispatcher, report(county("330603", 200, 90))))["event_id"]
    for blank in (" ", "\u3000\n\t"):  # an ideographic space is white space too
        refused = await client.post(
            f"{API}/events/{event_id}/attestations",
            json={"condition": "grid_stable", "evidence": blank},
            headers=city,
        )
        assert refused.status_code == 422, refused.text
        assert refused.headers["content-type"] == "application/problem+json"
        [error] = refused.json()["errors"]
        assert error["field"] == "evidence" and "white space" in error["message"]
    check = await client.get(f"{API}/events/{event_id}/termination-check", headers=city)
    [grid] = [c for c in check.json()["conditions"] if c["key"] == "grid_stable"]
    assert grid["met"] is False
