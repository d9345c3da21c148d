"""Plan 5.5's attested conditions stay true only while the grid does, on SQLite and PostgreSQL:
an attestation is withdrawn with a reason, or voided by a later report that worsens the
situation; either way it no longer counts, and the termination check shows it so."""

from __future__ import annotations

from typing import Any

import httpx

from tests.helpers import MakeToken, county, ok, post, report

API = "/api/v1"
KEQIAO, YUECHENG = "330603", "330602"
ATTESTED = ("grid_stable", "hazard_removed", "secondary_handled")


async def attest(
    client: httpx.AsyncClient, headers: dict[str, str], event_id: str, condition: str
) -> dict[str, Any]:
    body = {"condition": condition, "evidence": "现场核实"}
    url = f"{API}/events/{event_id}/attestations"
    answer: dict[str, Any] = await ok(await client.post(url, json=body, headers=headers), 201)
    return answer


async def withdraw(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    event_id: str,
    attestation_id: str,
    reason: str = "220千伏母线再次跳闸",
) -> httpx.Response:
    return await client.post(
        f"{API}/events/{event_id}/attestations/{attestation_id}/withdraw",
        json={"reason": reason},
        headers=headers,
    )


async def check(
    client: httpx.AsyncClient, headers: dict[str, str], event_id: str
) -> tuple[bool, dict[str, dict[str, Any]]]:
    """``can_terminate`` and the conditions by key."""
    url = f"{API}/events/{event_id}/termination-check"
    body = await ok(await client.get(url, headers=headers))
    return body["can_terminate"], {c["key"]: c for c in body["conditions"]}


async def entries(
    client: httpx.AsyncClient, headers: dict[str, str], event_id: str, kind: str
) -> list[dict[str, Any]]:
    url = f"{API}/events/{event_id}/timeline"
    page = await ok(await client.get(url, params={"limit": 200}, headers=headers))
    return [e for e in page["items"] if e["kind"] == kind]


async def restored_keqiao(
    client: httpx.AsyncClient, dispatcher: dict[str, str], *extra: dict[str, Any]
) -> str:
    """柯桥区 loses 100 of 200 MW (IV, its own HQ leads), then is back to 10 MW lost (90%)."""
    event_id: str = (await post(client, dispatcher, report(county(KEQIAO, 200, 100), *extra)))[
        "event_id"
    ]
    back = report(county(KEQIAO, 200, 10), minutes=60) | {"event_id": event_id}
    await post(client, dispatcher, back)
    return event_id


async def test_a_withdrawn_attestation_no_longer_counts_and_the_check_says_who_when_why(
    client: httpx.AsyncClient, make_token: MakeToken
) -> None:
    dispatcher = await make_token("dispatcher", name="城调 值班")
    keqiao = await make_token("commander", name="柯桥区指挥长", region=KEQIAO)
    event_id = await restored_keqiao(client, dispatcher)
    made = {c: await attest(client, dispatcher, event_id, c) for c in ATTESTED}
    assert (await check(client, keqiao, event_id))[0] is True

    answer = await ok(await withdraw(client, keqiao, event_id, made["grid_stable"]["id"]))

    assert answer["id"] == made["grid_stable"]["id"]
    assert (answer["event_id"], answer["state"]) == (event_id, "withdrawn")
    withdrawal = answer["withdrawal"]
    assert withdrawal["by"] == f"commander:柯桥区指挥长@{KEQIAO}"
    assert withdrawal["reason"] == "220千伏母线再次跳闸"
    can_terminate, conditions = await check(client, keqiao, event_id)
    grid = conditions["grid_stable"]
    assert (can_terminate, grid["met"]) == (False, False)
    assert [(a["id"], a["state"], a["withdrawal"]) for a in grid["attestations"]] == [
        (made["grid_stable"]["id"], "withdrawn", withdrawal)
    ]
    assert "withdrawn by commander:柯桥区指挥长" in grid["evidence"]
    assert grid["evidence"].endswith(": 220千伏母线再次跳闸")
    assert [a["state"] for a in conditions["hazard_removed"]["attestations"]] == ["standing"]
    assert conditions["load_restored"]["attestations"] is None
    refused = await client.post(f"{API}/events/{event_id}/terminate", json={}, headers=keqiao)
    assert refused.status_code == 409, refused.text
    assert [u["key"] for u in refused.json()["unmet"]] == ["grid_stable"]
    [entry] = await entries(client, keqiao, event_id, "attestation_withdrawn")
    assert entry["clause"] == "5.5"
    assert entry["data"]["attestation_id"] == made["grid_stable"]["id"]
    assert entry["text"] == (
        "柯桥区指挥长撤回终止条件确认：电网主干网架基本恢复、运行参数在稳定限额内"
        "（220千伏母线再次跳闸）"
    )
    evaluation = await ok(await client.get(f"{API}/events/{event_id}/evaluation", headers=keqiao))
    evidence = {e["key"]: e for e in evaluation["evidence"]}
    assert (evidence["grid_stable"]["text"], evidence["grid_stable"]["by"]) == ("尚无确认", None)

    # withdrawn once only; a fresh statement meets the condition again
    again = await withdraw(client, keqiao, event_id, made["grid_stable"]["id"])
    assert again.status_code == 409, again.text
    assert again.json()["state"] == "withdrawn"
    await attest(client, keqiao, event_id, "grid_stable")
    can_terminate, conditions = await check(client, keqiao, event_id)
    assert can_terminate is True
    assert [a["state"] for a in conditions["grid_stable"]["attestations"]] == [
        "withdrawn",
        "standing",
    ]


