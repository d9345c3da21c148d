"""Structured logs: one JSON line per request with its id, echoed to the client and carried by
every line the request logs, an unhandled error's included; the line can be turned off, and the
format switched to the console's."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import re
import sys
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import structlog

from service.api.logs import (
    RequestLines,
    configure,
    flush_request_lines,
    orjson_text,
)
from service.config import Settings
from tests.helpers import MakeToken, county, door_around, post, report

GENERATED = re.compile(r"[0-9a-f]{32}")


@pytest.fixture
def logging_as_served(capsys: pytest.CaptureFixture[str]) -> Iterator[None]:
    """The root logger as ``serve`` sets it up (the handler, INFO), restored afterwards."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    configure(Settings())
    capsys.readouterr()
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    configure(Settings(), output=False)


def lines(capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    """The JSON lines written to stderr so far (each must be one JSON object), but the test
    client's own."""
    flush_request_lines()  # the request lines waiting their batch
    found = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line]
    return [line for line in found if line["logger"] != "httpx"]


def requests(found: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [line for line in found if line["event"] == "request"]


async def test_one_json_line_per_request_with_its_id(
    client: httpx.AsyncClient,
    make_token: MakeToken,
    logging_as_served: None,
    capsys: pytest.CaptureFixture[str],
) -> None:
    dispatcher = await make_token("dispatcher")
    capsys.readouterr()

    await post(client, dispatcher, report(county("330603", 151, 30)))
    kept = await client.get("/healthz", headers={"X-Request-ID": "lb-7f3a.42"})
    unknown = await client.get("/nowhere", headers={"X-Request-ID": b"two words\xe9"})

    posted, healthz, missing = requests(lines(capsys))
    assert posted["method"] == "POST" and posted["path"] == "/api/v1/reports"
    assert posted["status"] == 201 and posted["level"] == "info"
    assert isinstance(posted["duration_ms"], float) and posted["duration_ms"] > 0
    assert GENERATED.fullmatch(posted["request_id"])
    assert posted["timestamp"].endswith("Z")
    assert (healthz["request_id"], kept.headers["x-request-id"]) == ("lb-7f3a.42", "lb-7f3a.42")
    assert missing["status"] == 404
    assert GENERATED.fullmatch(missing["request_id"])  # not the one sent, which had a space
    assert unknown.headers["x-request-id"] == missing["request_id"]


class Broken:
    """An ASGI app that logs a line of its own and then fails."""

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        logging.getLogger("service.flows.reports.submit").info("working on it")
        raise RuntimeError("secret: postgresql://admin:hunter2@db")


async def test_an_unhandled_error_carries_the_request_id(
    logging_as_served: None, capsys: pytest.CaptureFixture[str]
) -> None:
    app = door_around(Broken(), log_requests=True)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        response = await client.get("/broken", headers={"X-Request-ID": "abc-123"})

    working, error, request = lines(capsys)
    assert response.status_code == 500 and response.headers["x-request-id"] == "abc-123"
    assert working == {**working, "event": "working on it", "request_id": "abc-123"}
    assert error["request_id"] == "abc-123" and error["level"] == "error"
    assert error["event"] == "unhandled error in GET /broken"
    assert "RuntimeError: secret" in error["exception"]
    assert (request["status"], request["request_id"]) == (500, "abc-123")


async def test_the_request_line_can_be_off_and_the_id_stays(
    logging_as_served: None, capsys: pytest.CaptureFixture[str]
) -> None:
    async def hello(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    transport = httpx.ASGITransport(app=door_around(hello, log_requests=False))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        response = await client.get("/", headers={"X-Request-ID": "x" * 129})

    assert lines(capsys) == []
    assert GENERATED.fullmatch(response.headers["x-request-id"])  # 129 characters is too long


def test_the_console_format_is_for_people(capsys: pytest.CaptureFixture[str]) -> None:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        configure(Settings(log_format="console"))
        logging.getLogger("service.test").info("hello %s", "柯桥")
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
        configure(Settings(), output=False)

    err = capsys.readouterr().err
    assert "hello 柯桥" in err and not err.lstrip().startswith("{")


async def test_request_lines_wait_for_their_batch_and_keep_their_times(
    capsys: pytest.CaptureFixture[str],
) -> None:
    lines_ = RequestLines(structlog.processors.JSONRenderer(serializer=orjson_text))
    lines_.add("GET", "/healthz", 200, 1.5, "a" * 32)
    assert capsys.readouterr().err == ""  # waiting for the quarter second
    await asyncio.sleep(RequestLines.FLUSH_SECONDS + 0.1)
    (written,) = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    assert (written["path"], written["status"], written["request_id"]) == (
        "/healthz",
        200,
        "a" * 32,
    )
    assert written["timestamp"].endswith("Z") and written["level"] == "info"
    for n in range(RequestLines.MOST_LINES):  # a full batch goes at once
        lines_.add("GET", f"/n/{n}", 200, 1.0, "b" * 32)
    assert len(capsys.readouterr().err.splitlines()) == RequestLines.MOST_LINES


async def test_request_lines_that_cannot_be_written_fail_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    class Full(io.StringIO):
        def write(self, text: str) -> int:
            raise OSError(28, "No space left on device")

    monkeypatch.setattr(sys, "stderr", Full())
    lines_ = RequestLines(structlog.processors.JSONRenderer(serializer=orjson_text))
    lines_.add("POST", "/api/v1/reports", 201, 3.0, "c" * 32)
    lines_.flush()  # lost, not raised
    assert lines_.waiting == []
