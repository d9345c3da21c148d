"""The board's command console (design § Command console) over HTTP, on SQLite and PostgreSQL:
a commander of the leading HQ attests plan 5.5's conditions, sees the termination button held
with the unmet conditions named until the check passes, then ends the response, all through
the console's forms; each button shown only to whom the plan lets act; refusals said in words;
a cross-site post refused. The same in a browser is tests/api/test_board_browser.py's."""

from __future__ import annotations

import re

import httpx

from tests.helpers import MakeToken, bearer_token_of, board_sign_in, county, post, report

API = "/api/v1"
SAME_SITE = {"Sec-Fetch-Site": "same-origin"}
KEQIAO = "330603"


async def as_(client: httpx.AsyncClient, headers: dict[str, str]) -> None:
    client.cookies.clear()
    assert (await board_sign_in(client, bearer_token_of(headers))).status_code == 303


async def send(
    client: httpx.AsyncClient, event_id: str, command: str, **form: str
) -> httpx.Response:
    return await client.post(
        f"/board/events/{event_id}/console/{command}", data=form, headers=SAME_SITE
    )


def forms(page: str) -> set[str]:
    """The commands the page offers: the last part of each form's action."""
    return set(re.findall(r'action="[^"]*/console/(\w+)"', page))


async def test_a_commander_ends_a_iii_response_from_the_console(
    client: httpx.AsyncClient, make_token: MakeToken
) -> None:
    dispatcher = await make_token("dispatcher")
    city = await make_token("commander", region="330600")
    first = await post(client, dispatcher, report(county(KEQIAO, 200, 130)))
    event_id = first["event_id"]
    assert (first["state"], first["leading_hq"]["region"]) == ("response", "330600")
    console = f"/board/events/{event_id}/console"

    await as_(client, city)
    page = await client.get(console)
    assert page.status_code == 200
    assert forms(page.text) == {"level", "attest", "terminate"}
    assert "III级 较大" in page.text and "绍兴市大面积停电事件应急指挥部" in page.text
    assert re.search(r'<button type="submit" class="complete" disabled', page.text)
    assert "尚未满足：" in page.text and "减供负荷恢复" in page.text

    for condition, evidence in (
        ("grid_stable", "220千伏主网架已恢复"),
        ("hazard_removed", "倒塔隐患已消除"),
        ("secondary_handled", "次生火灾已扑灭"),
    ):
        done = await send(client, event_id, "attest", condition=condition, evidence=evidence)
        assert (done.status_code, done.headers["location"]) == (303, f"{console}?did=attest")
    page = await client.get(f"{console}?did=attest")
    assert "已确认终止条件。" in page.text and "倒塔隐患已消除" in page.text
    # the same form sent twice (a double tap) makes one statement
    once = re.search(r'name="once" value="([0-9a-f]+)"', page.text)
    assert once
    for _ in range(2):
        twice = await send(
            client, event_id, "attest", condition="grid_stable", evidence="再次核实", once=once[1]
        )
        assert twice.status_code == 303
    check = (await client.get(f"{API}/events/{event_id}/termination-check", headers=city)).json()
    (grid,) = [c for c in check["conditions"] if c["key"] == "grid_stable"]
    assert [s["evidence"] for s in grid["attestations"]] == ["220千伏主网架已恢复", "再次核实"]
    assert "withdraw" in forms(page.text)
    # the load is not back yet: ending is refused in words, and the button stays held
    refused = await send(client, event_id, "terminate")
    assert refused.status_code == 409 and 'role="alert"' in refused.text
    assert re.search(r'class="complete" disabled', refused.text)

    await post(
        client,
        dispatcher,
        report(county(KEQIAO, 200, 10), minutes=60) | {"event_id": event_id},
    )
    page = await client.get(console)
    assert "尚未满足" not in page.text
    assert not re.search(r'class="complete" disabled', page.text)
    ended = await send(client, event_id, "terminate", reason="负荷恢复95%", reconstruction="on")
    assert (ended.status_code, ended.headers["location"]) == (303, f"{console}?did=terminate")
    detail = (await client.get(f"{API}/events/{event_id}", headers=city)).json()
    assert detail["state"] == "terminated"
    page = await client.get(ended.headers["location"])
    assert "已终止应急响应。" in page.text and forms(page.text) == set()


async def test_each_button_only_for_whom_the_plan_lets_act(
    client: httpx.AsyncClient, make_token: MakeToken
) -> None:
    dispatcher = await make_token("dispatcher")
    event_id = (await post(client, dispatcher, report(county(KEQIAO, 200, 130))))["event_id"]
    console = f"/board/events/{event_id}/console"
    # 柯桥区's HQ: the event lies in its area, but the city leads a III response
    county_hq = await make_token("commander", region=KEQIAO)
    await as_(client, county_hq)
    assert forms((await client.get(console)).text) == {"attest"}
    refused = await send(client, event_id, "terminate")
    assert refused.status_code == 403 and 'role="alert"' in refused.text
    # 越城区's HQ: not its area
    await as_(client, await make_token("commander", region="330602"))
    assert forms((await client.get(console)).text) == set()
    await as_(client, dispatcher)
    assert forms((await client.get(console)).text) == {"attest"}
    # a raise beyond the city's: the province leads II
    await as_(client, await make_token("commander", region="330600"))
    raised = await send(client, event_id, "level", level="II", reason="扩大")
    assert raised.status_code == 403 and 'role="alert"' in raised.text
    empty = await send(client, event_id, "level", level="II", reason="")
    assert empty.status_code == 422
    province = await make_token("commander", region="330000")
    await as_(client, province)
    assert forms((await client.get(console)).text) == {"level", "attest", "terminate"}
    assert (await send(client, event_id, "level", level="II", reason="扩大")).status_code == 303
    detail = (await client.get(f"{API}/events/{event_id}", headers=province)).json()
    assert detail["response_level"] == "II"
    # an observer, an agency: no console
    await as_(client, await make_token("observer"))
    assert (await client.get(console)).status_code == 403
    cross = await client.post(f"{console}/terminate", headers={"Sec-Fetch-Site": "cross-site"})
    assert cross.status_code in (403,)


