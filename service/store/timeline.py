"""The event timeline: append-only, every entry with its actor, time and plan clause."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models import Event, TimelineEntry
from models.base import table_of, utcnow
from service.plan.actor import Actor
from service.plan.chain import CONTENT, entry_hash
from service.plan.timeline import TimelineKind
from service.store.batch import WriteBatch

SYSTEM = "system"


def record(
    batch: WriteBatch,
    event: Event,
    kind: TimelineKind,
    actor: Actor | None,
    summary: str,
    *,
    clause: str | None = None,
    at: datetime | None = None,
    **data: Any,
) -> None:
    """Add one entry to ``event``'s timeline, in the transaction's write batch.

    The caller holds the event's lock (service.store.events.lock_event) or made the event in
    this transaction, so the entry takes the event's next number (gapless) and a time no earlier
    than the entry before it: a transaction that read its clock before waiting for the lock
    does not write an entry that runs backwards. ``actor`` None is the service itself (the
    escalation job), recorded as ``system``. The entry links to the event's last one by its
    hash, kept on the event beside its number (the chain of ``service.plan.chain``), so no
    earlier row is read.
    """
    at = at or utcnow()
    if event.timeline_at is not None and at < event.timeline_at:
        at = event.timeline_at
    event.timeline_seq = (event.timeline_seq or 0) + 1
    event.timeline_at = at
    entry = {
        "event_id": event.id,
        "event_seq": event.timeline_seq,
        "at": at,
        "kind": kind,
        "actor_id": actor.id if actor else None,
        "actor": actor.label if actor else SYSTEM,
        "clause": clause,
        "summary": summary,
        # where a person acted from, when not the API (the board's forms)
        "data": data if actor is None or actor.via == "api" else {**data, "via": actor.via},
    }
    entry["prev_hash"] = event.timeline_hash
    entry["hash"] = event.timeline_hash = entry_hash(event.timeline_hash, entry)
    batch.add(table_of(TimelineEntry), [entry])


async def chain_heads(
    session: AsyncSession, event_id: uuid.UUID | None = None
) -> list[tuple[uuid.UUID, int, str | None]]:
    """Every event's (or one event's) id with its last entry's number and hash, by id."""
    query = select(Event.id, Event.timeline_seq, Event.timeline_hash).order_by(Event.id)
    if event_id is not None:
        query = query.where(Event.id == event_id)
    return [(row.id, row.timeline_seq, row.timeline_hash) for row in await session.execute(query)]


async def chain(session: AsyncSession, event_id: uuid.UUID) -> Sequence[Mapping[str, Any]]:
    """One event's stored entries as the chain checks them: ``CONTENT`` with ``prev_hash`` and
    ``hash``, in ``event_seq`` order."""
    columns = [table_of(TimelineEntry).c[name] for name in (*CONTENT, "prev_hash", "hash")]
    query = (
        select(*columns).where(TimelineEntry.event_id == event_id).order_by(TimelineEntry.event_seq)
    )
    return [dict(row) for row in (await session.execute(query)).mappings()]
