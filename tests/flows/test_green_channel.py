"""Plan 3.2.2.1's green channel against real HTTP receivers on 127.0.0.1, on SQLite and
PostgreSQL: public channels hear published warnings (their updates and lifting) and approved
releases, with public content only or as CAP 1.2 messages valid by the OASIS schema, signed the
Standard Webhooks way; never a duty, a note or a drill they did not ask for."""

from __future__ import annotations

from typing import Any
from xml.etree import ElementTree as ET

import httpx
import pytest
from standardwebhooks.webhooks import Webhook

from service.flows.context import AppContext
from service.plan.notifications import PUBLIC_TYPES
from tests.helpers import (
    CAP,
    MakeToken,
    Receiver,
    cap_faults,
    county,
    deliveries,
    delivering,
    outbox_rows,
    post,
    report,
    subscribe,
)

API = "/api/v1"
KEQIAO, SHANGYU, CITY = "330603", "330604", "330600"
CITY_HQ = "绍兴市大面积停电事件应急指挥部"
WARNING = {
    "area": [KEQIAO, SHANGYU],
    "headline": "台风“梅花”预计影响柯桥区、上虞区电网",
    "description": "预计14日夜间至15日柯桥区、上虞区沿海线路可能大面积跳闸。",
    "onset": "2026-09-14T20:00:00+08:00",
    "expires": "2026-09-16T08:00:00+08:00",
}
# What a public body must never hold: the event's id, the board, duties, units, tokens.
PRIVATE = ("event_id", "/board", "leading_hq", "action", "agency", "Bearer")


async def call(client: httpx.AsyncClient, path: str, headers: dict[str, str], **body: Any) -> Any:
    answer = await client.post(f"{API}{path}", json=body, headers=headers)
    assert answer.status_code in (200, 201), answer.text
    return answer.json()


def public_bodies(receiver: Receiver, secret: str) -> list[dict[str, Any]]:
    """Every body the receiver got, each verified by the standardwebhooks package."""
    verifier = Webhook(secret)
    bodies = []
    for hit in receiver.hits:
        assert hit.headers["content-type"] == "application/json"
        bodies.append(verifier.verify(hit.body, hit.headers))
        text = hit.body.decode()
        assert not [word for word in PRIVATE if word in text], text
    return bodies


async def test_a_release_approved_by_the_reviewing_hq_reaches_a_public_channel(
    client: httpx.AsyncClient, make_token: MakeToken, context: AppContext
) -> None:
    admin = await make_token("admin")
    dispatcher = await make_token("dispatcher")
    keqiao = await make_token("commander", region=KEQIAO)
    city = await make_token("commander", region=CITY)
    with Receiver() as media, Receiver() as duty_room:
        channel = await subscribe(client, admin, url=media.url, channel="media")
        await subscribe(client, admin, url=duty_room.url)
        # 柯桥区 loses 65% of a grid ≥ 150 MW: level III, the city HQ leads and reviews
        event_id = (await post(client, dispatcher, report(county(KEQIAO, 200, 130))))["event_id"]
        proposed = await call(
            client,
            f"/events/{event_id}/releases",
            dispatcher,
            headline="柯桥区停电情况通报",
            body="今日14时起柯桥区部分区域停电，抢修正在进行。",
            topics=["situation"],
        )
        async with delivering(context) as deliverer:
            await deliverer.drain()
            assert media.hits == []  # a proposal is not public
            refused = await client.post(
                f"{API}/releases/{proposed['id']}/approve", json={}, headers=keqiao
            )
            assert refused.status_code == 403, refused.text
            await call(client, f"/releases/{proposed['id']}/approve", city)
            await deliverer.drain()
    (body,) = public_bodies(media, channel["secret"])
    assert body["type"] == "release.published"
    release = body["data"]["release"]
    assert release["headline"] == "柯桥区停电情况通报"
    assert release["body"] == "今日14时起柯桥区部分区域停电，抢修正在进行。"
    assert release["area"] == [{"code": KEQIAO, "name": "柯桥区"}]
    assert release["approver"] == CITY_HQ
    assert release["published_at"].endswith("+08:00") and body["timestamp"].endswith("+08:00")
    assert body["data"]["level"] == {"code": "III", "name": "III级 较大"}
    assert body["title"] == "信息发布：柯桥区停电情况通报"
    assert "今日14时起" in body["text"] and CITY_HQ in body["text"] and "北京时间" in body["text"]
    page = f"http://127.0.0.1:8000/public#release-{proposed['id']}"  # where the public reads it
    assert body["links"] == {"page": page} and page in body["text"]
    # the duty room heard the duties the event sent out, and the release too
    heard = {hit.json()["type"] for hit in duty_room.hits}
    assert {"event.opened", "action.dispatched", "release.published"} <= heard
    rows = await deliveries(context)
    assert {row.state for row in rows} == {"delivered"}


