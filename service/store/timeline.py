"""The event timeline: append-only, every entry with its actor, time and plan clause."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from models import TimelineEntry
from models.base import table_of, utcnow
from service.plan.actor import Actor
from service.store.batch import WriteBatch

SYSTEM = "system"


def record(
    batch: WriteBatch,
    event_id: uuid.UUID,
    kind: str,
    actor: Actor | None,
    summary: str,
    *,
    clause: str | None = None,
    at: datetime | None = None,
    **data: Any,
) -> None:
    """Add one entry to the event's timeline, in the transaction's write batch.

    ``actor`` None is the service itself (the escalation job), recorded as ``system``. Entries
    are written with the transaction's other new rows, in the order they were recorded.
    """
    batch.add(
        table_of(TimelineEntry),
        [
            {
                "event_id": event_id,
                "at": at or utcnow(),
                "kind": kind,
                "actor_id": actor.id if actor else None,
                "actor": actor.label if actor else SYSTEM,
                "clause": clause,
                "summary": summary,
                "data": data,
            }
        ],
    )
