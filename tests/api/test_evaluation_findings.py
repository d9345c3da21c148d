"""Plan 6.1's evaluators through HTTP, on SQLite and PostgreSQL: the findings and lessons the
leading HQ adds once the response has ended, the sign-off that makes the report final and the
409 after it; and what the report then shows of them, of the releases (plan 5.4) and of the
customers cut off.

The event, in minutes after T0 (the clock held there), 柯桥区 (330603, 200 MW, 100 000 customers):

    0    a report: 130 MW lost (65%), 52 000 customers out: a level III response, the city's
         HQ leads
    20   a release proposed by the dispatcher, approved by the city's commander at 25
    60   a report: 13 MW lost, 3 000 customers out              → restored 1 − 13/130 = 0.9
    65   the three conditions attested; the city's commander ends the response at 70
"""

from __future__ import annotations

import httpx

from tests.helpers import Clock, MakeToken, county, post, report, succeeded

API = "/api/v1"
KEQIAO, CITY = "330603", "330600"
CITY_COMMANDER = "市指挥部 指挥长"


async def ended_event(
    client: httpx.AsyncClient, make_token: MakeToken, clock: Clock, *, end: bool = True
) -> tuple[str, dict[str, dict[str, str]]]:
    """The module's event, its response ended unless ``end`` is false; its id and the tokens."""
    tokens = {
        "dispatcher": await make_token("dispatcher", "城调 值班"),
        "city": await make_token("commander", CITY_COMMANDER, region=CITY),
        "keqiao": await make_token("commander", "柯桥区指挥部 指挥长", region=KEQIAO),
    }
    clock.set(0)
    grid = county(KEQIAO, 200, 130, customers=100000, customers_out=52000)
    event_id = (await post(client, tokens["dispatcher"], report(grid)))["event_id"]
    clock.set(20)
    body = {"headline": "柯桥区停电情况通报", "body": "抢修正在进行。", "topics": ["situation"]}
    made = await succeeded(
        client.post(f"{API}/events/{event_id}/releases", json=body, headers=tokens["dispatcher"])
    )
    clock.set(25)
    await succeeded(
        client.post(f"{API}/releases/{made['id']}/approve", json={}, headers=tokens["city"])
    )
    clock.set(60)
    later = county(KEQIAO, 200, 13, customers=100000, customers_out=3000)
    await post(client, tokens["dispatcher"], report(later, minutes=60) | {"event_id": event_id})
    clock.set(65)
    for condition in ("grid_stable", "hazard_removed", "secondary_handled"):
        statement = {"condition": condition, "evidence": "现场核实"}
        await succeeded(
            client.post(
                f"{API}/events/{event_id}/attestations", json=statement, headers=tokens["city"]
            )
        )
    if end:
        clock.set(70)
        reason = {"reason": "四项条件均已满足"}
        await succeeded(
            client.post(f"{API}/events/{event_id}/terminate", json=reason, headers=tokens["city"])
        )
    return event_id, tokens


async def add(
    client: httpx.AsyncClient, headers: dict[str, str], event_id: str, kind: str, text: str
) -> httpx.Response:
    body = {"kind": kind, "text": text}
    return await client.post(
        f"{API}/events/{event_id}/evaluation/findings", json=body, headers=headers
    )


async def sign(client: httpx.AsyncClient, headers: dict[str, str], event_id: str) -> httpx.Response:
    body = {"unit": "绍兴市经信委", "signer": "王局长"}
    return await client.post(
        f"{API}/events/{event_id}/evaluation/sign-off", json=body, headers=headers
    )


def refused(answer: httpx.Response, status: int, rule: str) -> None:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert rule in answer.json()["rule"], answer.json()


async def test_findings_wait_for_the_end_of_the_response(
    client: httpx.AsyncClient, make_token: MakeToken, clock: Clock
) -> None:
    event_id, tokens = await ended_event(client, make_token, clock, end=False)

    refused(await add(client, tokens["city"], event_id, "finding", "过早"), 409, "6.1")
    refused(await sign(client, tokens["city"], event_id), 409, "6.1")


