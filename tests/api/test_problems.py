"""The three mistakes clients make most are answered in words that say what to send instead.

A body that is not JSON (422, where it broke), a body not sent as ``application/json`` (415), and
a region written as its name (422, naming the code meant). Each is refused whole: nothing stored.
And an error nothing else handled is answered 500 at the door (``service.api.door``), which ends
it there (tests/api/test_server.py shows the connection kept through a real server).
"""

from __future__ import annotations

import json
import logging
from typing import Any

import httpx
import pytest
from starlette.types import Receive, Scope, Send

import models
from service.flows.context import AppContext
from tests.helpers import MakeToken, count, county, door_around, report

PROBLEM_JSON = "application/problem+json"
GOOD = report(county("330603", 151, 60.4))


def refusal(response: httpx.Response, status: int) -> dict[str, Any]:
    """The problem+json body of a refusal with ``status``, whose only error is the one checked."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM_JSON
    problem: dict[str, Any] = response.json()
    assert problem["status"] == status
    assert len(problem["errors"]) == 1, problem
    return problem


async def test_malformed_json_says_where_it_broke_and_what_to_send(
    client: httpx.AsyncClient, make_token: MakeToken, context: AppContext
) -> None:
    dispatcher = await make_token("dispatcher")
    text = json.dumps(GOOD, indent=1).replace("\n  }\n ]", "\n  },\n ]")  # a trailing comma
    with pytest.raises(json.JSONDecodeError) as broken:
        json.loads(text)

    response = await client.post(
        "/api/v1/reports",
        content=text.encode(),
        headers={**dispatcher, "Content-Type": "application/json"},
    )

    problem = refusal(response, 422)
    error = problem["errors"][0]
    assert error["field"] == "body"
    where = f"line {broken.value.lineno}, column {broken.value.colno}"
    assert f"not valid JSON: Expecting value at {where}" in error["message"]
    assert "remove the comma before ']'" in error["message"]
    assert "double quotes" in error["message"]
    assert problem["detail"] == f"body: {error['message']}"
    assert await count(context, models.Report) == 0


async def test_malformed_json_without_a_trailing_comma(
    client: httpx.AsyncClient, make_token: MakeToken
) -> None:
    response = await client.post(
        "/api/v1/classify",
        content=b"{'snapshots': []}",
        headers={**await make_token("observer"), "Content-Type": "application/json"},
    )

    message = refusal(response, 422)["errors"][0]["message"]
    assert message.startswith("not valid JSON: Expecting property name enclosed in double quotes")
    assert "at line 1, column 2 (character 1)" in message
    assert "comma" not in message.split(".")[0]


@pytest.mark.parametrize(
    ("content_type", "said"),
    [
        (None, "the body came without a Content-Type header"),
        ("text/plain", "the body came as text/plain"),
        ("application/x-www-form-urlencoded", "what curl -d sends"),
    ],
)
async def test_body_not_sent_as_json_is_415_naming_the_header(
    client: httpx.AsyncClient,
    make_token: MakeToken,
    context: AppContext,
    content_type: str | None,
    said: str,
) -> None:
    headers = await make_token("dispatcher")
    if content_type:
        headers["Content-Type"] = content_type

    response = await client.post("/api/v1/reports", content=json.dumps(GOOD), headers=headers)

    problem = refusal(response, 415)
    assert problem["title"] == "Unsupported Media Type"
    error = problem["errors"][0]
    assert error["field"] == "Content-Type"
    assert said in error["message"]
    assert "Content-Type: application/json" in error["message"]
    assert await count(context, models.Report) == 0


async def test_json_with_a_charset_is_json(
    client: httpx.AsyncClient, make_token: MakeToken
) -> None:
    headers = {**await make_token("dispatcher"), "Content-Type": "application/json; charset=utf-8"}
    response = await client.post("/api/v1/reports", content=json.dumps(GOOD), headers=headers)
    assert response.status_code == 201, response.text


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "a body is required; send it as JSON with the header Content-Type: application/json"),
        (b"[]", "must be a JSON object ({…}), not an array"),
        (b'"330603"', "must be a JSON object ({…}), not a string"),
    ],
)
async def test_body_that_is_no_object(
    client: httpx.AsyncClient, make_token: MakeToken, content: bytes, message: str
) -> None:
    headers = {**await make_token("dispatcher"), "Content-Type": "application/json"}
    response = await client.post("/api/v1/reports", content=content, headers=headers)
    assert refusal(response, 422)["errors"] == [{"field": "body", "message": message}]


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("柯桥区", "330603"),
        ("柯桥区电网", "330603"),
        ("绍兴市电网", "330600"),
        ("越城区", "330602"),
    ],
)
async def test_region_written_as_its_name_names_the_code(
    client: httpx.AsyncClient, make_token: MakeToken, context: AppContext, name: str, code: str
) -> None:
    body = report(county(name, 151, 60.4))
    response = await client.post(
        "/api/v1/reports", json=body, headers=await make_token("dispatcher")
    )

    error = refusal(response, 422)["errors"][0]
    assert error["field"] == "snapshots[0].region"
    assert error["message"].startswith(f'"{name}" is a name; send its six-digit GB/T 2260 code')
    assert f'"{code}" instead' in error["message"]
    assert await count(context, models.Report) == 0


async def test_warning_area_written_as_a_name_names_the_code(
    client: httpx.AsyncClient, make_token: MakeToken, context: AppContext
) -> None:
    body = {"area": ["330603", "越城区"], "headline": "台风", "description": "预计跳闸"}
    response = await client.post(
        "/api/v1/warnings", json=body, headers=await make_token("dispatcher")
    )

    error = refusal(response, 422)["errors"][0]
    assert error["field"] == "area[1]"
    assert '"越城区" is a name' in error["message"] and '"330602"' in error["message"]
    assert await count(context, models.EarlyWarning) == 0


async def test_region_filter_written_as_a_name_names_the_code(
    client: httpx.AsyncClient, make_token: MakeToken
) -> None:
    response = await client.get(
        "/api/v1/events", params={"region": "柯桥区"}, headers=await make_token("observer")
    )
    error = refusal(response, 422)["errors"][0]
    assert error["field"] == "region" and '"330603"' in error["message"]


async def test_unknown_region_name_lists_the_codes(
    client: httpx.AsyncClient, make_token: MakeToken
) -> None:
    body = report(county("杭州市", 151, 60.4))
    response = await client.post(
        "/api/v1/reports", json=body, headers=await make_token("dispatcher")
    )

    message = refusal(response, 422)["errors"][0]["message"]
    assert message.startswith("must be a six-digit GB/T 2260 region code: one of 330000 浙江省")
    assert "330603 柯桥区" in message and "330683 嵊州市" in message


async def test_openapi_documents_415_for_every_body(client: httpx.AsyncClient) -> None:
    schema = (await client.get("/openapi.json")).json()
    with_body = [
        (path, method, operation)
        for path, operations in schema["paths"].items()
        for method, operation in operations.items()
        if "requestBody" in operation
    ]
    assert with_body
    for path, method, operation in with_body:
        assert "415" in operation["responses"], (method, path)


class Broken:
    """An ASGI app that fails ``after`` sending the messages it is given."""

    def __init__(self, *messages: dict[str, Any]) -> None:
        self.messages = messages

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        for message in self.messages:
            await send(message)
        raise RuntimeError("secret: postgresql://admin:hunter2@db")


START = {"type": "http.response.start", "status": 200, "headers": []}


async def answer_of(app: Broken) -> httpx.Response:
    transport = httpx.ASGITransport(app=door_around(app))  # raises what the app raises
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        return await client.get("/broken")


async def test_an_unexpected_error_is_a_500_that_says_nothing_of_it(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.ERROR, logger="service.api.problems"):
        response = await answer_of(Broken())

    assert response.status_code == 500
    assert response.headers["content-type"] == PROBLEM_JSON
    assert response.json()["detail"] == "the service failed; the error is logged"
    assert "secret" not in response.text
    assert "unhandled error in GET /broken" in caplog.text
    assert "hunter2" in caplog.text  # the detail is in the log


async def test_an_error_after_a_whole_answer_is_logged_and_ends_there(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.ERROR, logger="service.api.problems"):
        response = await answer_of(Broken(START, {"type": "http.response.body", "body": b"ok"}))

    assert (response.status_code, response.text) == (200, "ok")
    assert "unhandled error in GET /broken" in caplog.text


async def test_an_error_halfway_through_an_answer_goes_on_to_the_server() -> None:
    """Only closing the connection can tell the client the answer was cut short."""
    half = Broken(START, {"type": "http.response.body", "body": b"o", "more_body": True})
    with pytest.raises(RuntimeError, match="secret"):
        await answer_of(half)
