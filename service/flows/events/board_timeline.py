"""The newest entries of an event's timeline as the board shows them to a caller: all of them to
every role but an agency; to an agency, cut as ``GET /events/{id}/timeline`` cuts them
(``service.flows.events.agency_view``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models import Event, TimelineEntry
from service.flows.actions.schemas import ActionRead
from service.flows.events.agency_view import as_agency_sees
from service.flows.events.read import received_reports, seen_by_agency
from service.flows.events.schemas import TimelineRead
from service.plan.actor import Actor

# The newest timeline entries shown per event.
TIMELINE_SHOWN: Final = 12
# Timeline rows read at a time for an agency, which sees only some of them.
TIMELINE_CHUNK: Final = 100


async def latest_timeline(
    session: AsyncSession,
    actor: Actor,
    event: Event,
    own: list[ActionRead],
    after: Mapping[str, str | None],
) -> list[TimelineRead]:
    """The event's newest ``TIMELINE_SHOWN`` entries that ``actor`` sees, newest first; for an
    agency (``own``: its actions on the event) cut as ``GET /events/{id}/timeline`` cuts them,
    read back a chunk at a time."""
    query = select(TimelineEntry).where(TimelineEntry.event_id == event.id)
    if actor.role != "agency":
        newest = await session.scalars(
            query.order_by(TimelineEntry.event_seq.desc()).limit(TIMELINE_SHOWN)
        )
        return [TimelineRead.of(row, event.drill) for row in newest]
    agency = actor.agency or ""
    action_ids = {str(action.id) for action in own}
    keys = {action.key for action in own}
    runs = {(action.key, action.run) for action in own}
    received = await received_reports(session, event.id, agency, runs, after)
    seen = await seen_by_agency(
        session,
        event,
        query,
        lambda entry: as_agency_sees(entry, agency, action_ids, keys, received),
        wanted=TIMELINE_SHOWN,
        chunk=TIMELINE_CHUNK,
        newest_first=True,
    )
    return seen[:TIMELINE_SHOWN]
