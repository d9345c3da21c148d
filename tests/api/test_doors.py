"""The small doors, in process (design § Errors, § Limits, § Notifications): ``Allow`` on a
405, 429 with ``Retry-After`` after repeated wrong tokens from one address, C1 controls refused
in a subscription's URL, credentials and robot keys masked wherever a subscription is shown, and
a client that goes away logged as no error. The timeout on a request head sent slowly needs a
real server: tests/api/test_server.py."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from service.api.limits import WRONG_TOKEN_WINDOW_SECONDS, WRONG_TOKENS, WrongTokens
from service.config import Settings
from service.errors import TooManyRequests
from service.flows.admin.schemas import DeliveryRead
from service.flows.context import AppContext
from tests.helpers import (
    MakeToken,
    Receiver,
    county,
    delivering,
    post,
    report,
    subscribe,
)

API = "/api/v1"
WRONG = {"Authorization": "Bearer oc_not_a_token_of_this_service"}


# --- 405 ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("DELETE", "/healthz", "GET"),
        ("PUT", f"{API}/subscriptions", "GET, POST"),
        ("PATCH", f"{API}/events", "GET"),
    ],
)
async def test_a_405_says_which_methods_the_path_allows(
    client: httpx.AsyncClient, make_token: MakeToken, method: str, path: str, allow: str
) -> None:
    """RFC 9110 15.5.6: a 405 carries ``Allow``. A path two routes serve (GET and POST
    /subscriptions) allows both, where Starlette named the first route's alone."""
    admin = await make_token("admin")
    answer = await client.request(method, path, headers=admin)
    assert answer.status_code == 405, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.headers["allow"] == allow


# --- wrong tokens ------------------------------------------------------------------------------


async def test_repeated_wrong_tokens_from_one_address_are_429_with_retry_after(
    client: httpx.AsyncClient, make_token: MakeToken
) -> None:
    observer = await make_token("observer")  # known valid to this worker
    assert (await client.get(f"{API}/events", headers=observer)).status_code == 200
    wrong = [await client.get(f"{API}/events", headers=WRONG) for _ in range(WRONG_TOKENS)]
    held = await client.get(f"{API}/events", headers=WRONG)
    stranger = await client.get(
        f"{API}/events", headers={"Authorization": "Bearer oc_another_wrong_one"}
    )
    still = await client.get(f"{API}/events", headers=observer)
    no_token = await client.get(f"{API}/events")

    assert [a.status_code for a in wrong] == [401] * WRONG_TOKENS
    for answer in (held, stranger):
        assert answer.status_code == 429, answer.text
        assert answer.headers["content-type"] == "application/problem+json"
        seconds = int(answer.headers["retry-after"])
        assert 1 <= seconds <= WRONG_TOKEN_WINDOW_SECONDS
        problem = answer.json()
        assert problem["title"] == "Too Many Requests"
        assert f"sent {WRONG_TOKENS} wrong tokens" in problem["detail"]
    # a token this worker has found valid goes on working from the held address
    assert still.status_code == 200, still.text
    assert no_token.status_code == 401


async def test_wrong_tokens_at_the_board_sign_in_count_too(client: httpx.AsyncClient) -> None:
    for _ in range(WRONG_TOKENS):
        assert (await client.post("/board/login", data={"token": "wrong"})).status_code == 401
    held = await client.post("/board/login", data={"token": "wrong"})
    api = await client.get(f"{API}/events", headers=WRONG)

    assert held.status_code == 429
    assert int(held.headers["retry-after"]) >= 1
    assert "Too many wrong tokens" in held.text or "错误令牌过多" in held.text
    assert api.status_code == 429


