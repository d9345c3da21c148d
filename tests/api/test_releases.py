"""Public releases (plan 5.4) through HTTP, on both databases: who proposes, who reviews, what
is public, and what the timeline keeps."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import update

from models import Event
from service.flows.context import AppContext
from tests.helpers import MakeToken, county, documented_operations, event_list, post, report

KEQIAO, SHANGYU, CITY, PROVINCE = "330603", "330604", "330600", "330000"
IV_KEQIAO = county(KEQIAO, 151.0, 60.4)  # 40% of a county grid < 150 MW: IV, 柯桥区 leads
III_KEQIAO = county(KEQIAO, 200, 130)  # 65% of a county grid ≥ 150 MW: III, the city leads
II_CITY = {"scope": "city", "region": CITY, "load_mw": 1000, "load_lost_mw": 600}  # II
BELOW = county(KEQIAO, 151.0, 10)  # below every threshold: monitoring, no HQ leads


def release(*topics: str, **extra: Any) -> dict[str, Any]:
    return {
        "headline": "柯桥区停电情况通报",
        "body": "今日14时起柯桥区部分区域停电，抢修正在进行。",
        "topics": list(topics or ("situation",)),
        **extra,
    }


async def open_event(client: httpx.AsyncClient, make_token: MakeToken, *snapshots: Any) -> str:
    dispatcher = await make_token("dispatcher")
    return str((await post(client, dispatcher, report(*snapshots)))["event_id"])


async def propose(
    client: httpx.AsyncClient, headers: dict[str, str], event_id: str, body: dict[str, Any]
) -> httpx.Response:
    return await client.post(f"/api/v1/events/{event_id}/releases", json=body, headers=headers)


async def decide(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    release_id: str,
    verb: str,
    body: dict[str, Any] | None = None,
) -> httpx.Response:
    url = f"/api/v1/releases/{release_id}/{verb}"
    return await client.post(url, json=body or {}, headers=headers)


PROPOSERS: list[tuple[str, dict[str, str], int]] = [
    ("commander", {"region": CITY}, 201),
    ("dispatcher", {}, 201),
    ("agency", {"agency": "publicity"}, 201),
    ("agency", {"agency": "power-company"}, 201),
    ("agency", {"agency": "health"}, 403),
    ("agency", {"agency": "hq-city"}, 403),
    ("observer", {}, 403),
    ("admin", {}, 403),
]


@pytest.mark.parametrize(("role", "scope", "status"), PROPOSERS)
async def test_who_may_propose(
    client: httpx.AsyncClient, make_token: MakeToken, role: str, scope: dict[str, str], status: int
) -> None:
    event_id = await open_event(client, make_token, III_KEQIAO)
    answer = await propose(client, await make_token(role, **scope), event_id, release())
    assert answer.status_code == status, answer.text
    if status == 201:
        made = answer.json()
        assert made["state"] == "proposed" and made["reviewer"]["region"] == CITY
        assert made["reviewer"]["name"] == "绍兴市大面积停电事件应急指挥部"
        assert made["published_at"] is None and made["approved_by"] is None
    else:
        assert answer.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize(
    ("snapshots", "topics", "reviewer"),
    [
        ([IV_KEQIAO], ["situation", "casualties"], KEQIAO),  # county-led IV → the county HQ
        ([III_KEQIAO], ["trend", "losses"], CITY),  # city-led III → the city HQ
        ([II_CITY], ["trend"], PROVINCE),  # II with trend → the province HQ
        ([II_CITY], ["casualties"], PROVINCE),
        ([II_CITY], ["situation", "handling"], PROVINCE),  # the leading HQ: the province at II
        ([BELOW], ["situation"], KEQIAO),  # no HQ leads yet: the HQ over the event's grids
        ([BELOW, county(SHANGYU, 180, 10)], ["situation"], CITY),
    ],
)
async def test_the_reviewer_chosen(
    client: httpx.AsyncClient,
    make_token: MakeToken,
    snapshots: list[dict[str, Any]],
    topics: list[str],
    reviewer: str,
) -> None:
    event_id = await open_event(client, make_token, *snapshots)
    answer = await propose(client, await make_token("dispatcher"), event_id, release(*topics))
    assert answer.status_code == 201, answer.text
    assert answer.json()["reviewer"]["region"] == reviewer


async def test_a_response_lowered_from_ii_keeps_major_news_with_the_province(
    client: httpx.AsyncClient, make_token: MakeToken
) -> None:
    """The one case where topics change the reviewer: the event peaked at II, the city leads."""
    event_id = await open_event(client, make_token, II_CITY)
    province = await make_token("commander", region=PROVINCE)
    lowered = await client.post(
        f"/api/v1/events/{event_id}/level",
        json={"level": "III", "reason": "负荷大部恢复"},
        headers=province,
    )
    assert lowered.json()["leading_hq"]["region"] == CITY
    dispatcher = await make_token("dispatcher")
    plain = await propose(client, dispatcher, event_id, release("situation", "handling"))
    major = await propose(client, dispatcher, event_id, release("situation", "losses"))
    assert plain.json()["reviewer"]["region"] == CITY
    assert major.json()["reviewer"]["region"] == PROVINCE


async def test_a_lower_hq_may_not_approve_a_higher_one_may(
    client: httpx.AsyncClient, make_token: MakeToken
) -> None:
    event_id = await open_event(client, make_token, IV_KEQIAO)
    made = (await propose(client, await make_token("dispatcher"), event_id, release())).json()
    assert made["reviewer"]["region"] == KEQIAO
    shangyu = await make_token("commander", region=SHANGYU)
    keqiao = await make_token("commander", region=KEQIAO)
    city = await make_token("commander", name="市指挥部 指挥长", region=CITY)
    refused = await decide(client, shangyu, made["id"], "approve")
    assert refused.status_code == 403 and refused.json()["reviewer"] == KEQIAO
    approved = await decide(client, city, made["id"], "approve", {"reason": "核实无误"})
    assert approved.status_code == 200, approved.text
    published = approved.json()
    assert published["state"] == "published" and published["published_at"]
    assert published["approved_by"] == "commander:市指挥部 指挥长@330600"
    assert published["reason"] == "核实无误" and published["rejected_by"] is None
    # deciding again: the HQ first (403 for a stranger), then the state (409)
    assert (await decide(client, shangyu, made["id"], "approve")).status_code == 403
    again = await decide(client, keqiao, made["id"], "approve")
    assert again.status_code == 409 and again.json()["state"] == "published"
    assert (await decide(client, city, made["id"], "reject", {"reason": "x"})).status_code == 409
    assert [r["state"] for r in await event_list(client, keqiao, event_id, "releases")] == [
        "published"
    ]


async def test_a_county_may_not_approve_what_the_city_reviews(
    client: httpx.AsyncClient, make_token: MakeToken
) -> None:
    event_id = await open_event(client, make_token, III_KEQIAO)
    made = (await propose(client, await make_token("dispatcher"), event_id, release())).json()
    keqiao = await make_token("commander", region=KEQIAO)
    assert (await decide(client, keqiao, made["id"], "approve")).status_code == 403
    assert (await decide(client, keqiao, made["id"], "reject", {"reason": "x"})).status_code == 403
    province = await make_token("commander", region=PROVINCE)
    assert (await decide(client, province, made["id"], "approve")).status_code == 200


async def test_a_level_rising_before_review_sends_the_release_higher(
    client: httpx.AsyncClient, make_token: MakeToken
) -> None:
    """Judged again at approval: casualties proposed at IV, the event then reaches II."""
    dispatcher = await make_token("dispatcher")
    event_id = await open_event(client, make_token, IV_KEQIAO)
    made = (await propose(client, dispatcher, event_id, release("casualties"))).json()
    assert made["reviewer"]["region"] == KEQIAO
    await post(client, dispatcher, report(II_CITY, minutes=30, event_id=event_id))
    (pending,) = await event_list(client, dispatcher, event_id, "releases")
    assert pending["reviewer"]["region"] == PROVINCE
    for region in (KEQIAO, CITY):
        commander = await make_token("commander", region=region)
        refused = await decide(client, commander, made["id"], "approve")
        assert refused.status_code == 403 and refused.json()["reviewer"] == PROVINCE
    province = await make_token("commander", region=PROVINCE)
    approved = (await decide(client, province, made["id"], "approve")).json()
    assert approved["state"] == "published" and approved["reviewer"]["region"] == PROVINCE


async def test_a_rejection_needs_and_keeps_its_reason(
    client: httpx.AsyncClient, make_token: MakeToken
) -> None:
    event_id = await open_event(client, make_token, IV_KEQIAO)
    power = await make_token("agency", agency="power-company")
    made = (await propose(client, power, event_id, release())).json()
    keqiao = await make_token("commander", name="柯桥 指挥长", region=KEQIAO)
    for body in ({}, {"reason": ""}, {"reason": "  "}):
        missing = await decide(client, keqiao, made["id"], "reject", body)
        assert missing.status_code == 422 and missing.json()["errors"][0]["field"] == "reason"
    rejected = await decide(client, keqiao, made["id"], "reject", {"reason": "伤亡数字未核实"})
    assert rejected.status_code == 200, rejected.text
    kept = rejected.json()
    assert kept["state"] == "rejected" and kept["reason"] == "伤亡数字未核实"
    assert kept["rejected_by"] == "commander:柯桥 指挥长@330603" and kept["rejected_at"]
    assert kept["published_at"] is None and kept["approved_by"] is None
    assert (await decide(client, keqiao, made["id"], "approve")).status_code == 409
    # the proposer reads why; the reason is on the timeline too
    (seen,) = await event_list(client, power, event_id, "releases")
    assert seen["state"] == "rejected" and seen["reason"] == "伤亡数字未核实"
    timeline = await client.get(f"/api/v1/events/{event_id}/timeline", headers=keqiao)
    (entry,) = [e for e in timeline.json()["items"] if e["kind"] == "release_rejected"]
    assert entry["data"]["reason"] == "伤亡数字未核实" and entry["clause"] == "5.4"


async def test_the_timeline_records_who_proposed_and_who_approved(
    client: httpx.AsyncClient, make_token: MakeToken
) -> None:
    event_id = await open_event(client, make_token, III_KEQIAO)
    publicity = await make_token("agency", name="宣传部 值班", agency="publicity")
    city = await make_token("commander", name="市指挥部 指挥长", region=CITY)
    made = (await propose(client, publicity, event_id, release("situation", "handling"))).json()
    await decide(client, city, made["id"], "approve")
    timeline = await client.get(f"/api/v1/events/{event_id}/timeline", headers=city)
    entries = {e["kind"]: e for e in timeline.json()["items"] if e["kind"].startswith("release_")}
    assert list(entries) == ["release_proposed", "release_published"]
    proposed, published = entries["release_proposed"], entries["release_published"]
    assert proposed["actor"] == "agency:宣传部 值班@publicity"
    assert published["actor"] == "commander:市指挥部 指挥长@330600"
    assert proposed["clause"] == published["clause"] == "5.4"
    assert proposed["data"]["release_id"] == published["data"]["release_id"] == made["id"]
    assert proposed["data"]["reviewer"] == CITY and proposed["data"]["level"] == "III"
    assert proposed["data"]["topics"] == ["situation", "handling"]
    assert published["seq"] > proposed["seq"]


async def test_releases_are_listed_in_the_order_proposed(
    client: httpx.AsyncClient, make_token: MakeToken
) -> None:
    event_id = await open_event(client, make_token, IV_KEQIAO)
    dispatcher = await make_token("dispatcher")
    headlines = [f"第{n}次通报" for n in range(1, 5)]
    for headline in headlines:
        assert (await propose(client, dispatcher, event_id, release(headline=headline))).is_success
    assert [
        r["headline"] for r in await event_list(client, dispatcher, event_id, "releases")
    ] == headlines
    paged: list[str] = []
    query: dict[str, Any] = {"limit": 1}
    while True:
        page = await client.get(
            f"/api/v1/events/{event_id}/releases", params=query, headers=dispatcher
        )
        paged += [r["headline"] for r in page.json()["items"]]
        if page.json()["next"] is None:
            break
        query = {"limit": 1, "cursor": page.json()["next"]}
    assert paged == headlines


async def test_an_agency_reads_published_releases_and_its_own(
    client: httpx.AsyncClient, make_token: MakeToken
) -> None:
    event_id = await open_event(client, make_token, IV_KEQIAO)
    power = await make_token("agency", agency="power-company")
    publicity = await make_token("agency", agency="publicity")
    mine = (await propose(client, publicity, event_id, release(headline="宣传部稿"))).json()
    theirs = (await propose(client, power, event_id, release(headline="电力局稿"))).json()
    assert [r["id"] for r in await event_list(client, publicity, event_id, "releases")] == [
        mine["id"]
    ]
    assert [r["id"] for r in await event_list(client, power, event_id, "releases")] == [
        theirs["id"]
    ]
    city = await make_token("commander", region=CITY)
    await decide(client, city, theirs["id"], "approve")
    seen = await event_list(client, publicity, event_id, "releases")
    assert [r["id"] for r in seen] == [mine["id"], theirs["id"]]
    assert seen[1]["state"] == "published"
    assert len(await event_list(client, city, event_id, "releases")) == 2


async def test_an_agency_that_does_not_see_the_event_gets_404(
    client: httpx.AsyncClient, make_token: MakeToken
) -> None:
    # monitoring: only the power company's monitoring duties (plan 3.2.1), none of publicity's
    event_id = await open_event(client, make_token, BELOW)
    publicity = await make_token("agency", agency="publicity")
    assert (await propose(client, publicity, event_id, release())).status_code == 404
    answer = await client.get(f"/api/v1/events/{event_id}/releases", headers=publicity)
    assert answer.status_code == 404
    dispatcher = await make_token("dispatcher")
    unknown = str(uuid.uuid4())
    assert (await propose(client, dispatcher, unknown, release())).status_code == 404
    city = await make_token("commander", region=CITY)
    assert (await decide(client, city, unknown, "approve")).status_code == 404


async def test_a_region_limited_token_proposes_only_within_its_region(
    client: httpx.AsyncClient, make_token: MakeToken
) -> None:
    event_id = await open_event(client, make_token, IV_KEQIAO)
    shangyu = await make_token("commander", region=SHANGYU)
    assert (await propose(client, shangyu, event_id, release())).status_code == 403
    keqiao = await make_token("dispatcher", region=KEQIAO)
    assert (await propose(client, keqiao, event_id, release())).status_code == 201


async def set_state(context: AppContext, event_id: str, state: str) -> None:
    async with context.sessions() as session:
        await session.execute(
            update(Event).where(Event.id == uuid.UUID(event_id)).values(state=state)
        )
        await session.commit()


async def test_terminated_events_take_releases_closed_ones_do_not(
    client: httpx.AsyncClient, make_token: MakeToken, context: AppContext
) -> None:
    """Plan 6's aftermath is news: proposals go on after termination, and stop at closing."""
    event_id = await open_event(client, make_token, IV_KEQIAO)
    dispatcher = await make_token("dispatcher")
    keqiao = await make_token("commander", region=KEQIAO)
    await set_state(context, event_id, "terminated")
    first = (await propose(client, dispatcher, event_id, release("handling"))).json()
    second = (await propose(client, dispatcher, event_id, release("losses"))).json()
    assert first["reviewer"]["region"] == KEQIAO  # the HQ that led keeps the review
    await set_state(context, event_id, "closed")
    closed = await propose(client, dispatcher, event_id, release())
    assert closed.status_code == 409 and closed.json()["state"] == "closed"
    # nothing more is published for a closed event; a pending proposal may still be refused
    approving = await decide(client, keqiao, first["id"], "approve")
    assert approving.status_code == 409 and approving.json()["state"] == "closed"
    rejecting = await decide(client, keqiao, second["id"], "reject", {"reason": "事件已关闭"})
    assert rejecting.json()["state"] == "rejected"


