"""Plan 5.3's requisition register (依法征用、调用车辆和物资、人员) and what plan 6.3's compensation
(补助或补偿) reads of it, through HTTP, on SQLite and PostgreSQL: who registers and when, what an
entry may name, its return, the timeline, and each county government's compensation duty
listing the requisitions of its own area.

The event, in minutes after T0 (the clock held there): 柯桥区 (330603) and 上虞区 (330604), 100 MW
each, lose 45 MW each at 0: a level IV response led by the city's HQ (two counties), which holds
the requisition duty (hq-city). At 60 both are back to 5 MW lost; the city's commander attests
and ends the response at 70, and each county's government gets its compensation duty.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest

from tests.helpers import (
    T0,
    Clock,
    MakeToken,
    county,
    documented_operations,
    event_list,
    post,
    problem,
    report,
)

API = "/api/v1"
YUECHENG, KEQIAO, SHANGYU, CITY = "330602", "330603", "330604", "330600"
COMPENSATION = "post-event.local-government.compensation"
GENERATORS = {
    "kind": "vehicles",
    "what": "应急发电车（500千瓦）",
    "owner": "绍兴某设备租赁有限公司",
    "quantity": "2",
    "unit": "台",
    "requisitioned_at": (T0 + timedelta(minutes=10)).isoformat(),
    "region": KEQIAO,
    "note": "用于柯桥区人民医院保电",
}
CREWS = {
    "kind": "personnel",
    "what": "抢修人员",
    "owner": "上虞某电力工程公司",
    "quantity": 30,
    "unit": "人",
    "requisitioned_at": (T0 + timedelta(minutes=15)).isoformat(),
    "region": SHANGYU,
}


async def two_county_event(
    client: httpx.AsyncClient, make_token: MakeToken, clock: Clock
) -> tuple[str, dict[str, dict[str, str]]]:
    """The module's event at minute 30, in response; its id and the tokens."""
    tokens = {
        "dispatcher": await make_token("dispatcher", "城调 值班"),
        "hq-city": await make_token("agency", "市指挥部 值班", agency="hq-city"),
        "hq-keqiao": await make_token("agency", "柯桥区政府 值班", agency="hq-330603"),
        "hq-shangyu": await make_token("agency", "上虞区政府 值班", agency="hq-330604"),
        "police": await make_token("agency", "市公安局 值班", agency="public-security"),
        "city": await make_token("commander", "市指挥部 指挥长", region=CITY),
        "keqiao": await make_token("commander", "柯桥区指挥部 指挥长", region=KEQIAO),
        "observer": await make_token("observer"),
    }
    clock.set(0)
    grids = (county(KEQIAO, 100, 45), county(SHANGYU, 100, 45))
    event_id = (await post(client, tokens["dispatcher"], report(*grids)))["event_id"]
    clock.set(30)
    return event_id, tokens


async def end_response(
    client: httpx.AsyncClient, tokens: dict[str, dict[str, str]], event_id: str, clock: Clock
) -> None:
    clock.set(60)
    grids = (county(KEQIAO, 100, 5), county(SHANGYU, 100, 5))
    await post(client, tokens["dispatcher"], report(*grids, minutes=60) | {"event_id": event_id})
    for condition in ("grid_stable", "hazard_removed", "secondary_handled"):
        statement = {"condition": condition, "evidence": "现场核实"}
        answer = await client.post(
            f"{API}/events/{event_id}/attestations", json=statement, headers=tokens["city"]
        )
        assert answer.status_code == 201, answer.text
    clock.set(70)
    ended = await client.post(
        f"{API}/events/{event_id}/terminate",
        json={"reason": "四项条件均已满足"},
        headers=tokens["city"],
    )
    assert ended.status_code == 200, ended.text


async def register(
    client: httpx.AsyncClient, headers: dict[str, str], event_id: str, body: dict[str, Any]
) -> httpx.Response:
    return await client.post(f"{API}/events/{event_id}/requisitions", json=body, headers=headers)


