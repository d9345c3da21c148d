"""The event timeline: append-only, every entry with its actor, time and plan clause."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from models import TimelineEntry
from models.base import table_of, utcnow
from service.plan.actor import Actor
from service.store import batch as writes

SYSTEM = "system"


def record(
    session: AsyncSession,
    event_id: uuid.UUID,
    kind: str,
    actor: Actor | None,
    summary: str,
    *,
    clause: str | None = None,
    at: datetime | None = None,
    **data: Any,
) -> None:
    """Add one entry to the event's timeline, written when the caller's transaction commits.

    ``actor`` None is the service itself (the escalation job), recorded as ``system``. Entries
    are queued with the transaction's other new rows (``service.writes``) and written in the
    order they were recorded; a rollback drops them with everything else.
    """
    writes.queue(
        session,
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