async def test_a_drill_release_is_marked_drill(
    client: httpx.AsyncClient, make_token: MakeToken
) -> None:
    dispatcher = await make_token("dispatcher")
    event_id = (await post(client, dispatcher, report(IV_KEQIAO, drill=True)))["event_id"]
    made = (await propose(client, dispatcher, event_id, release())).json()
    assert made["drill"] is True
    timeline = await client.get(f"/api/v1/events/{event_id}/timeline", headers=dispatcher)
    (entry,) = [e for e in timeline.json()["items"] if e["kind"] == "release_proposed"]
    assert entry["summary"].endswith("(drill)")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (release(headline="停电\x00通报"), "headline"),
        (release(headline="x" * 201), "headline"),
        (release(headline=" "), "headline"),
        (release(body="正文\x07"), "body"),
        (release(body="正文\x1b[31m"), "body"),
        (release(body="正文\x7f"), "body"),
        (release(body="正文\x85"), "body"),
        (release(body="x" * 8001), "body"),
        (release(topics=[]), "topics"),
        (release(topics=["situation", "situation"]), "topics"),
        (release(topics=["weather"]), "topics[0]"),
    ],
)
async def test_release_text_is_refused_naming_the_field(
    client: httpx.AsyncClient, make_token: MakeToken, body: dict[str, Any], field: str
) -> None:
    event_id = await open_event(client, make_token, IV_KEQIAO)
    answer = await propose(client, await make_token("dispatcher"), event_id, body)
    assert answer.status_code == 422, answer.text
    assert answer.json()["errors"][0]["field"] == field


