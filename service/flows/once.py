"""Answering a POST once: a request sent with an ``Idempotency-Key`` does its work once, and a
repeat gets the first answer, stored in the same transaction as the work.

Two requests racing with one key both miss the stored answer and both do the work; the second
to commit breaks the key's uniqueness and is rolled back whole, and then gets the first one's
answer. Without a key nothing is stored; a uniqueness conflict then can only come from
concurrent work on the same records, and is answered 409 to send the request again.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Final

from pydantic import BaseModel
from pydantic_core import to_json
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from models import IdempotencyRecord
from models.base import utcnow
from service.errors import Conflict, Said
from service.flows.context import AppContext
from service.plan.actor import Actor
from service.store import idempotency
from service.store.batch import WriteBatch
from service.store.idempotency import fingerprint
from service.store.transactions import in_transaction

Work = Callable[[AsyncSession, WriteBatch], Awaitable[BaseModel]]


@dataclass(frozen=True, slots=True)
class Once:
    """A POST's ``Idempotency-Key`` (or none) and the fingerprint of what it asked: a repeat with
    the key gets the first answer, the key with another request is refused."""

    key: str | None
    fingerprint: str = ""

    @classmethod
    def of(cls, key: str | None, method: str, path: str, body: BaseModel) -> Once:
        """The request as it means (``service.store.idempotency.fingerprint``); without a key
        nothing is fingerprinted, as nothing is stored."""
        return cls(key, fingerprint(method, path, body) if key else "")


# A request sent without an Idempotency-Key: nothing is kept, each one acts.
NO_KEY: Final = Once(None)


@dataclass(frozen=True, slots=True)
class Answer:
    """A status and a JSON body: given the first time (``fresh``), or replayed."""

    status: int
    body: bytes
    fresh: bool = True

    @classmethod
    def replayed(cls, record: IdempotencyRecord) -> Answer:
        return cls(record.status, to_json(record.response), fresh=False)


async def answer_once(
    context: AppContext,
    actor: Actor,
    once: Once,
    status: int,
    work: Work,
) -> Answer:
    """Run ``work`` (which writes through the batch it is given and returns the answer, sent as
    its JSON, written by pydantic-core's serializer straight from the model) in a transaction of
    its own, retried on conflicts; with a key, once per (token, key)."""
    ttl = context.settings.idempotency_ttl
    key, request_hash = once.key, once.fingerprint

    async def attempt(session: AsyncSession) -> Answer:
        if key:
            earlier = await idempotency.replay(session, actor, key, request_hash, utcnow(), ttl)
            if earlier is not None:
                return Answer.replayed(earlier)
        async with WriteBatch(session) as batch:
            body = (await work(session, batch)).model_dump_json().encode()
            if key:
                idempotency.remember(batch, actor, key, request_hash, status, json.loads(body))
        return Answer(status, body)

    try:
        return await in_transaction(context.sessions, attempt)
    except IntegrityError as exc:
        if key:
            # The same key raced this request and won: its answer is the answer.
            async def first(session: AsyncSession) -> IdempotencyRecord | None:
                return await idempotency.replay(session, actor, key, request_hash, utcnow(), ttl)

            earlier = await in_transaction(context.sessions, first)
            if earlier is not None:
                return Answer.replayed(earlier)
        raise Conflict(
            Said("请求与同时进行的对同一记录的操作冲突；请重新发送"),
            rule="design § Concurrency",
        ) from exc