async def test_a_standing_statement_is_withdrawn_from_the_console(
    client: httpx.AsyncClient, make_token: MakeToken
) -> None:
    dispatcher = await make_token("dispatcher")
    city = await make_token("commander", region="330600")
    event_id = (await post(client, dispatcher, report(county(KEQIAO, 200, 130))))["event_id"]
    await as_(client, city)
    assert (
        await send(client, event_id, "attest", condition="grid_stable", evidence="已稳定")
    ).status_code == 303
    page = (await client.get(f"/board/events/{event_id}/console")).text
    statement = re.search(r'name="attestation" value="([0-9a-f-]+)"', page)
    assert statement
    gone = await send(
        client, event_id, "withdraw", attestation=statement.group(1), reason="母线再次跳闸"
    )
    assert gone.status_code == 303
    check = (await client.get(f"{API}/events/{event_id}/termination-check", headers=city)).json()
    (grid,) = [c for c in check["conditions"] if c["key"] == "grid_stable"]
    assert grid["met"] is False and grid["attestations"][0]["state"] == "withdrawn"
    assert (
        await send(client, event_id, "withdraw", attestation="x", reason="r")
    ).status_code == 404
    assert (await send(client, event_id, "nothing")).status_code == 404


async def test_a_warning_is_published_and_lifted_from_the_console(
    client: httpx.AsyncClient, make_token: MakeToken
) -> None:
    """Plan 3.2.2.1: a commander whose HQ covers the warning's area publishes it; 3.2.2.3: only
    the HQ that published it lifts it (谁发布、谁解除)."""
    dispatcher = await make_token("dispatcher")
    body = {"area": [KEQIAO], "headline": "台风“梅花”", "description": "预计12小时内登陆"}
    proposed = await client.post(f"{API}/warnings", json=body, headers=dispatcher)
    assert proposed.status_code == 201, proposed.text
    event_id, warning_id = proposed.json()["event_id"], proposed.json()["id"]
    console = f"/board/events/{event_id}/console"

    await as_(client, await make_token("commander", region="330602"))  # 越城区: not its area
    assert "publish" not in forms((await client.get(console)).text)
    city = await make_token("commander", region="330600")
    await as_(client, city)
    page = (await client.get(console)).text
    assert forms(page) == {"publish", "start"} and "台风“梅花”" in page and "待发布" in page
    done = await send(client, event_id, "publish", warning=warning_id, reason="经研判发布")
    assert (done.status_code, done.headers["location"]) == (303, f"{console}?did=publish")
    page = (await client.get(done.headers["location"])).text
    assert "预警已发布。" in page and "已发布" in page and "lift" in forms(page)

    await as_(client, await make_token("commander", region=KEQIAO))  # not the publishing HQ
    assert "lift" not in forms((await client.get(console)).text)
    refused = await send(client, event_id, "lift", warning=warning_id)
    assert refused.status_code == 403 and "只有发布该预警的指挥部" in refused.text

    await as_(client, city)
    assert (await send(client, event_id, "lift", warning=warning_id)).status_code == 303
    detail = (await client.get(f"{API}/events/{event_id}", headers=city)).json()
    assert detail["state"] == "monitoring"  # the warning lifted, the event back to watching
    page = (await client.get(console)).text
    assert "已解除" in page and not {"publish", "lift"} & forms(page)


async def test_a_release_is_approved_or_rejected_by_its_reviewer_from_the_console(
    client: httpx.AsyncClient, make_token: MakeToken
) -> None:
    """Plan 5.4: a III event's releases are reviewed by the city's HQ (or one above); 柯桥区's
    HQ sees them without the buttons."""
    dispatcher = await make_token("dispatcher")
    event_id = (await post(client, dispatcher, report(county(KEQIAO, 200, 130))))["event_id"]
    body = {"headline": "柯桥区停电情况通报", "body": "抢修正在进行。", "topics": ["situation"]}
    made = []
    for _ in range(2):
        proposed = await client.post(
            f"{API}/events/{event_id}/releases", json=body, headers=dispatcher
        )
        assert proposed.status_code == 201, proposed.text
        made.append(proposed.json()["id"])
    console = f"/board/events/{event_id}/console"

    await as_(client, await make_token("commander", region=KEQIAO))
    page = (await client.get(console)).text
    assert "柯桥区停电情况通报" in page and not {"approve", "reject"} & forms(page)
    assert (await send(client, event_id, "approve", release=made[0])).status_code == 403

    city = await make_token("commander", region="330600")
    await as_(client, city)
    page = (await client.get(console)).text
    assert {"approve", "reject"} <= forms(page) and "送审中" in page
    done = await send(client, event_id, "approve", release=made[0], reason="核实无误")
    assert (done.status_code, done.headers["location"]) == (303, f"{console}?did=approve")
    assert (await send(client, event_id, "reject", release=made[1], reason="")).status_code == 422
    sent_back = await send(client, event_id, "reject", release=made[1], reason="数字待核实")
    assert sent_back.status_code == 303
    listed = (await client.get(f"{API}/events/{event_id}/releases", headers=city)).json()
    assert [r["state"] for r in listed["items"]] == ["published", "rejected"]
    page = (await client.get(console)).text
    assert not {"approve", "reject"} & forms(page)