async def test_the_openapi_documents_429_on_every_api_operation(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    operations = [
        (path, method, operation)
        for path, methods in spec["paths"].items()
        if path.startswith("/api/")
        for method, operation in methods.items()
    ]
    assert operations
    undocumented = [f"{m} {p}" for p, m, o in operations if "429" not in o["responses"]]
    assert undocumented == []


def test_the_hold_ends_when_the_oldest_wrong_token_leaves_the_window() -> None:
    now = [1000.0]
    limiter = WrongTokens(most=3, window=60, clock=lambda: now[0])
    for step in range(3):
        now[0] = 1000.0 + 10 * step  # at 1000, 1010, 1020
        limiter.check("10.0.0.1", "t")
        limiter.wrong("10.0.0.1", "t")
    limiter.check("10.0.0.2", "t")  # another address is not held
    with pytest.raises(TooManyRequests) as held:
        limiter.check("10.0.0.1", "t")
    assert held.value.retry_after == 40  # the first leaves the window at 1060
    now[0] = 1059.5
    with pytest.raises(TooManyRequests) as held:
        limiter.check("10.0.0.1", "t")
    assert held.value.retry_after == 1
    now[0] = 1060.0
    limiter.check("10.0.0.1", "t")  # room again for one more


def test_a_token_found_wrong_is_no_longer_known_valid() -> None:
    """A client stuck on a token revoked since it was last valid is held like any other."""
    limiter = WrongTokens(most=2, window=60, clock=lambda: 0.0)
    limiter.valid("revoked")
    limiter.wrong("10.0.0.1", "revoked")
    limiter.wrong("10.0.0.1", "revoked")
    with pytest.raises(TooManyRequests):
        limiter.check("10.0.0.1", "revoked")


def test_the_limiter_remembers_a_bounded_number_of_addresses() -> None:
    limiter = WrongTokens(most=1, window=60, clock=lambda: 0.0, remembered=2)
    for address in ("a", "b", "c"):
        limiter.wrong(address, "t")
    limiter.check("a", "t")  # forgotten, the least recent
    with pytest.raises(TooManyRequests):
        limiter.check("c", "t")


# --- subscription URLs -------------------------------------------------------------------------


@pytest.mark.parametrize("char", ["\x85", "\x80", "\x9f"], ids=["NEL", "U+0080", "U+009F"])
async def test_a_c1_control_in_a_subscription_url_is_422_naming_the_url(
    client: httpx.AsyncClient, make_token: MakeToken, char: str
) -> None:
    admin = await make_token("admin")
    url = f"http://127.0.0.1:9/hook{char}next"
    refused = await client.post(f"{API}/subscriptions", json={"url": url}, headers=admin)

    assert refused.status_code == 422, refused.text
    assert refused.headers["content-type"] == "application/problem+json"
    (error,) = refused.json()["errors"]
    assert error["field"] == "url"
    assert f"U+{ord(char):04X}" in error["message"]
    assert (await client.get(f"{API}/subscriptions", headers=admin)).json()["items"] == []


KEY = "693a91f6-7b2c-4bc4-97a0-0ec2a1fa5aa1"


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (
            f"https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key={KEY}",
            "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=***",
        ),
        (
            f"https://oapi.dingtalk.com/robot/send?access_token={KEY}&x=1",
            "https://oapi.dingtalk.com/robot/send?access_token=***&x=1",
        ),
        (f"http://hooks:{KEY}@10.33.6.12:8080/outage", "http://hooks:***@10.33.6.12:8080/outage"),
        (f"http://{KEY}@10.33.6.12/outage?Key={KEY}", "http://***@10.33.6.12/outage?Key=***"),
    ],
    ids=["wecom-key", "dingtalk-access-token", "user-password", "user-alone"],
)
async def test_credentials_and_robot_keys_are_masked_where_a_subscription_is_shown(
    client: httpx.AsyncClient, make_token: MakeToken, url: str, shown: str
) -> None:
    admin = await make_token("admin")
    created = await subscribe(client, admin, url=url)
    listed = await client.get(f"{API}/subscriptions", headers=admin)

    assert created["url"] == shown
    assert [s["url"] for s in listed.json()["items"]] == [shown]
    assert KEY not in listed.text


def test_a_delivery_error_quoting_a_url_is_masked() -> None:
    row: dict[str, Any] = {
        "id": "00000000-0000-4000-8000-000000000001",
        "subscription_id": "00000000-0000-4000-8000-000000000002",
        "type": "event.opened",
        "event_id": None,
        "state": "pending",
        "attempts": 1,
        "last_status": None,
        "last_error": f"TooManyRedirects: https://u:{KEY}@h/send?key={KEY}",
        "next_attempt_at": "2026-01-01T00:00:00Z",
        "delivered_at": None,
    }
    read = DeliveryRead.model_validate(row)
    assert read.last_error == "TooManyRedirects: https://u:***@h/send?key=***"


async def test_a_robot_key_is_not_logged_when_a_notice_is_sent(
    client: httpx.AsyncClient,
    make_token: MakeToken,
    context: AppContext,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """httpx logs each request it sends at info, with its URL."""
    admin = await make_token("admin")
    dispatcher = await make_token("dispatcher")
    with Receiver() as receiver, caplog.at_level(logging.INFO):
        await subscribe(client, admin, url=f"{receiver.url}?key={KEY}")
        await post(client, dispatcher, report(county("330603", 200, 90)))
        async with delivering(context) as deliverer:
            await deliverer.drain()
        assert receiver.hits, "nothing was delivered"
    assert KEY in receiver.hits[0].path
    assert KEY not in caplog.text


# --- a client that goes away -------------------------------------------------------------------


async def test_an_oversized_chunked_sign_in_is_413_and_logs_no_error(
    client: httpx.AsyncClient, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    """The body limit refuses it and tells the app the client left; Starlette's form reading
    raised ``ClientDisconnect``, logged as an unhandled error."""

    async def chunks() -> AsyncIterator[bytes]:
        yield b"token="
        for _ in range(settings.max_body_bytes // 65536 + 2):
            yield b"a" * 65536

    with caplog.at_level(logging.INFO):
        answer = await client.post(
            "/board/login",
            content=chunks(),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )

    assert answer.status_code == 413
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []
    assert "unhandled error" not in caplog.text


@pytest.mark.parametrize(
    ("fmt", "secret", "added"),
    [
        ("wecom", None, set()),
        ("dingtalk", "SEC2f4d8c0e1b7a9f3c5d6e8a0b2c4d6e8f", {"timestamp", "sign"}),
    ],
)
async def test_a_robot_url_keeps_its_own_query_when_posted_to(
    client: httpx.AsyncClient,
    make_token: MakeToken,
    context: AppContext,
    fmt: str,
    secret: str | None,
    added: set[str],
) -> None:
    """httpx's ``params=`` replaced the URL's query: WeCom's ``key=`` and DingTalk's
    ``access_token=`` never reached the robot (a signed DingTalk post got only ``timestamp`` and
    ``sign``)."""
    admin = await make_token("admin")
    dispatcher = await make_token("dispatcher")
    parameter = "key" if fmt == "wecom" else "access_token"
    with Receiver() as receiver:
        body = {"url": f"{receiver.url}?{parameter}={KEY}", "format": fmt}
        await subscribe(client, admin, **body, **({"secret": secret} if secret else {}))
        await post(client, dispatcher, report(county("330603", 200, 90)))
        async with delivering(context) as deliverer:
            await deliverer.drain()
    assert receiver.hits, "nothing was delivered"
    for hit in receiver.hits:
        query = parse_qs(urlsplit(hit.path).query)
        assert query[parameter] == [KEY]
        assert set(query) == {parameter, *added}
