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
    assert (
        by_kind["response_started"] == "启动IV级 一般应急响应，柯桥区大面积停电事件应急指挥部牵头"
    )
    assert all(CJK.search(entry["text"]) for entry in chinese)

    asked = {**dispatcher, "Accept-Language": "en-GB,en;q=0.9,zh;q=0.5"}
    english = (await client.get(url, headers=asked)).json()["items"]
    by_kind = {entry["kind"]: entry["text"] for entry in english}
    assert by_kind["report"] == "城调 值班 reported the outage, reaching level IV (general)"
    # the record itself does not change with the language
    assert [e["summary"] for e in english] == [e["summary"] for e in chinese]