async def test_the_leading_hq_writes_findings_then_signs_the_report_final(
    client: httpx.AsyncClient, make_token: MakeToken, clock: Clock
) -> None:
    event_id, tokens = await ended_event(client, make_token, clock)
    clock.set(80)

    # 柯桥区's HQ is below the city's, which led: not its report to write
    refused(await add(client, tokens["keqiao"], event_id, "finding", "越权"), 403, "6.1")
    refused(await add(client, tokens["dispatcher"], event_id, "finding", "调度"), 403, "Roles")
    bad = await add(client, tokens["city"], event_id, "opinion", "不是发现")
    assert bad.status_code == 422, bad.text
    first = await add(client, tokens["city"], event_id, "finding", "公安局两项任务未确认")
    assert first.status_code == 201, first.text
    clock.set(81)
    await succeeded(add(client, tokens["city"], event_id, "lesson", "台风前预置抢修队伍"))

    before = await succeeded(
        client.get(f"{API}/events/{event_id}/evaluation", headers=tokens["city"])
    )
    assert [(f["kind"], f["text"], f["by"]) for f in before["findings"]] == [
        ("finding", "公安局两项任务未确认", CITY_COMMANDER),
        ("lesson", "台风前预置抢修队伍", CITY_COMMANDER),
    ]
    assert (before["final"], before["sign_off"]) == (False, None)

    clock.set(90)
    signed = await sign(client, tokens["city"], event_id)
    assert signed.status_code == 201, signed.text
    assert signed.json()["unit"] == "绍兴市经信委" and signed.json()["signer"] == "王局长"

    refused(
        await add(client, tokens["city"], event_id, "lesson", "签发后"),
        409,
        "signed-off evaluation report is final",
    )
    refused(
        await sign(client, tokens["city"], event_id), 409, "signed-off evaluation report is final"
    )
    after = await succeeded(
        client.get(f"{API}/events/{event_id}/evaluation", headers=tokens["city"])
    )
    assert after["final"] is True and len(after["findings"]) == 2
    assert (after["sign_off"]["unit"], after["sign_off"]["signer"]) == ("绍兴市经信委", "王局长")
    assert after["sign_off"]["by"] == CITY_COMMANDER

    page = await client.get(f"{API}/events/{event_id}/evaluation.html", headers=tokens["city"])
    html = page.text
    for shown in ("台风前预置抢修队伍", "经验教训", "绍兴市经信委", "王局长", "2026-07-20 15:30"):
        assert shown in html, shown
    assert "本报告已于 2026-07-20 15:30 签发" in html and event_id not in html


async def test_the_report_names_the_releases_and_counts_the_customers(
    client: httpx.AsyncClient, make_token: MakeToken, clock: Clock
) -> None:
    event_id, tokens = await ended_event(client, make_token, clock)

    result = await succeeded(
        client.get(f"{API}/events/{event_id}/evaluation", headers=tokens["city"])
    )

    overview = result["overview"]
    assert overview["causes"] == ["typhoon"] and overview["counties"] == ["柯桥区"]
    assert (overview["peak_lost_mw"], overview["load_mw"], overview["peak_share"]) == (
        130,
        200,
        0.65,
    )
    assert overview["customers_out"] == 52000  # the most at once, not the latest 3 000
    [release] = result["releases"]
    assert (release["headline"], release["state"]) == ("柯桥区停电情况通报", "published")
    assert (release["approver"], release["hq"]) == (
        CITY_COMMANDER,
        "绍兴市大面积停电事件应急指挥部",
    )
    assert release["decided_at"].startswith("2026-07-20T06:25")
    html = (
        await client.get(f"{API}/events/{event_id}/evaluation.html", headers=tokens["city"])
    ).text
    for shown in ("52000 户", "台风", "已发布", "130 MW，占负荷 200 MW 的 65.0%"):
        assert shown in html, shown