async def test_tabs_newlines_and_cjk_are_kept_a_lone_surrogate_is_not(
    client: httpx.AsyncClient, make_token: MakeToken
) -> None:
    event_id = await open_event(client, make_token, IV_KEQIAO)
    dispatcher = await make_token("dispatcher")
    text = "一、停电情况\r\n\t柯桥区约15万户停电。\n二、处置：抢修中"
    made = await propose(client, dispatcher, event_id, release(body=text))
    assert made.status_code == 201 and made.json()["body"] == text
    raw = '{"headline": "通报", "body": "a\\ud800b", "topics": ["situation"]}'
    surrogate = await client.post(
        f"/api/v1/events/{event_id}/releases",
        content=raw,
        headers={**dispatcher, "Content-Type": "application/json"},
    )
    assert surrogate.status_code == 422 and surrogate.json()["errors"][0]["field"] == "body"
    city = await make_token("commander", region=CITY)
    control = await decide(client, city, made.json()["id"], "reject", {"reason": "理由\x00"})
    assert control.status_code == 422
    [error] = control.json()["errors"]
    # worded as for every free-text field (service.flows.schemas.Text)
    assert error == {
        "field": "reason",
        "message": "holds the control character U+0000 at character 3; text may hold any "
        "character but the control characters other than tab, newline and carriage return",
    }


def test_the_docs_name_and_explain_every_releases_operation() -> None:
    assert sorted(documented_operations("releases")) == [
        "approve_release",
        "list_releases",
        "propose_release",
        "reject_release",
    ]
