"""``audit verify``: recompute the timelines' hash chains and name the first fault of each."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession

from service.errors import NotFound, Said
from service.plan.chain import Break, first_break
from service.store import timeline


@dataclass
class Audit:
    """What a verification went through, and the events whose chain does not hold."""

    events: int = 0
    entries: int = 0
    breaks: dict[uuid.UUID, Break] = field(default_factory=dict)


async def verify_timelines(session: AsyncSession, event_id: uuid.UUID | None = None) -> Audit:
    """Check every event's chain (or one event's), one event's entries in memory at a time."""
    heads = await timeline.chain_heads(session, event_id)
    if event_id is not None and not heads:
        raise NotFound(Said("事件 {id} 不存在", id=event_id))
    audit = Audit()
    for event, head_seq, head_hash in heads:
        entries = await timeline.chain(session, event)
        audit.events += 1
        audit.entries += len(entries)
        found = first_break(entries, head_seq, head_hash)
        if found is not None:
            audit.breaks[event] = found
    return audit