async def test_who_may_withdraw_an_attestation(
    client: httpx.AsyncClient, make_token: MakeToken
) -> None:
    """Whoever may attest on the event, or a commander of the leading HQ or above; nobody
    else. Here 越城区 lost a little too, so the event's area reaches beyond 柯桥区, whose HQ
    leads: that HQ's commander may not attest, and may withdraw."""
    dispatcher = await make_token("dispatcher")
    keqiao = await make_token("commander", region=KEQIAO)
    city = await make_token("commander", region="330600")
    event_id = await restored_keqiao(client, dispatcher, county(YUECHENG, 300, 3))
    event = await ok(await client.get(f"{API}/events/{event_id}", headers=city))
    assert (event["state"], event["leading_hq"]["region"]) == ("response", KEQIAO)
    made = await attest(client, city, event_id, "grid_stable")
    attested_by_keqiao = await client.post(
        f"{API}/events/{event_id}/attestations",
        json={"condition": "grid_stable", "evidence": "核实"},
        headers=keqiao,
    )
    assert attested_by_keqiao.status_code == 403, attested_by_keqiao.text

    refusals = {
        "a county HQ that does not lead": await make_token("commander", region="330604"),
        "a dispatcher of another county": await make_token("dispatcher", region="330604"),
        "an observer": await make_token("observer"),
        "an agency": await make_token("agency", agency="public-security"),
    }
    for who, headers in refusals.items():
        refused = await withdraw(client, headers, event_id, made["id"])
        assert refused.status_code == 403, (who, refused.text)
    missing = await withdraw(client, keqiao, event_id, "00000000-0000-4000-8000-000000000000")
    assert missing.status_code == 404, missing.text
    # another outage (嵊州市), another event: the attestation is none of its own
    other = (await post(client, dispatcher, report(county("330683", 200, 100))))["event_id"]
    assert other != event_id
    assert (await withdraw(client, keqiao, other, made["id"])).status_code == 404
    blank = await withdraw(client, keqiao, event_id, made["id"], reason="  ")
    assert blank.status_code == 422, blank.text
    assert (await check(client, city, event_id))[1]["grid_stable"]["met"] is True

    withdrawn = await ok(await withdraw(client, keqiao, event_id, made["id"]))
    assert withdrawn["state"] == "withdrawn"


async def test_a_withdrawal_is_refused_once_the_response_has_ended(
    client: httpx.AsyncClient, make_token: MakeToken
) -> None:
    dispatcher = await make_token("dispatcher")
    keqiao = await make_token("commander", region=KEQIAO)
    event_id = await restored_keqiao(client, dispatcher)
    made = [await attest(client, keqiao, event_id, c) for c in ATTESTED]
    await ok(await client.post(f"{API}/events/{event_id}/terminate", json={}, headers=keqiao))

    refused = await withdraw(client, keqiao, event_id, made[0]["id"])

    assert refused.status_code == 409, refused.text
    assert refused.json()["state"] == "terminated"