async def registered(
    client: httpx.AsyncClient, headers: dict[str, str], event_id: str, body: dict[str, Any]
) -> dict[str, Any]:
    answer = await register(client, headers, event_id, body)
    assert answer.status_code == 201, answer.text
    found: dict[str, Any] = answer.json()
    return found


async def give_back(
    client: httpx.AsyncClient, headers: dict[str, str], entry_id: str, body: dict[str, Any]
) -> httpx.Response:
    return await client.post(f"{API}/requisitions/{entry_id}/return", json=body, headers=headers)


async def test_the_register_holds_what_from_whom_how_much_when_by_whom_and_where(
    client: httpx.AsyncClient, make_token: MakeToken, clock: Clock
) -> None:
    event_id, tokens = await two_county_event(client, make_token, clock)

    crews = await registered(client, tokens["city"], event_id, CREWS)
    generators = await registered(client, tokens["hq-city"], event_id, GENERATORS)

    assert {k: generators[k] for k in ("kind", "what", "owner", "unit", "region", "note")} == {
        k: GENERATORS[k] for k in ("kind", "what", "owner", "unit", "region", "note")
    }
    assert generators["quantity"] == 2 and crews["quantity"] == 30
    assert generators["requisitioned_at"].startswith("2026-07-20T06:10:00")
    # by default the caller's unit; for a commander, the HQ leading the event
    assert (generators["agency"], crews["agency"]) == ("hq-city", "hq-city")
    assert generators["recorded_by"] == "agency:市指挥部 值班@hq-city"
    assert generators["recorded_at"].startswith("2026-07-20T06:30:00")
    assert generators["returned_at"] is None and crews["note"] is None
    # in the order requisitioned, whoever registered first
    assert [
        e["id"] for e in await event_list(client, tokens["observer"], event_id, "requisitions")
    ] == [
        generators["id"],
        crews["id"],
    ]
    named = await registered(client, tokens["hq-city"], event_id, CREWS | {"agency": "military"})
    assert named["agency"] == "military"


async def test_return_is_registered_once_and_not_before_the_requisition(
    client: httpx.AsyncClient, make_token: MakeToken, clock: Clock
) -> None:
    event_id, tokens = await two_county_event(client, make_token, clock)
    entry = await registered(client, tokens["hq-city"], event_id, GENERATORS)
    early = (T0 + timedelta(minutes=5)).isoformat()

    refused = problem(
        await give_back(client, tokens["hq-city"], entry["id"], {"returned_at": early}), 422
    )
    assert [e["field"] for e in refused["errors"]] == ["returned_at"]

    clock.set(40)
    back = await give_back(client, tokens["city"], entry["id"], {"note": "完好归还"})
    assert back.status_code == 200, back.text
    assert back.json()["returned_at"].startswith("2026-07-20T06:40:00")
    assert (back.json()["return_note"], back.json()["returned_by"]) == (
        "完好归还",
        "commander:市指挥部 指挥长@330600",
    )
    problem(await give_back(client, tokens["hq-city"], entry["id"], {}), 409)
    [shown] = await event_list(client, tokens["observer"], event_id, "requisitions")
    assert shown == back.json()


async def test_the_register_is_on_the_timeline(
    client: httpx.AsyncClient, make_token: MakeToken, clock: Clock
) -> None:
    event_id, tokens = await two_county_event(client, make_token, clock)
    entry = await registered(client, tokens["hq-city"], event_id, GENERATORS)
    clock.set(40)
    await give_back(client, tokens["hq-city"], entry["id"], {"note": "完好归还"})

    entries = (
        await client.get(f"{API}/events/{event_id}/timeline?limit=200", headers=tokens["observer"])
    ).json()["items"]
    texts = {e["kind"]: (e["clause"], e["text"], e["data"]) for e in entries}
    clause, text, data = texts["requisition_recorded"]
    assert clause == "5.3" and data["requisition_id"] == entry["id"]
    assert text == "市应急指挥部征用绍兴某设备租赁有限公司的应急发电车（500千瓦） 2台（柯桥区）"
    clause, text, data = texts["requisition_returned"]
    assert (
        text
        == "市指挥部 值班登记：应急发电车（500千瓦）已归还绍兴某设备租赁有限公司（备注：完好归还）"
    )


