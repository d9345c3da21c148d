"""Issue 4's scenario through HTTP, on SQLite and PostgreSQL: a typhoon over 柯桥区 from the
warning to the closed event."""

from __future__ import annotations

from typing import Any

import httpx

from tests.helpers import MakeToken, county, ok, report

API = "/api/v1"


async def actions_of(client: httpx.AsyncClient, headers: dict[str, str], event: str) -> list[Any]:
    items: list[Any] = (
        await ok(await client.get(f"{API}/events/{event}/actions", headers=headers))
    )["items"]
    return items


async def test_typhoon_over_keqiao(client: httpx.AsyncClient, make_token: MakeToken) -> None:
    dispatcher = await make_token("dispatcher", name="柯桥调度", region="330603")
    keqiao = await make_token("commander", name="柯桥区指挥长", region="330603")
    shangyu = await make_token("commander", name="上虞区指挥长", region="330604")
    city = await make_token("commander", name="市指挥长", region="330600")
    observer = await make_token("observer")
    power = await make_token("agency", agency="power-company")
    publicity = await make_token("agency", agency="publicity")

    # plan 3.2.2.1: the grid side proposes, the 柯桥 HQ publishes
    warning = await ok(
        await client.post(
            f"{API}/warnings",
            json={
                "area": ["330603"],
                "headline": "台风“烟花”影响柯桥区电网",
                "description": "预计22时起柯桥区10kV线路大面积跳闸",
                "onset": "2026-07-20T22:00:00+08:00",
            },
            headers=dispatcher,
        ),
        201,
    )
    event = warning["event_id"]
    assert warning["state"] == "proposed"
    assert (
        await client.post(f"{API}/warnings/{warning['id']}/publish", json={}, headers=shangyu)
    ).status_code == 403
    published = await ok(
        await client.post(f"{API}/warnings/{warning['id']}/publish", json={}, headers=keqiao)
    )
    assert (published["state"], published["published_by"]) == ("published", "330603")
    detail = await ok(await client.get(f"{API}/events/{event}", headers=observer))
    assert detail["state"] == "warning"
    warning_actions = await actions_of(client, observer, event)
    # the proposal opened the event in monitoring (plan 3.2.1) and set the warning's steps going
    assert warning_actions and {a["phase"] for a in warning_actions} == {"monitoring", "warning"}
    assert all(a["clause"].startswith("3.2.2") for a in warning_actions if a["phase"] == "warning")
    cap = await client.get(f"{API}/warnings/{warning['id']}/cap", headers=observer)
    assert cap.headers["content-type"].startswith("application/cap+xml")
    assert b"<status>Actual</status>" in cap.content and b"330603" in cap.content

    # a report at IV: the response starts, 柯桥's HQ leads
    first = await ok(
        await client.post(
            f"{API}/reports",
            json=report(county("330603", 200, 90), event_id=event),
            headers=dispatcher,
        ),
        201,
    )
    assert (first["state"], first["response_level"]) == ("response", "IV")
    assert first["leading_hq"]["region"] == "330603"
    at_four = {a["key"] for a in await actions_of(client, observer, event)}
    power_four = await ok(await client.get(f"{API}/agencies/power-company/actions", headers=power))
    assert power_four["items"]

    # a second report lifts it to III: the city HQ leads, only the new items are dispatched
    second = await ok(
        await client.post(
            f"{API}/reports",
            json=report(county("330603", 200, 130), minutes=30, event_id=event),
            headers=dispatcher,
        ),
        201,
    )
    assert (second["response_level"], second["leading_hq"]["region"]) == ("III", "330600")
    at_three = await actions_of(client, observer, event)
    keys = [a["key"] for a in at_three if a["run"] == 0]
    # one county hit: no item goes to two units but the expert group (plan 2.5), which each HQ
    # commanding sets up (the city leading, the county in its area); plan 4 reports again at III
    # (a second run of its chain, the first's report superseded)
    twice = {key for key in keys if keys.count(key) > 1}
    reports = [(a["run"], a["state"]) for a in at_three if a["run"]]
    assert reports == [(1, "superseded"), (2, "pending")]
    assert twice == {"response.commanding-hq.expert-group"}
    assert at_four < {a["key"] for a in at_three}
    assert {a["level"] for a in at_three if a["key"] not in at_four} == {"III"}
    # the agency sees its checklist change with the level
    power_three = await ok(await client.get(f"{API}/agencies/power-company/actions", headers=power))
    assert len(power_three["items"]) >= len(power_four["items"])

    # 谁发布、谁解除: the city may not lift 柯桥's warning; 柯桥 does, the response goes on
    assert (
        await client.post(f"{API}/warnings/{warning['id']}/lift", json={}, headers=city)
    ).status_code == 403
    lifted = await ok(
        await client.post(f"{API}/warnings/{warning['id']}/lift", json={}, headers=keqiao)
    )
    assert lifted["state"] == "lifted"
    assert (await ok(await client.get(f"{API}/events/{event}", headers=observer)))[
        "state"
    ] == "response"

    # agencies acknowledge and complete their actions; repeating is harmless
    mine = [a for a in await actions_of(client, power, event) if a["state"] == "pending"]
    assert mine and all(a["agency"] == "power-company" for a in mine)
    acked = await ok(
        await client.post(
            f"{API}/actions/{mine[0]['id']}/ack", json={"note": "抢修队已出发"}, headers=power
        )
    )
    again = await ok(
        await client.post(f"{API}/actions/{mine[0]['id']}/ack", json={}, headers=power)
    )
    assert acked["state"] == again["state"] == "acknowledged"
    done = await ok(
        await client.post(f"{API}/actions/{mine[0]['id']}/complete", json={}, headers=power)
    )
    assert done["state"] == "done" and done["note"] == "抢修队已出发"
    # another agency's action does not exist for publicity
    assert (
        await client.post(f"{API}/actions/{mine[1]['id']}/ack", json={}, headers=publicity)
    ).status_code == 404

    # restoration to 70%: termination is refused, condition by condition
    await ok(
        await client.post(
            f"{API}/reports",
            json=report(county("330603", 200, 39), minutes=240, event_id=event),
            headers=dispatcher,
        ),
        201,
    )
    check = await ok(await client.get(f"{API}/events/{event}/termination-check", headers=city))
    assert check["can_terminate"] is False
    by_key = {c["key"]: c for c in check["conditions"]}
    assert list(by_key) == ["grid_stable", "load_restored", "hazard_removed", "secondary_handled"]
    assert by_key["load_restored"]["met"] is False
    assert by_key["load_restored"]["figures"]["overall"] == 0.7
    refused = await client.post(f"{API}/events/{event}/terminate", json={}, headers=city)
    assert refused.status_code == 409
    assert {u["key"] for u in refused.json()["unmet"]} == set(by_key)

    # restoration to 80% exactly (以上 includes the number) and the three attestations
    await ok(
        await client.post(
            f"{API}/reports",
            json=report(county("330603", 200, 26), minutes=300, event_id=event),
            headers=dispatcher,
        ),
        201,
    )
    for condition in ("grid_stable", "hazard_removed", "secondary_handled"):
        await ok(
            await client.post(
                f"{API}/events/{event}/attestations",
                json={"condition": condition, "evidence": "现场核实"},
                headers=dispatcher if condition == "grid_stable" else city,
            ),
            201,
        )
    check = await ok(await client.get(f"{API}/events/{event}/termination-check", headers=city))
    assert check["can_terminate"] is True, check

    # only the leading HQ (the city) or above ends it; 柯桥 may not
    assert (
        await client.post(f"{API}/events/{event}/terminate", json={}, headers=keqiao)
    ).status_code == 403
    ended = await ok(
        await client.post(
            f"{API}/events/{event}/terminate", json={"reason": "恢复供电"}, headers=city
        )
    )
    assert ended["state"] == "terminated" and ended["leading_hq"]["region"] == "330600"
    after = await actions_of(client, observer, event)
    assert not [
        a
        for a in after
        if a["phase"] in ("first_response", "response")
        and a["state"] in ("pending", "acknowledged")
        and a["run"] == 0
    ]
    # plan 4's final report (终报): a last run of the chain for 柯桥区 goes on after the end
    final = [a for a in after if a["run"] and a["state"] in ("pending", "acknowledged")]
    assert [(a["key"], a["regarding"]) for a in final] == [
        ("reporting.power-company.report-local-authority", "330603")
    ]
    assert any(a["cancel_reason"] == "response terminated" for a in after)
    # plan 6 by the grade: the 一般 outage's investigation group by the county gave way when the
    # outage was reported 较大 (superseded by 市经信委's); the rest is pending
    post_event = [
        a
        for a in after
        if a["phase"] == "post_event" and a["state"] not in ("cancelled", "superseded")
    ]
    assert post_event and all(a["state"] == "pending" for a in post_event)
    assert {(a["key"], a["agency"]) for a in after if a["state"] == "superseded"} >= {
        ("post-event.local-power-authority.investigation-group", "hq-330603")
    }

    # close waits for the post-event work
    blocked = await client.post(f"{API}/events/{event}/close", json={}, headers=city)
    assert blocked.status_code == 409 and blocked.json()["open"]
    agencies = {a["agency"] for a in post_event}
    for agency in agencies:
        headers = await make_token("agency", name=agency, agency=agency)
        for action in await actions_of(client, headers, event):
            if action["phase"] == "post_event" and action["state"] == "pending":
                await ok(
                    await client.post(
                        f"{API}/actions/{action['id']}/complete", json={}, headers=headers
                    )
                )
    # … and for the final report, made link by link and received
    blocked = await client.post(f"{API}/events/{event}/close", json={}, headers=city)
    assert blocked.status_code == 409 and blocked.json()["rule"] == "plan 4"
    assert blocked.json()["open"] == ["reporting.power-company.report-local-authority"]
    made: list[tuple[str, str]] = []
    while links := [
        a for a in await actions_of(client, observer, event) if a["run"] and a["state"] == "pending"
    ]:
        for link in links:
            unit = await make_token("agency", agency=link["agency"])
            verb = "ack" if ".receive-" in link["key"] else "complete"
            await ok(await client.post(f"{API}/actions/{link['id']}/{verb}", json={}, headers=unit))
            made.append((link["key"], link["agency"]))
    assert made == [
        ("reporting.power-company.report-local-authority", "power-company"),
        ("reporting.local-power-authority.verify", "hq-330603"),
        ("reporting.county-hq.report-major", "hq-330603"),
        ("reporting.economy-it.report-city-government-and-provincial-drc", "economy-it"),
        ("reporting.hq-city.receive-major-report", "hq-city"),
        ("reporting.provincial-drc.receive-major-report", "provincial-drc"),
    ]
    closed = await ok(await client.post(f"{API}/events/{event}/close", json={}, headers=city))
    assert closed["state"] == "closed" and closed["closed_at"]

    kinds = [
        e["kind"]
        for e in (
            await ok(await client.get(f"{API}/events/{event}/timeline?limit=200", headers=observer))
        )["items"]
    ]
    for kind in (
        "warning_proposed",
        "warning_published",
        "actions_dispatched",
        "response_started",
        "response_raised",
        "warning_lifted",
        "action_acknowledged",
        "action_completed",
        "attestation",
        "response_terminated",
        "actions_cancelled",
        "event_closed",
    ):
        assert kind in kinds, kind
