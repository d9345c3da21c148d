"""The API's words for people follow Accept-Language: Chinese by default, English on request."""

from __future__ import annotations

import re

import httpx

from tests.helpers import MakeToken, county, post, report

CJK = re.compile(r"[\u4e00-\u9fff]")


async def test_timeline_text_is_chinese_unless_english_is_asked_for(
    client: httpx.AsyncClient, make_token: MakeToken
) -> None:
    dispatcher = await make_token("dispatcher", name="城调 值班")
    event_id = (await post(client, dispatcher, report(county("330603", 200, 90))))["event_id"]
    url = f"/api/v1/events/{event_id}/timeline"

    chinese = (await client.get(url, headers=dispatcher)).json()["items"]
    by_kind = {entry["kind"]: entry["text"] for entry in chinese}
    assert by_kind["report"] == "城调 值班报送停电信息，达到IV级 一般"
    assert by_kind["response_started"] == (
        "信息报告达到IV级 一般，系统按预案启动IV级 一般应急响应，柯桥区大面积停电事件应急指挥部牵头"
    )
    assert all(CJK.search(entry["text"]) for entry in chinese)

    asked = {**dispatcher, "Accept-Language": "en-GB,en;q=0.9,zh;q=0.5"}
    english = (await client.get(url, headers=asked)).json()["items"]
    by_kind = {entry["kind"]: entry["text"] for entry in english}
    assert by_kind["report"] == "城调 值班 reported the outage, reaching level IV (general)"
    # the record itself does not change with the language
    assert [e["summary"] for e in english] == [e["summary"] for e in chinese]


def test_every_problem_title_is_its_own_english() -> None:
    from service.api.problems import TITLES
    from service.words import use

    with use("en"):
        assert {title: said() for title, said in TITLES.items()} == {t: t for t in TITLES}
    assert all(CJK.search(said()) for said in TITLES.values())


async def test_problems_are_english_unless_chinese_is_asked_for(
    client: httpx.AsyncClient, make_token: MakeToken
) -> None:
    dispatcher = await make_token("dispatcher")
    bad = {"snapshots": [{"scope": "county", "region": "柯桥区", "load_mw": 1, "load_lost_mw": 0}]}
    english = await client.post("/api/v1/reports", json=bad, headers=dispatcher)
    assert english.status_code == 422
    assert english.json()["title"] == "Invalid input"
    messages = {e["field"]: e["message"] for e in english.json()["errors"]}
    assert messages["snapshots[0].region"].startswith(
        '"柯桥区" is a name; send its six-digit GB/T 2260 code "330603"'
    )
    assert messages["cause"] == "Field required"

    asked = {**dispatcher, "Accept-Language": "zh-CN,zh;q=0.9"}
    chinese = await client.post("/api/v1/reports", json=bad, headers=asked)
    assert chinese.status_code == 422
    body = chinese.json()
    assert body["title"] == "输入无效"
    messages = {e["field"]: e["message"] for e in body["errors"]}
    assert messages["snapshots[0].region"].startswith(
        "“柯桥区”是名称；请改为发送它的六位 GB/T 2260 代码“330603”"
    )
    assert messages["cause"] == "必填"

    not_json = await client.post(
        "/api/v1/reports", content=b"{", headers={**asked, "Content-Type": "application/json"}
    )
    assert not_json.json()["title"] == "输入无效" and "不是有效的 JSON" in not_json.text
    nowhere = "/api/v1/events/00000000-0000-0000-0000-000000000000"
    unknown = await client.get(nowhere, headers=asked)
    assert unknown.status_code == 404 and unknown.json()["title"] == "未找到"
    assert unknown.json()["detail"] == "事件 00000000-0000-0000-0000-000000000000 不存在"
    english_404 = (await client.get(nowhere, headers=dispatcher)).json()
    assert english_404["detail"] == "event 00000000-0000-0000-0000-000000000000 does not exist"
    # a refusal of the plan, with its values, in either language
    agency = await make_token("agency", agency="power-company")
    refused = await client.post("/api/v1/reports", json=bad, headers=agency)
    assert refused.json()["detail"].startswith("role 'agency' may not do this; allowed: ")
    refused = await client.post(
        "/api/v1/reports", json=bad, headers={**agency, "Accept-Language": "zh-CN"}
    )
    assert refused.json()["detail"].startswith("角色“agency”无权执行此操作；可执行的角色：")
    # the words for people stay Chinese by default, the problem English by default
    assert (await client.get("/api/v1/nowhere", headers=dispatcher)).json()["title"] == "Not Found"


async def test_the_evaluation_is_english_on_request(
    client: httpx.AsyncClient, make_token: MakeToken
) -> None:
    dispatcher = await make_token("dispatcher", name="城调 值班")
    city = await make_token("commander", region="330600")
    event_id = (await post(client, dispatcher, report(county("330603", 200, 90))))["event_id"]
    url = f"/api/v1/events/{event_id}/evaluation.html"

    chinese = await client.get(url, headers=city)
    assert chinese.status_code == 200 and "一、事件概况" in chinese.text
    english = await client.get(url, headers={**city, "Accept-Language": "en"})
    assert english.status_code == 200
    assert "1. Overview" in english.text and "一、事件概况" not in english.text
    # names stay the playbooks' own
    assert "柯桥区" in english.text
