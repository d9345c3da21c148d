"""The token check's cache: while a token's lookup runs, every request carrying it awaits that one
lookup, and its refusal reaches each of them."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event as sa_event
from sqlalchemy.engine import Engine

from service.errors import Unauthenticated
from service.flows.context import AppContext
from service.store.tokens import TokenVerifier
from tests.helpers import MakeToken


@contextmanager
def token_lookups() -> Iterator[list[str]]:
    """The statements that read the tokens' table, on any engine."""
    sent: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if "api_tokens" in statement:
            sent.append(statement)

    sa_event.listen(Engine, "before_cursor_execute", count)
    try:
        yield sent
    finally:
        sa_event.remove(Engine, "before_cursor_execute", count)


async def test_requests_with_one_token_await_its_one_lookup(
    context: AppContext, make_token: MakeToken
) -> None:
    token = (await make_token("dispatcher"))["Authorization"].removeprefix("Bearer ")
    verifier = TokenVerifier(context.read_sessions, ttl_seconds=5)
    with token_lookups() as sent:
        actors = await asyncio.gather(*(verifier.verify(token) for _ in range(8)))
        assert len(sent) == 1
        assert {actor.role for actor in actors} == {"dispatcher"}
        await verifier.verify(token)  # kept: no lookup
        assert len(sent) == 1


async def test_a_token_refused_is_refused_to_everyone_awaiting_it(context: AppContext) -> None:
    verifier = TokenVerifier(context.read_sessions, ttl_seconds=5)
    with token_lookups() as sent:
        found = await asyncio.gather(
            *(verifier.verify("oc_unknown") for _ in range(4)), return_exceptions=True
        )
    assert len(sent) == 1
    assert all(isinstance(answer, Unauthenticated) for answer in found)


async def test_a_caller_gone_away_leaves_the_lookup_to_the_others(
    context: AppContext, make_token: MakeToken
) -> None:
    token = (await make_token("observer"))["Authorization"].removeprefix("Bearer ")
    verifier = TokenVerifier(context.read_sessions, ttl_seconds=5)
    first = asyncio.create_task(verifier.verify(token))
    second = asyncio.create_task(verifier.verify(token))
    await asyncio.sleep(0)
    first.cancel()
    with pytest.raises(asyncio.CancelledError):
        await first
    assert (await second).role == "observer"
