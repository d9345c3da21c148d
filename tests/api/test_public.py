"""The public page and its feeds (plan 3.2.2.1: 多途径、多手段无偿向社会公众发布; 5.4), on SQLite
and PostgreSQL: no token, what is published and nothing internal, a release approved by the
HQ that reviews it on the page and in the feed, feedparser reading both feeds, every CAP
message they link valid, and the answers cacheable (ETag, Cache-Control, 304).

The story: a dispatcher proposes a warning for 柯桥区, which the city HQ publishes, then reports
柯桥区 out (IV, with an estimated restoration time: the warning's Update); a release is proposed
and approved by 柯桥区's HQ (the one that reviews it at IV); a second release waits for review;
a drill's warning is published beside it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import feedparser
import httpx
import pytest

from service.api.metrics import PUBLIC_FRONT_ANSWERS
from service.flows.context import AppContext
from tests.helpers import (
    CAP,
    T0,
    Clock,
    MakeToken,
    cap_faults,
    county,
    post,
    report,
)

API = "/api/v1"
KEQIAO, XINCHANG, CITY = "330603", "330624", "330600"
# What only the command centre reads: never on the public page or in its feeds.
INTERNAL = ("城调 值班", "柯桥 指挥", "内容核实无误", "尚未审核的通报", "演练", "Bearer", "任务")


@pytest.fixture
def checked_each_time(app_and_context: tuple[Any, AppContext]) -> Iterator[None]:
    """The public editions check the version at every request (a test changes the data
    between requests, faster than the worker's once a second)."""
    editions = app_and_context[0].state.public_editions
    held = editions.check_seconds
    editions.check_seconds = 0
    yield
    editions.check_seconds = held


async def call(client: httpx.AsyncClient, path: str, headers: dict[str, str], **body: Any) -> Any:
    answer = await client.post(f"{API}{path}", json=body, headers=headers)
    assert answer.status_code in (200, 201), answer.text
    return answer.json()


async def story(client: httpx.AsyncClient, make_token: MakeToken, clock: Clock) -> dict[str, Any]:
    dispatcher = await make_token("dispatcher", name="城调 值班")
    city = await make_token("commander", name="市指挥 值班", region=CITY)
    keqiao = await make_token("commander", name="柯桥 指挥", region=KEQIAO)
    xinchang = await make_token("commander", region=XINCHANG)
    clock.set(0)
    warning = await call(
        client,
        "/warnings",
        dispatcher,
        area=[KEQIAO],
        headline="柯桥区大面积停电预警",
        description="受台风影响，柯桥区电网可能继续失负荷。",
    )
    event_id = warning["event_id"]
    clock.set(5)
    await call(client, f"/warnings/{warning['id']}/publish", city)
    clock.set(8)  # 柯桥区 at IV, with an estimated restoration time: the response starts
    etr = (T0 + timedelta(hours=8)).isoformat()
    lost = county(KEQIAO, 151.0, 60.4, customers=200_000, customers_out=52_000)
    await post(client, dispatcher, report(lost, minutes=8, etr=etr) | {"event_id": event_id})
    clock.set(10)
    approved = await call(
        client,
        f"/events/{event_id}/releases",
        dispatcher,
        headline="柯桥区停电情况通报",
        body="今日14时起柯桥区部分区域停电，抢修正在进行。",
        topics=["situation"],
    )
    await call(client, f"/releases/{approved['id']}/approve", keqiao, reason="内容核实无误")
    waiting = await call(
        client,
        f"/events/{event_id}/releases",
        dispatcher,
        headline="尚未审核的通报",
        body="尚未审核的通报。",
        topics=["situation"],
    )
    drill = await call(
        client,
        "/warnings",
        dispatcher,
        area=[XINCHANG],
        headline="演练：新昌县停电预警",
        description="演练",
        drill=True,
    )
    await call(client, f"/warnings/{drill['id']}/publish", xinchang)
    return {
        "event_id": event_id,
        "warning": warning["id"],
        "release": approved["id"],
        "waiting": waiting["id"],
        "drill": drill["id"],
        "city": city,
    }


async def test_the_page_shows_what_is_published_and_nothing_internal(
    client: httpx.AsyncClient, make_token: MakeToken, clock: Clock, checked_each_time: None
) -> None:
    told = await story(client, make_token, clock)
    answer = await client.get("/public")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/html")
    page = answer.text
    assert "柯桥区大面积停电预警" in page and f'id="warning-{told["warning"]}"' in page
    assert "柯桥区停电情况通报" in page and f'id="release-{told["release"]}"' in page
    assert "绍兴市大面积停电事件应急指挥部 发布" in page  # the warning's publisher, by name
    assert "柯桥区大面积停电事件应急指挥部 发布" in page  # the HQ that approved the release
    # the area: customers out, restoration so far, the estimated restoration (22:00 Shaoxing)
    assert "柯桥区" in page and "52,000" in page and "0.0%" in page and "07-20 22:00" in page
    assert "重要电力用户请做好自备应急电源启用准备" in page  # the plan's advice
    for internal in INTERNAL:
        assert internal not in page, internal
    assert f"/public/warnings/{told['warning']}/cap/level-" in page  # its latest: the Update


async def test_the_page_is_cacheable(
    client: httpx.AsyncClient, make_token: MakeToken, clock: Clock, checked_each_time: None
) -> None:
    told = await story(client, make_token, clock)
    first = await client.get("/public")
    etag = first.headers["etag"]
    assert first.headers["cache-control"] == "public, max-age=30"
    again = await client.get("/public", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b"" and again.headers["etag"] == etag
    weak = await client.get("/public", headers={"If-None-Match": f'W/{etag}, "other"'})
    assert weak.status_code == 304
    # a change to what it shows is a new page and a new ETag; one it does not show is not
    await call(client, f"/warnings/{told['warning']}/lift", told["city"])
    changed = await client.get("/public", headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["etag"] != etag
    assert "柯桥区大面积停电预警" not in changed.text  # lifted: no longer an active warning


async def test_a_flood_is_answered_from_memory(
    app_and_context: tuple[Any, AppContext],
    client: httpx.AsyncClient,
    make_token: MakeToken,
    clock: Clock,
) -> None:
    """Within a check's interval the page is the edition already rendered: a change shows at
    the first request after it."""
    editions = app_and_context[0].state.public_editions
    editions.check_seconds = 3600
    try:
        editions._checked = -math.inf  # the edition of an earlier test is checked first
        before = await client.get("/public")
        told = await story(client, make_token, clock)
        held = await client.get("/public")
        assert held.content == before.content  # from memory: the story is not read yet
        editions._checked = -math.inf  # the hour has passed
        after = await client.get("/public")
        assert "柯桥区停电情况通报" in after.text and told["release"] in after.text
    finally:
        editions.check_seconds = 1.0


async def test_the_front_answers_a_fresh_edition_before_the_app(
    app_and_context: tuple[Any, AppContext], client: httpx.AsyncClient
) -> None:
    """Once an edition is made, the page and feeds (and their 304s, and HEAD) come from the
    front, counted on /metrics, with the headers the routes give."""
    editions = app_and_context[0].state.public_editions
    editions.check_seconds = 3600
    try:
        editions._checked = -math.inf
        routed = await client.get("/public/feed.atom")  # checked and rendered by the route
        before = PUBLIC_FRONT_ANSWERS.labels("/public/feed.atom", "200")._value.get()
        front = await client.get("/public/feed.atom")
        assert PUBLIC_FRONT_ANSWERS.labels("/public/feed.atom", "200")._value.get() == before + 1
        assert front.content == routed.content
        for header in ("etag", "cache-control", "content-type", "content-security-policy"):
            assert front.headers[header] == routed.headers[header], header
        tag = front.headers["etag"]
        held = await client.get("/public/feed.atom", headers={"If-None-Match": tag})
        assert held.status_code == 304 and held.content == b""
        head = await client.head("/public/feed.atom")
        assert head.status_code == 200 and head.content == b""
        assert head.headers["content-length"] == str(len(routed.content))
    finally:
        editions.check_seconds = 1.0


async def test_feeds_carry_the_warning_and_the_release(
    client: httpx.AsyncClient, make_token: MakeToken, clock: Clock, checked_each_time: None
) -> None:
    told = await story(client, make_token, clock)
    answer = await client.get("/public/feed.atom")
    assert answer.headers["content-type"].startswith("application/atom+xml")
    assert answer.headers["etag"] and answer.headers["cache-control"].startswith("public")
    feed = feedparser.parse(answer.content)
    assert not feed.bozo, feed.bozo_exception
    assert feed.feed.title and feed.feed.language == "zh-CN"
    ids = [entry.id for entry in feed.entries]
    assert ids == [f"urn:uuid:{told['release']}", f"urn:uuid:{told['warning']}"]  # newest first
    release, warning = feed.entries
    assert release.title == "柯桥区停电情况通报" and "抢修正在进行" in release.content[0].value
    assert warning.title == "停电预警：柯桥区大面积停电预警"
    assert release.author == "柯桥区大面积停电事件应急指挥部"
    [related] = [link for link in warning.links if link.rel == "related"]
    assert related.type == "application/cap+xml" and "/cap/level-" in related.href
    text = answer.text
    for internal in INTERNAL:
        assert internal not in text, internal

    index = await client.get("/public/alerts.atom")
    alerts = feedparser.parse(index.content)
    assert not alerts.bozo, alerts.bozo_exception
    [entry] = alerts.entries
    [link] = [link for link in entry.links if link.type == "application/cap+xml"]
    assert re.search(f"/public/warnings/{told['warning']}/cap/level-[0-9]+$", link.href)
    assert entry.cap_severity == "Minor" and entry.cap_msgtype == "Update"
    assert entry.cap_status == "Actual" and entry.cap_areadesc == "柯桥区"
    message = await client.get(urlsplit(link.href).path)
    assert message.status_code == 200, message.text
    assert message.headers["content-type"].startswith("application/cap+xml")
    assert cap_faults(message.content) == []
    assert entry.id in message.text  # the entry's id is the message's identifier
    for tag in ("onset", "expires", "instruction", "web", "contact"):
        assert f"<{tag}>" in message.text, tag


async def test_a_lifted_warning_links_its_cancel_and_every_message_is_public(
    client: httpx.AsyncClient, make_token: MakeToken, clock: Clock, checked_each_time: None
) -> None:
    told = await story(client, make_token, clock)
    clock.set(30)
    await call(client, f"/warnings/{told['warning']}/lift", told["city"], reason="内部理由")
    alerts = feedparser.parse((await client.get("/public/alerts.atom")).content)
    [entry] = alerts.entries
    assert entry.cap_msgtype == "Cancel"
    feed = feedparser.parse((await client.get("/public/feed.atom")).content)
    assert feed.entries[0].title == "解除预警：柯桥区大面积停电预警"
    base = f"/public/warnings/{told['warning']}/cap"
    for path, kind in (
        (f"{base}/published", "Alert"),
        (f"{base}/lifted", "Cancel"),
        (base, "Cancel"),
    ):
        answer = await client.get(path)
        assert answer.status_code == 200, answer.text
        assert cap_faults(answer.content) == []
        assert f"<msgType>{kind}</msgType>" in answer.text
        assert "内部理由" not in answer.text
    # never public: the proposal, a drill's warning, an unknown warning or moment
    for path in (
        f"{base}/proposed",
        f"{base}/level-1",
        f"/public/warnings/{told['drill']}/cap",
        f"/public/warnings/{told['drill']}/cap/published",
        f"/public/warnings/{told['release']}/cap",
    ):
        assert (await client.get(path)).status_code == 404, path


async def test_a_warning_past_its_own_expiry_leaves_the_page_and_the_index(
    client: httpx.AsyncClient, make_token: MakeToken, clock: Clock, checked_each_time: None
) -> None:
    dispatcher = await make_token("dispatcher")
    city = await make_token("commander", region=CITY)
    clock.set(0)
    warning = await call(
        client,
        "/warnings",
        dispatcher,
        area=[KEQIAO],
        headline="今晚大风预警",
        description="今晚可能停电",
        expires=(T0 + timedelta(hours=1)).isoformat(),
    )
    await call(client, f"/warnings/{warning['id']}/publish", city)
    clock.set(59)
    page = await client.get("/public")
    assert "今晚大风预警" in page.text and "07-20 15:00" in page.text  # 有效至, Shaoxing time
    assert len(feedparser.parse((await client.get("/public/alerts.atom")).content).entries) == 1
    clock.set(60)  # no write: the expiry alone moves the version
    later = await client.get("/public", headers={"If-None-Match": page.headers["etag"]})
    assert later.status_code == 200 and "今晚大风预警" not in later.text
    assert feedparser.parse((await client.get("/public/alerts.atom")).content).entries == []
    assert "目前没有停电预警或停电事件" in later.text  # its event has nothing else to show
    news = feedparser.parse((await client.get("/public/feed.atom")).content)
    assert [entry.id for entry in news.entries] == [f"urn:uuid:{warning['id']}"]


async def test_a_proposed_warning_is_not_public(
    client: httpx.AsyncClient, make_token: MakeToken, clock: Clock, checked_each_time: None
) -> None:
    dispatcher = await make_token("dispatcher")
    proposed = await call(
        client, "/warnings", dispatcher, area=[KEQIAO], headline="待批预警", description="待批"
    )
    assert (await client.get(f"/public/warnings/{proposed['id']}/cap")).status_code == 404
    page = (await client.get("/public")).text
    assert "待批预警" not in page and "目前没有停电预警或停电事件" in page
    alerts = feedparser.parse((await client.get("/public/alerts.atom")).content)
    assert alerts.entries == [] and not alerts.bozo


def test_cap_namespace_is_capitalised_as_hubs_read_it() -> None:
    assert CAP == "{urn:oasis:names:tc:emergency:cap:1.2}"