async def test_a_warnings_life_reaches_a_cap_channel_as_alert_update_cancel(
    client: httpx.AsyncClient, make_token: MakeToken, context: AppContext
) -> None:
    admin = await make_token("admin")
    dispatcher = await make_token("dispatcher")
    city = await make_token("commander", region=CITY)
    with Receiver() as broadcast, Receiver() as website:
        cap = await subscribe(client, admin, url=broadcast.url, format="cap", channel="broadcast")
        standard = await subscribe(client, admin, url=website.url, channel="website")
        warning = await call(client, "/warnings", dispatcher, **WARNING)
        wid, event_id = warning["id"], warning["event_id"]
        await call(client, f"/warnings/{wid}/publish", city)
        for minute, lost in ((20, 90), (40, 130)):  # 柯桥区 (200 MW) at IV, then at III
            body = report(county(KEQIAO, 200, lost), minutes=minute) | {"event_id": event_id}
            await post(client, dispatcher, body)
        await call(client, f"/warnings/{wid}/lift", city, reason="台风已过境")
        async with delivering(context) as deliverer:
            await deliverer.drain()
    served = await client.get(f"{API}/warnings/{wid}/cap", headers=dispatcher)

    verifier = Webhook(cap["secret"])
    messages = []
    for hit in broadcast.hits:
        assert hit.headers["content-type"] == "application/cap+xml"
        verifier.verify(hit.body, hit.headers, json_parse=False)  # raises unless signed so
        assert cap_faults(hit.body) == [], hit.body.decode()
        messages.append(ET.fromstring(hit.body))
    # in the chain's order: each names every message before it (``sent`` is to the second)
    messages.sort(key=lambda m: len((m.findtext(f"{CAP}references") or "").split()))
    assert [
        (m.findtext(f"{CAP}msgType"), m.findtext(f"{CAP}info/{CAP}severity")) for m in messages
    ] == [("Alert", "Unknown"), ("Update", "Minor"), ("Update", "Moderate"), ("Cancel", "Moderate")]
    assert {m.findtext(f"{CAP}status") for m in messages} == {"Actual"}
    # the chain the public channel got is the one the service serves: its last is the Cancel
    assert messages[-1].findtext(f"{CAP}identifier") == ET.fromstring(served.content).findtext(
        f"{CAP}identifier"
    )
    alert_id = messages[0].findtext(f"{CAP}identifier") or ""
    assert all(alert_id in (m.findtext(f"{CAP}references") or "") for m in messages[1:])
    forged = dict(broadcast.hits[0].headers, **{"webhook-id": "msg_other"})
    with pytest.raises(Exception, match="signature"):
        verifier.verify(broadcast.hits[0].body, forged, json_parse=False)

    bodies = sorted(public_bodies(website, standard["secret"]), key=lambda b: b["timestamp"])
    assert [b["type"] for b in bodies] == [
        "warning.published",
        "warning.updated",
        "warning.updated",
        "warning.lifted",
    ]
    first, *_, last = bodies
    said = first["data"]["warning"]
    assert said["headline"] == WARNING["headline"] and said["description"] == WARNING["description"]
    assert said["area"] == [{"code": KEQIAO, "name": "柯桥区"}, {"code": SHANGYU, "name": "上虞区"}]
    assert said["publisher"] == CITY_HQ and said["onset"] == WARNING["onset"]
    assert first["data"]["level"] is None  # no response yet: the warning is a forecast
    assert [b["data"]["level"]["code"] for b in bodies[1:]] == ["IV", "III", "III"]
    assert last["data"]["warning"]["lifted_at"].endswith("+08:00")
    assert "柯桥区、上虞区" in first["text"] and "北京时间" in first["text"]
    assert {b["links"]["page"] for b in bodies} == {f"http://127.0.0.1:8000/public#warning-{wid}"}

    # the event sent out duties and level changes: none reached either public channel
    sent = {row.type for row in await outbox_rows(context, event_id)}
    assert {"action.dispatched", "event.level_changed"} <= sent
    heard = {row.type for row in await deliveries(context)}
    assert heard <= set(PUBLIC_TYPES) and "release.published" not in heard