async def test_who_keeps_the_register(
    client: httpx.AsyncClient, make_token: MakeToken, clock: Clock
) -> None:
    event_id, tokens = await two_county_event(client, make_token, clock)
    entry = await registered(client, tokens["hq-city"], event_id, GENERATORS)

    # a unit with duties in the event, but not the requisition duty
    refused = problem(await register(client, tokens["police"], event_id, CREWS), 403)
    assert "plan 5.3" in refused["rule"]
    problem(await give_back(client, tokens["police"], entry["id"], {}), 403)
    # 柯桥区's HQ is below the city's, which leads
    assert (
        "plan 5.3"
        in problem(await register(client, tokens["keqiao"], event_id, CREWS), 403)["rule"]
    )
    assert (
        "Roles"
        in problem(await register(client, tokens["dispatcher"], event_id, CREWS), 403)["rule"]
    )
    # a unit without any duty in the event does not see it
    stranger = await make_token("agency", agency="hq-330683")  # 嵊州市, not hit
    problem(await register(client, stranger, event_id, CREWS), 404)
    problem(await give_back(client, stranger, entry["id"], {}), 404)
    problem(await client.get(f"{API}/events/{event_id}/requisitions", headers=stranger), 404)
    # reading: every role but an agency; an agency holding neither duty is refused
    assert len(await event_list(client, tokens["dispatcher"], event_id, "requisitions")) == 1
    problem(
        await client.get(f"{API}/events/{event_id}/requisitions", headers=tokens["police"]), 403
    )
    assert len(await event_list(client, tokens["hq-city"], event_id, "requisitions")) == 1


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"region": YUECHENG}, "region"),  # not hit: no government of it compensates
        ({"region": CITY}, "region"),  # the counties are named: each compensates its own
        ({"agency": "leading-hq"}, "agency"),  # a role, no unit
        ({"agency": "mayor"}, "agency"),
        ({"requisitioned_at": (T0 + timedelta(minutes=60)).isoformat()}, "requisitioned_at"),
        ({"requisitioned_at": (T0 - timedelta(minutes=1)).isoformat()}, "requisitioned_at"),
        ({"quantity": 0}, "quantity"),
        ({"quantity": "1.0000001"}, "quantity"),
        ({"kind": "buildings"}, "kind"),
        ({"owner": "  "}, "owner"),
        ({"what": ""}, "what"),
        ({"unit": "台" * 21}, "unit"),
    ],
)
async def test_an_entry_that_does_not_fit_is_422_naming_the_field(
    client: httpx.AsyncClient,
    make_token: MakeToken,
    clock: Clock,
    change: dict[str, Any],
    field: str,
) -> None:
    event_id, tokens = await two_county_event(client, make_token, clock)

    refused = problem(await register(client, tokens["hq-city"], event_id, GENERATORS | change), 422)

    assert field in [e["field"] for e in refused["errors"]], refused
    assert await event_list(client, tokens["observer"], event_id, "requisitions") == []


async def test_an_event_naming_no_county_registers_for_the_city(
    client: httpx.AsyncClient, make_token: MakeToken, clock: Clock
) -> None:
    dispatcher = await make_token("dispatcher")
    city = await make_token("commander", region=CITY)
    clock.set(0)
    grid = {"scope": "city", "region": CITY, "load_mw": 1000, "load_lost_mw": 250}
    event_id = (await post(client, dispatcher, report(grid)))["event_id"]
    clock.set(30)

    problem(await register(client, city, event_id, GENERATORS), 422)
    entry = await registered(client, city, event_id, GENERATORS | {"region": CITY})

    assert entry["region"] == CITY


async def test_nothing_is_registered_before_a_response(
    client: httpx.AsyncClient, make_token: MakeToken, clock: Clock
) -> None:
    dispatcher = await make_token("dispatcher")
    city = await make_token("commander", region=CITY)
    clock.set(0)
    event_id = (await post(client, dispatcher, report(county(KEQIAO, 100, 10))))["event_id"]
    clock.set(30)

    refused = problem(await register(client, city, event_id, GENERATORS), 409)

    assert refused["state"] == "monitoring" and "plan 5.3" in refused["rule"]


