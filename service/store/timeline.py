"""The event timeline: append-only, every entry with its actor, time and plan clause."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from models import Event, TimelineEntry
from models.base import table_of, utcnow
from service.plan.actor import Actor
from service.store.batch import WriteBatch

SYSTEM = "system"


def record(
    batch: WriteBatch,
    event: Event,
    kind: str,
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
    escalation job), recorded as ``system``.
    """
    at = at or utcnow()
    if event.timeline_at is not None and at < event.timeline_at:
        at = event.timeline_at
    event.timeline_seq = (event.timeline_seq or 0) + 1
    event.timeline_at = at
    batch.add(
        table_of(TimelineEntry),
        [
            {
                "event_id": event.id,
                "event_seq": event.timeline_seq,
                "at": at,
                "kind": kind,
                "actor_id": actor.id if actor else None,
                "actor": actor.label if actor else SYSTEM,
                "clause": clause,
                "summary": summary,
                "data": data,
            }
        ],
    )