async def test_a_drill_reaches_only_public_channels_that_asked_for_drills(
    client: httpx.AsyncClient, make_token: MakeToken, context: AppContext
) -> None:
    admin = await make_token("admin")
    dispatcher = await make_token("dispatcher")
    keqiao = await make_token("commander", region=KEQIAO)
    with Receiver() as real_only, Receiver() as drills, Receiver() as media:
        await subscribe(client, admin, url=real_only.url, format="cap", channel="telecom")
        await subscribe(client, admin, url=drills.url, format="cap", channel="telecom", drills=True)
        asked = await subscribe(client, admin, url=media.url, channel="media", drills=True)
        warning = await call(
            client, "/warnings", dispatcher, **(WARNING | {"area": [KEQIAO], "drill": True})
        )
        await call(client, f"/warnings/{warning['id']}/publish", keqiao)
        async with delivering(context) as deliverer:
            await deliverer.drain()
    assert real_only.hits == []
    (told,) = public_bodies(media, asked["secret"])
    # marked a drill, with no link: the public page never shows one
    assert told["title"].startswith("【演练】") and told["data"]["drill"] is True
    assert told["links"] == {}
    (hit,) = drills.hits
    assert cap_faults(hit.body) == []
    message = ET.fromstring(hit.body)
    assert (message.findtext(f"{CAP}status"), message.findtext(f"{CAP}msgType")) == (
        "Exercise",
        "Alert",
    )


async def test_a_cap_notice_whose_warning_is_gone_is_dead_at_once(
    client: httpx.AsyncClient, make_token: MakeToken, context: AppContext
) -> None:
    """The CAP message is written when it is sent: with its event deleted meanwhile (its
    notices go with it, but one claimed already is on its way) there is nothing to send."""
    from sqlalchemy import delete

    from models import EarlyWarning

    admin = await make_token("admin")
    dispatcher = await make_token("dispatcher")
    keqiao = await make_token("commander", region=KEQIAO)
    with Receiver() as broadcast:
        await subscribe(client, admin, url=broadcast.url, format="cap", channel="broadcast")
        warning = await call(client, "/warnings", dispatcher, **(WARNING | {"area": [KEQIAO]}))
        await call(client, f"/warnings/{warning['id']}/publish", keqiao)
        async with context.sessions() as session, session.begin():
            await session.execute(delete(EarlyWarning))
        async with delivering(context) as deliverer:
            await deliverer.drain()
    assert broadcast.hits == []
    (row,) = await deliveries(context)
    assert (row.state, row.attempts) == ("dead", 1)
    assert "no CAP message" in (row.last_error or "") and row.type == "warning.published"


async def test_a_commanders_level_change_updates_the_warnings_that_stand_and_no_other(
    client: httpx.AsyncClient, make_token: MakeToken, context: AppContext
) -> None:
    dispatcher = await make_token("dispatcher")
    city = await make_token("commander", region=CITY)
    warning = await call(client, "/warnings", dispatcher, **WARNING)
    wid, event_id = warning["id"], warning["event_id"]
    await call(client, f"/warnings/{wid}/publish", city)
    await call(client, f"/events/{event_id}/response", city, level="IV", reason="台风登陆")
    await call(client, f"/events/{event_id}/level", city, level="III", reason="灾情扩大")
    await call(client, f"/warnings/{wid}/lift", city, reason="台风已过境")
    await call(client, f"/events/{event_id}/level", city, level="IV", reason="负荷大部恢复")
    updates = [row for row in await outbox_rows(context, event_id) if row.type == "warning.updated"]
    assert [
        (u.data["previous_response_level"], u.data["response_level"], u.data["warning"]["id"])
        for u in updates
    ] == [(None, "IV", wid), ("IV", "III", wid)]  # none once it was lifted
