"""A body larger than OUTAGE_MAX_BODY_BYTES is refused with 413 (service.api.limits), in process:
at the limit exactly and one byte past it, declared (Content-Length) and chunked, and where the
refusal stands beside the token check. A real server's memory under a 64 MB body is measured in
tests/api/test_server.py."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from service.config import Settings
from tests.helpers import MakeToken, county

CLASSIFY = "/api/v1/classify"
MiB = 1024 * 1024


def body_of_size(size: int) -> bytes:
    """A valid POST /classify body of exactly ``size`` bytes (JSON allows the spaces)."""
    body = json.dumps({"snapshots": [county("330603", 151, 60.4)]}).encode()
    assert len(body) <= size
    return body[:-1] + b" " * (size - len(body)) + b"}"


async def chunks(body: bytes, size: int = 65536) -> AsyncIterator[bytes]:
    """``body`` sent chunked: httpx sends no Content-Length for a stream."""
    for start in range(0, len(body), size):
        yield body[start : start + size]


def too_large(response: httpx.Response, limit: int) -> dict[str, Any]:
    assert response.status_code == 413, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem: dict[str, Any] = response.json()
    assert problem["title"] == "Content Too Large"
    assert problem["limit"] == limit
    assert problem["errors"][0]["field"] == "body"
    return problem


@pytest.mark.parametrize("chunked", [False, True], ids=["declared", "chunked"])
async def test_a_body_at_the_limit_is_read_and_one_byte_more_is_413(
    client: httpx.AsyncClient, make_token: MakeToken, settings: Settings, chunked: bool
) -> None:
    observer = await make_token("observer")
    limit = settings.max_body_bytes
    headers = {**observer, "Content-Type": "application/json"}

    def content(size: int) -> Any:
        return chunks(body_of_size(size)) if chunked else body_of_size(size)

    at_limit = await client.post(CLASSIFY, content=content(limit), headers=headers)
    past_limit = await client.post(CLASSIFY, content=content(limit + 1), headers=headers)

    assert at_limit.status_code == 200, at_limit.text
    assert at_limit.json()["level"] == "IV"
    problem = too_large(past_limit, limit)
    said = "declares 1048577 bytes" if not chunked else "passed 1048576 bytes before its end"
    assert said in problem["detail"]


async def test_the_default_limit_is_one_mebibyte(
    client: httpx.AsyncClient, make_token: MakeToken
) -> None:
    """OUTAGE_MAX_BODY_BYTES unset (the tests' settings leave it): a body of 1 MiB is read, and
    one of a byte more is refused."""
    headers = {**await make_token("observer"), "Content-Type": "application/json"}

    read = await client.post(CLASSIFY, content=body_of_size(MiB), headers=headers)
    refused = await client.post(CLASSIFY, content=body_of_size(MiB + 1), headers=headers)

    assert read.status_code == 200, read.text
    too_large(refused, MiB)


async def test_a_body_declared_too_large_is_413_before_the_token_is_checked(
    client: httpx.AsyncClient,
) -> None:
    """Decided from the head alone: no token is looked up for a body the service will not read
    (the limit is public, so an unknown caller learns nothing from it)."""
    response = await client.post(
        CLASSIFY,
        content=body_of_size(2 * 1024 * 1024),
        headers={"Content-Type": "application/json"},
    )

    too_large(response, 1024 * 1024)


async def test_a_chunked_body_without_a_token_is_401(client: httpx.AsyncClient) -> None:
    """A chunked body's size is known only as it is read, and the token check reads none of it."""
    response = await client.post(
        CLASSIFY,
        content=chunks(body_of_size(2 * 1024 * 1024)),
        headers={"Content-Type": "application/json"},
    )

    assert response.status_code == 401, response.text


async def test_a_body_too_large_is_413_on_any_path(client: httpx.AsyncClient) -> None:
    response = await client.request("GET", "/healthz", content=b" " * (1024 * 1024 + 1))

    too_large(response, 1024 * 1024)


async def test_413_is_documented_for_every_operation_with_a_body(
    client: httpx.AsyncClient,
) -> None:
    spec = (await client.get("/openapi.json")).json()
    with_body = [
        operation
        for item in spec["paths"].values()
        for operation in item.values()
        if "requestBody" in operation
    ]
    assert with_body
    assert all("413" in operation["responses"] for operation in with_body)
