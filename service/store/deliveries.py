"""The deliverer's claims on the database: fanning notices out into deliveries, claiming the
deliveries due, recording what their attempts came to (design § Notifications).

Every claim is atomic: on PostgreSQL ``FOR UPDATE SKIP LOCKED`` lets workers claim side by side
without ever taking one row twice; on SQLite the one writer claims alone. A claimed delivery's
``next_attempt_at`` moves past the attempt's timeout before the post goes out (a lease): a
worker killed mid-attempt leaves it due again, so every notice is delivered at least once.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, case, func, literal, select, update
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
            select(
                Subscription.id,
                Subscription.agencies,
                Subscription.types,
                Subscription.drills,
                Subscription.channel,
                Subscription.format,
            )
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
            channel=subscription.channel,
            fmt=subscription.format,
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
    subscription_id: uuid.UUID
    attempts: int
    url: str
    format: Format
    secret: str | None
    channel: str | None
    type: str
    drill: bool
    data: dict[str, Any]
    created_at: datetime


async def claim_due(
    session: AsyncSession,
    now: datetime,
    lease_until: datetime,
    limit: int,
    *,
    each: int | None = None,
    room: Mapping[uuid.UUID, int] | None = None,
) -> list[Claimed]:
    """Up to ``limit`` pending deliveries due at ``now``, each counted as attempted and leased
    until ``lease_until``: at most ``each`` of one subscription (``room`` says otherwise for
    the subscriptions it names: 0 claims none of theirs), taken in turn, every subscription's
    oldest due before any one's second, so that one receiver's backlog never crowds out the
    others'."""
    due_now = (Delivery.state == "pending") & (Delivery.next_attempt_at <= now)
    room = dict(room or {})
    closed = [subscription for subscription, n in room.items() if n <= 0]
    if closed:
        due_now &= Delivery.subscription_id.not_in(closed)
    # Each due delivery's place in its subscription's queue, and how many that one may take.
    rank = func.row_number().over(
        partition_by=Delivery.subscription_id,
        order_by=(Delivery.next_attempt_at, Delivery.created_at, Delivery.id),
    )
    if each is None:
        each = limit
    whens = [(Delivery.subscription_id == s, n) for s, n in room.items() if n > 0]
    allowed = case(*whens, else_=literal(each)) if whens else literal(each)
    ranked = (
        select(
            Delivery.id,
            Delivery.next_attempt_at,
            rank.label("rank"),
            allowed.label("allowed"),
        )
        .where(due_now)
        .subquery("ranked")
    )
    chosen = (
        select(ranked.c.id)
        .where(ranked.c.rank <= ranked.c.allowed)
        .order_by(ranked.c.rank, ranked.c.next_attempt_at)
        .limit(limit)
    )
    # PostgreSQL locks no rows of a window's query: the rows chosen are locked after, by id
    # (a row another worker holds is skipped, as before).
    due = (
        select(Delivery.id)
        .where(Delivery.id.in_(chosen), due_now)
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
            Delivery.subscription_id,
            Subscription.url,
            Subscription.format,
            Subscription.secret,
            Subscription.channel,
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
            subscription_id=row.subscription_id,
            attempts=attempts[row.id],
            url=row.url,
            format=row.format,
            secret=row.secret,
            channel=row.channel,
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


async def release(session: AsyncSession, given: Sequence[tuple[uuid.UUID, datetime]]) -> None:
    """Give back deliveries claimed and never attempted (their subscription began to rest, or
    the worker stopped), each ``(id, due_at)``: pending again, due at ``due_at``, the claim not
    counted as an attempt."""
    if not given:
        return
    table = table_of(Delivery)
    await session.execute(
        update(table)
        .where(table.c.id == bindparam("delivery_id"), table.c.state == "pending")
        .values(attempts=table.c.attempts - 1, next_attempt_at=bindparam("due_at")),
        [{"delivery_id": id_, "due_at": due_at} for id_, due_at in given],
    )