async def test_each_county_governments_compensation_lists_its_own_areas_requisitions(
    client: httpx.AsyncClient, make_token: MakeToken, clock: Clock
) -> None:
    event_id, tokens = await two_county_event(client, make_token, clock)
    generators = await registered(client, tokens["hq-city"], event_id, GENERATORS)
    crews = await registered(client, tokens["hq-city"], event_id, CREWS)
    # before the response ends no county holds the compensation duty: the register is not theirs
    problem(
        await client.get(f"{API}/events/{event_id}/requisitions", headers=tokens["hq-keqiao"]), 403
    )
    await end_response(client, tokens, event_id, clock)
    # registered after the response, in its aftermath, still counts
    clock.set(80)
    late = await registered(
        client, tokens["city"], event_id, GENERATORS | {"what": "柴油", "kind": "supplies"}
    )

    owed: dict[str, list[str]] = {}
    for holder in ("hq-keqiao", "hq-shangyu"):
        actions = (
            await client.get(f"{API}/events/{event_id}/actions", headers=tokens[holder])
        ).json()["items"]
        [duty] = [a for a in actions if a["key"] == COMPENSATION]
        shown = await client.get(f"{API}/actions/{duty['id']}", headers=tokens[holder])
        assert shown.status_code == 200, shown.text
        owed[holder] = [e["id"] for e in shown.json()["requisitions"]]
        assert [
            e["id"] for e in await event_list(client, tokens[holder], event_id, "requisitions")
        ] == owed[holder]
        # another unit's action does not exist for it
        other = "hq-shangyu" if holder == "hq-keqiao" else "hq-keqiao"
        problem(await client.get(f"{API}/actions/{duty['id']}", headers=tokens[other]), 404)

    assert owed == {"hq-keqiao": [generators["id"], late["id"]], "hq-shangyu": [crews["id"]]}


async def test_the_evaluation_lists_the_register_with_who_compensates(
    client: httpx.AsyncClient, make_token: MakeToken, clock: Clock
) -> None:
    event_id, tokens = await two_county_event(client, make_token, clock)
    generators = await registered(client, tokens["hq-city"], event_id, GENERATORS)
    await registered(client, tokens["hq-city"], event_id, CREWS)
    clock.set(40)
    await give_back(client, tokens["hq-city"], generators["id"], {})
    await end_response(client, tokens, event_id, clock)

    report = await client.get(f"{API}/events/{event_id}/evaluation", headers=tokens["city"])
    page = await client.get(f"{API}/events/{event_id}/evaluation.html", headers=tokens["city"])

    assert report.status_code == 200, report.text
    assert report.json()["requisitions"] == [
        {
            "kind": "vehicles",
            "what": "应急发电车（500千瓦）",
            "owner": "绍兴某设备租赁有限公司",
            "quantity": 2.0,
            "unit": "台",
            "requisitioned_at": "2026-07-20T06:10:00Z",
            "by": "市应急指挥部",
            "government": "柯桥区人民政府",
            "returned_at": "2026-07-20T06:40:00Z",
        },
        {
            "kind": "personnel",
            "what": "抢修人员",
            "owner": "上虞某电力工程公司",
            "quantity": 30.0,
            "unit": "人",
            "requisitioned_at": "2026-07-20T06:15:00Z",
            "by": "市应急指挥部",
            "government": "上虞区人民政府",
            "returned_at": None,
        },
    ]
    assert page.status_code == 200, page.text
    assert "十、征用及补偿（预案5.3、6.3）" in page.text
    for said in ("应急发电车（500千瓦）（车辆）", "2台", "30人", "上虞区人民政府", "未归还"):
        assert said in page.text, said


def test_the_docs_name_and_explain_every_requisitions_operation() -> None:
    assert sorted(documented_operations("requisitions")) == [
        "list_requisitions",
        "register_requisition",
        "return_requisition",
    ]
