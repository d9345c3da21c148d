"""POST/GET/DELETE /subscriptions, GET /deliveries and replay (design § Notifications):
admins only, the secret shown once, refusals naming the field."""

from __future__ import annotations

import base64
from typing import Any

import httpx
import pytest

from service.flows.context import AppContext
from tests.helpers import (
    MakeToken,
    Receiver,
    county,
    deliveries,
    delivering,
    documented_operations,
    post,
    report,
    subscribe,
)

API = "/api/v1"
HOOK = "http://127.0.0.1:9/hook"


def secret_of(size: int) -> str:
    return "whsec_" + base64.b64encode(b"k" * size).decode()


async def test_a_subscription_shows_its_secret_once(
    client: httpx.AsyncClient, make_token: MakeToken
) -> None:
    admin = await make_token("admin")
    created = await subscribe(client, admin, url=HOOK, agencies=["power-company"], drills=True)
    assert created["secret"].startswith("whsec_")
    assert len(base64.b64decode(created["secret"].removeprefix("whsec_"))) == 24
    assert created["format"] == "standard" and created["drills"] is True
    given = await subscribe(client, admin, url=HOOK, secret=secret_of(32), types=["event.opened"])
    assert given["secret"] == secret_of(32)
    listed = (await client.get(f"{API}/subscriptions", headers=admin)).json()["items"]
    assert [s["id"] for s in listed] == [created["id"], given["id"]]
    assert all("secret" not in s for s in listed)
    assert listed[0]["agencies"] == ["power-company"] and listed[1]["types"] == ["event.opened"]
    gone = await client.delete(f"{API}/subscriptions/{created['id']}", headers=admin)
    assert gone.status_code == 204
    again = await client.delete(f"{API}/subscriptions/{created['id']}", headers=admin)
    assert again.status_code == 404
    assert again.headers["content-type"] == "application/problem+json"
    listed = (await client.get(f"{API}/subscriptions", headers=admin)).json()["items"]
    assert [s["id"] for s in listed] == [given["id"]]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"url": "ftp://example.com/hook"}, "url"),
        ({"url": "not a url"}, "url"),
        ({"url": HOOK, "format": "slack"}, "format"),
        ({"url": HOOK, "agencies": ["power-company", "nobody"]}, "agencies[1]"),
        ({"url": HOOK, "agencies": ["leading-hq"]}, "agencies[0]"),
        ({"url": HOOK, "types": ["event.exploded"]}, "types[0]"),
        ({"url": HOOK, "secret": "plain"}, "secret"),
        ({"url": HOOK, "secret": secret_of(16)}, "secret"),
        ({"url": HOOK, "secret": secret_of(65)}, "secret"),
        ({"url": HOOK, "secret": "whsec_!!!notbase64!!!"}, "secret"),
        ({"url": HOOK, "format": "wecom", "secret": "SECabc"}, "secret"),
        ({"url": HOOK, "colour": "red"}, "colour"),
        ({"url": HOOK, "channel": "radio"}, "channel"),
    ],
)
async def test_bad_subscriptions_are_refused_naming_the_field(
    client: httpx.AsyncClient, make_token: MakeToken, body: dict[str, Any], field: str
) -> None:
    admin = await make_token("admin")
    refused = await client.post(f"{API}/subscriptions", json=body, headers=admin)
    assert refused.status_code == 422, refused.text
    assert refused.headers["content-type"] == "application/problem+json"
    assert field in [e["field"] for e in refused.json()["errors"]]
    listed = (await client.get(f"{API}/subscriptions", headers=admin)).json()["items"]
    assert listed == []


@pytest.mark.parametrize("role", ["dispatcher", "commander", "observer", "agency"])
async def test_only_admins_manage_notifications(
    client: httpx.AsyncClient, make_token: MakeToken, role: str
) -> None:
    scope = {"commander": {"region": "330600"}, "agency": {"agency": "power-company"}}
    headers = await make_token(role, **scope.get(role, {}))
    some_id = "00000000-0000-4000-8000-000000000000"
    calls = [
        ("POST", f"{API}/subscriptions", {"url": HOOK}),
        ("GET", f"{API}/subscriptions", None),
        ("DELETE", f"{API}/subscriptions/{some_id}", None),
        ("GET", f"{API}/deliveries", None),
        ("POST", f"{API}/deliveries/{some_id}/replay", None),
    ]
    for method, path, body in calls:
        refused = await client.request(method, path, json=body, headers=headers)
        assert refused.status_code == 403, (method, path, refused.text)
        assert refused.headers["content-type"] == "application/problem+json"
        anonymous = await client.request(method, path, json=body)
        assert anonymous.status_code == 401, (method, path)