async def test_a_relapse_voids_the_attestations_made_before_it(
    client: httpx.AsyncClient, make_token: MakeToken
) -> None:
    """Attested at 10 MW lost (90% back); a report of 15 MW lost (85%: the load condition still
    holds) shows more than they knew: all three are voided, and the check needs fresh ones."""
    dispatcher = await make_token("dispatcher")
    keqiao = await make_token("commander", region=KEQIAO)
    event_id = await restored_keqiao(client, dispatcher)
    made = [await attest(client, keqiao, event_id, c) for c in ATTESTED]
    assert (await check(client, keqiao, event_id))[0] is True

    relapse = report(county(KEQIAO, 200, 15), minutes=90) | {"event_id": event_id}
    report_id = (await post(client, dispatcher, relapse))["report_id"]

    can_terminate, conditions = await check(client, keqiao, event_id)
    assert can_terminate is False
    assert conditions["load_restored"]["met"] is True
    for statement, key in zip(made, ATTESTED, strict=True):
        condition = conditions[key]
        assert condition["met"] is False
        [shown] = condition["attestations"]
        assert (shown["id"], shown["state"], shown["withdrawal"]) == (
            statement["id"],
            "voided",
            None,
        )
        assert shown["voiding"]["report_id"] == report_id
        assert shown["voiding"]["grids"] == [
            {"region": KEQIAO, "known_lost_mw": 10.0, "lost_mw": 15.0, "newly_hit": False}
        ]
        assert f"by report {report_id}" in condition["evidence"]
    [entry] = await entries(client, keqiao, event_id, "attestations_voided")
    assert (entry["clause"], entry["data"]["report_id"]) == ("5.5", report_id)
    assert sorted(entry["data"]["attestations"]) == sorted(s["id"] for s in made)
    assert entry["text"].startswith("信息报告显示柯桥区停电态势恶化，此前的终止条件确认 3 项作废")
    voided = await withdraw(client, keqiao, event_id, made[0]["id"])
    assert voided.status_code == 409 and voided.json()["state"] == "voided", voided.text

    for condition in ATTESTED:
        await attest(client, keqiao, event_id, condition)
    assert (await check(client, keqiao, event_id))[0] is True


async def test_a_report_no_worse_than_an_attestation_knew_voids_nothing(
    client: httpx.AsyncClient, make_token: MakeToken
) -> None:
    """Attested at 10 MW lost: a report of 5 MW, then one of 8 MW (worse than 5, not than the
    10 the attestation knew), a late report of the worst moment, and 越城区 reported with
    nothing lost void nothing; 越城区 then losing load (a grid newly hit) does."""
    dispatcher = await make_token("dispatcher")
    keqiao = await make_token("commander", region=KEQIAO)
    event_id = await restored_keqiao(client, dispatcher)
    [statement] = [await attest(client, keqiao, event_id, "grid_stable")]

    for no_worse in (
        report(county(KEQIAO, 200, 5), minutes=70),
        report(county(KEQIAO, 200, 8), minutes=80),
        report(county(KEQIAO, 200, 100), minutes=30),  # observed before the latest figures
        report(county(YUECHENG, 300, 0), minutes=85),
    ):
        await post(client, dispatcher, no_worse | {"event_id": event_id})
        grid = (await check(client, keqiao, event_id))[1]["grid_stable"]
        assert grid["met"] is True, (no_worse, grid)
    assert await entries(client, keqiao, event_id, "attestations_voided") == []

    await post(
        client,
        dispatcher,
        report(county(YUECHENG, 300, 0, customers=1000, customers_out=40), minutes=95)
        | {"event_id": event_id},
    )

    grid = (await check(client, keqiao, event_id))[1]["grid_stable"]
    assert grid["met"] is False
    [shown] = grid["attestations"]
    assert (shown["id"], shown["state"]) == (statement["id"], "voided")
    assert shown["voiding"]["grids"] == [
        {"region": YUECHENG, "known_lost_mw": None, "lost_mw": 0.0, "newly_hit": True}
    ]
