"""``Idempotency-Key``: a repeated POST gets the first one's answer, and stores nothing new.

A request is known by its fingerprint: the method, the path and the body as validated, written
canonically, so that two bodies that mean the same (``61.0`` and ``"61.000"``; one instant in
two time zones; keys in another order) are the same request. Answers are kept for a day by
default (``OUTAGE_IDEMPOTENCY_TTL_SECONDS``): a key older than that is forgotten and may be used
again, and ``prune`` deletes what has expired.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from pydantic import BaseModel
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from models import IdempotencyRecord
from models.base import table_of, utcnow
from service.errors import InvalidInput, Said
from service.plan.actor import Actor
from service.store.batch import WriteBatch


def fingerprint(method: str, path: str, body: BaseModel) -> str:
    """The SHA-256 of the request as it means: method, path, and the validated body written
    canonically (decimals without trailing zeros, times in UTC, keys sorted)."""
    canonical = json.dumps(
        [method.upper(), path, body.model_dump(mode="python")],
        default=_canonical,
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def _canonical(value: object) -> object:
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    raise TypeError(f"no canonical form for {type(value).__name__}")


async def replay(
    session: AsyncSession,
    actor: Actor,
    key: str,
    request_hash: str,
    now: datetime,
    ttl: timedelta,
) -> IdempotencyRecord | None:
    """The stored answer (status and body) for (token, key), or None when the key is new or
    its answer has expired (then it is forgotten, and the key may be used again)."""
    record = await session.scalar(
        select(IdempotencyRecord).where(
            IdempotencyRecord.token_id == actor.id, IdempotencyRecord.key == key
        )
    )
    if record is None:
        return None
    if record.created_at <= now - ttl:
        await session.delete(record)
        await session.flush()
        return None
    if record.request_hash != request_hash:
        raise InvalidInput("Idempotency-Key", Said("此键已用于内容不同的请求"))
    return record


def remember(
    batch: WriteBatch,
    actor: Actor,
    key: str,
    request_hash: str,
    status: int,
    response: dict[str, Any],
) -> None:
    batch.add(
        table_of(IdempotencyRecord),
        [
            {
                "token_id": actor.id,
                "key": key,
                "request_hash": request_hash,
                "status": status,
                "response": response,
                "created_at": utcnow(),
            }
        ],
    )


async def prune(session: AsyncSession, now: datetime, ttl: timedelta) -> int:
    """Delete every stored answer older than ``ttl``; how many."""
    gone = await session.execute(
        delete(IdempotencyRecord)
        .where(IdempotencyRecord.created_at <= now - ttl)
        .returning(IdempotencyRecord.seq)
    )
    return len(gone.all())
