"""``Idempotency-Key``: a repeated POST gets the first one's answer, and stores nothing new."""

from __future__ import annotations

import hashlib
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models import IdempotencyRecord
from models.base import table_of, utcnow
from service.errors import InvalidInput
from service.plan.actor import Actor
from service.store.batch import WriteBatch


def fingerprint(canonical_body: str) -> str:
    return hashlib.sha256(canonical_body.encode()).hexdigest()


async def replay(
    session: AsyncSession, actor: Actor, key: str, request_hash: str
) -> IdempotencyRecord | None:
    """The stored answer (status and body) for (token, key), or None when the key is new."""
    record = await session.scalar(
        select(IdempotencyRecord).where(
            IdempotencyRecord.token_id == actor.id, IdempotencyRecord.key == key
        )
    )
    if record is None:
        return None
    if record.request_hash != request_hash:
        raise InvalidInput(
            "Idempotency-Key", "this key was already used with a different request body"
        )
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
