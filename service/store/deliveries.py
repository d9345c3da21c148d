"""The deliverer's claims on the database: fanning notices out into deliveries, claiming the
deliveries due, recording what their attempts came to (design § Notifications).

Every claim is atomic: on PostgreSQL ``FOR UPDATE SKIP LOCKED`` lets workers claim side by side
without ever taking one row twice; on SQLite the one writer claims alone. A claimed delivery's
``next_attempt_at`` moves past the attempt's timeout before the post goes out (a lease): a
worker killed mid-attempt leaves it due again, so every notice is delivered at least once.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from models import Delivery, OutboxMessage, Subscription
from models.base import table_of
from service.plan.notifications import Format, hears


async def fan_out(session: AsyncSession, now: datetime, limit: int) -> int:
    """A delivery per subscription that hears each of up to ``limit`` notices not fanned out
    yet; returns how many notices. A notice fanned out twice (by a worker killed before its
    commit) makes no second delivery: (message, subscription) is unique."""
    waiting = (
        await session.execute(
            select(
                OutboxMessage.id,
                OutboxMessage.event_id,
                OutboxMessage.type,
                OutboxMessage.drill,
                OutboxMessage.audience,
            )
            .where(OutboxMessage.fanned_out_at.is_(None))
            .order_by(OutboxMessage.created_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    ).all()
    if not waiting:
        return 0
    subscriptions = (
        await session.execute(
            select(Subscription.id, Subscription.agencies, Subscription.types, Subscription.drills)
        )
    ).all()
    rows = [
        {
            "id": uuid.uuid4(),
            "message_id": message.id,
            "subscription_id": subscription.id,
            "type": message.type,
            "event_id": message.event_id,
            "state": "pending",
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
        }
        for message in waiting
        for subscription in subscriptions
        if hears(
            agencies=subscription.agencies,
            types=subscription.types,
            drills=subscription.drills,
            notice_type=message.type,
            audience=message.audience,
            drill=message.drill,
        )
    ]
    if rows:
        dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
        await session.execute(dialect.insert(Delivery).on_conflict_do_nothing(), rows)
    await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id.in_([message.id for message in waiting]))
        .values(fanned_out_at=now)
    )
    return len(waiting)


@dataclass(frozen=True, slots=True)
class Claimed:
    """A delivery claimed for one attempt, with what the attempt needs."""

    id: uuid.UUID
    attempts: int
    url: str
    format: Format
    secret: str | None
    type: str
    drill: bool
    data: dict[str, Any]
    created_at: datetime


async def claim_due(
    session: AsyncSession, now: datetime, lease_until: datetime, limit: int
) -> list[Claimed]:
    """Up to ``limit`` pending deliveries due at ``now``, oldest due first, each counted as
    attempted and leased until ``lease_until``."""
    due = (
        select(Delivery.id)
        .where(Delivery.state == "pending", Delivery.next_attempt_at <= now)
        .order_by(Delivery.next_attempt_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
        .cte("due")
    )
    claimed = (
        await session.execute(
            update(Delivery)
            .where(Delivery.id == due.c.id)
            .values(attempts=Delivery.attempts + 1, next_attempt_at=lease_until)
            .returning(Delivery.id, Delivery.attempts)
        )
    ).all()
    if not claimed:
        return []
    attempts = dict(claimed)
    rows = await session.execute(
        select(
            Delivery.id,
            Subscription.url,
            Subscription.format,
            Subscription.secret,
            OutboxMessage.type,
            OutboxMessage.drill,
            OutboxMessage.data,
            OutboxMessage.created_at,
        )
        .join(Subscription, Subscription.id == Delivery.subscription_id)
        .join(OutboxMessage, OutboxMessage.id == Delivery.message_id)
        .where(Delivery.id.in_(list(attempts)))
        .order_by(Delivery.next_attempt_at, Delivery.created_at)
    )
    return [
        Claimed(
            id=row.id,
            attempts=attempts[row.id],
            url=row.url,
            format=row.format,
            secret=row.secret,
            type=row.type,
            drill=row.drill,
            data=row.data,
            created_at=row.created_at,
        )
        for row in rows
    ]


@dataclass(frozen=True, slots=True)
class Attempted:
    """What one attempt came to, as stored: ``state`` pending (retry at ``next_attempt_at``),
    delivered or dead."""

    id: uuid.UUID
    state: str
    last_status: int | None
    last_error: str | None
    next_attempt_at: datetime
    delivered_at: datetime | None


async def record(session: AsyncSession, results: Sequence[Attempted]) -> None:
    """Store what the attempts came to, in one statement (a delivery deleted meanwhile with its
    subscription is simply not there to update)."""
    if not results:
        return
    table = table_of(Delivery)
    await session.execute(
        update(table)
        .where(table.c.id == bindparam("delivery_id"))
        .values(
            state=bindparam("state"),
            last_status=bindparam("last_status"),
            last_error=bindparam("last_error"),
            next_attempt_at=bindparam("next_attempt_at"),
            delivered_at=bindparam("delivered_at"),
        ),
        [
            {
                "delivery_id": r.id,
                "state": r.state,
                "last_status": r.last_status,
                "last_error": r.last_error,
                "next_attempt_at": r.next_attempt_at,
                "delivered_at": r.delivered_at,
            }
            for r in results
        ],
    )