async def test_deliveries_list_filters_and_pages(
    client: httpx.AsyncClient, make_token: MakeToken, context: AppContext
) -> None:
    admin = await make_token("admin")
    dispatcher = await make_token("dispatcher")
    with Receiver() as receiver:
        first = await subscribe(client, admin, url=receiver.url)
        second = await subscribe(client, admin, url=receiver.url, types=["event.opened"])
        await post(client, dispatcher, report(county("330603", 200, 90)))
        async with delivering(context) as deliverer:
            await deliverer.drain()
    rows = await deliveries(context)
    seen: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        params = {"limit": "3", **({"cursor": cursor} if cursor else {})}
        page = (await client.get(f"{API}/deliveries", params=params, headers=admin)).json()
        seen += page["items"]
        cursor = page.get("next")
        if not cursor:
            break
    assert sorted(d["id"] for d in seen) == sorted(str(r.id) for r in rows)
    assert len({d["id"] for d in seen}) == len(seen)
    assert set(seen[0]) == {
        "id", "subscription_id", "type", "event_id", "state", "attempts", "last_status",
        "last_error", "next_attempt_at", "delivered_at",
    }  # fmt: skip
    only = await client.get(
        f"{API}/deliveries", params={"subscription_id": second["id"]}, headers=admin
    )
    (opened,) = only.json()["items"]
    assert opened["type"] == "event.opened" and opened["state"] == "delivered"
    assert opened["attempts"] == 1 and opened["last_status"] == 200
    none_dead = await client.get(f"{API}/deliveries", params={"state": "dead"}, headers=admin)
    assert none_dead.json()["items"] == []
    of_first = [d for d in seen if d["subscription_id"] == first["id"]]
    assert len(of_first) == len(rows) - 1
    bad = await client.get(f"{API}/deliveries", params={"state": "lost"}, headers=admin)
    assert bad.status_code == 422
    bad_cursor = await client.get(f"{API}/deliveries", params={"cursor": "zz"}, headers=admin)
    assert bad_cursor.status_code == 422
    missing = await client.post(
        f"{API}/deliveries/00000000-0000-4000-8000-000000000000/replay", headers=admin
    )
    assert missing.status_code == 404


def test_the_docs_name_and_explain_every_notifications_operation() -> None:
    assert sorted(documented_operations("notifications")) == [
        "create_subscription",
        "delete_subscription",
        "list_deliveries",
        "list_subscriptions",
        "replay_delivery",
    ]


# Plan 3.2.2.1's green channel: what a public channel or CAP cannot hear is refused, naming the
# field and the rule, rather than quietly left out.
GREEN_REFUSALS: list[tuple[dict[str, Any], str]] = [
    ({"format": "cap"}, "channel"),
    ({"format": "cap", "types": ["warning.published"]}, "channel"),
    ({"channel": "media", "format": "wecom"}, "format"),
    ({"channel": "telecom", "format": "dingtalk", "secret": "SECabc"}, "format"),
    ({"channel": "media", "agencies": ["power-company"]}, "agencies"),
    ({"channel": "media", "types": ["warning.published", "action.dispatched"]}, "types[1]"),
    ({"channel": "website", "types": ["event.level_changed"]}, "types[0]"),
    ({"channel": "broadcast", "format": "cap", "types": ["release.published"]}, "types[0]"),
    ({"channel": "broadcast", "format": "cap", "types": ["standing.raised"]}, "types[0]"),
]


@pytest.mark.parametrize(("body", "field"), GREEN_REFUSALS)
async def test_what_a_public_channel_cannot_hear_is_refused_naming_the_field_and_rule(
    client: httpx.AsyncClient, make_token: MakeToken, body: dict[str, Any], field: str
) -> None:
    admin = await make_token("admin")
    refused = await client.post(f"{API}/subscriptions", json={"url": HOOK, **body}, headers=admin)
    assert refused.status_code == 422, refused.text
    problem = refused.json()
    assert [e["field"] for e in problem["errors"]] == [field]
    assert problem["rule"] == "plan 3.2.2.1"
    listed = (await client.get(f"{API}/subscriptions", headers=admin)).json()["items"]
    assert listed == []


async def test_public_channels_are_created_and_listed_with_their_channel(
    client: httpx.AsyncClient, make_token: MakeToken
) -> None:
    admin = await make_token("admin")
    cap = await subscribe(client, admin, url=HOOK, format="cap", channel="broadcast")
    assert cap["secret"].startswith("whsec_")  # signed as standard is
    assert (cap["format"], cap["channel"], cap["types"]) == ("cap", "broadcast", None)
    media = await subscribe(
        client, admin, url=HOOK, channel="media", types=["release.published"], drills=True
    )
    plain = await subscribe(client, admin, url=HOOK)
    listed = (await client.get(f"{API}/subscriptions", headers=admin)).json()["items"]
    assert [(s["id"], s["channel"]) for s in listed] == [
        (cap["id"], "broadcast"),
        (media["id"], "media"),
        (plain["id"], None),
    ]
