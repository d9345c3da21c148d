"""GET /events and what each event holds: reports, timeline."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from service.api.deps import ActorDep, ContextDep, ReadSessionDep
from service.api.openapi import problems
from service.api.pagination import Cursor, Limit
from service.flows.events import read as events
from service.flows.events.read import EventRead
from service.flows.events.timeline import TimelineRead
from service.flows.reports.schemas import ReportRead
from service.flows.schemas import Page, RegionCode
from service.plan.levels import Level
from service.plan.lifecycle import EventState

router = APIRouter(tags=["events"], responses=problems(401, 422))


@router.get("/events")
async def get_events(
    actor: ActorDep,
    session: ReadSessionDep,
    context: ContextDep,
    state: EventState | None = None,
    level: Level | None = None,
    region: Annotated[
        RegionCode | None, Query(description="grid code; includes grids within it")
    ] = None,
    drill: bool | None = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[EventRead]:
    """Events, oldest first, filtered by state, current level, region and drill."""
    return await events.list_events(
        session,
        actor,
        context.playbooks.grids,
        state=state,
        level=level,
        region=region,
        drill=drill,
        limit=limit,
        cursor=cursor,
    )


@router.get("/events/{event_id}", responses=problems(404))
async def get_event(
    event_id: uuid.UUID, actor: ActorDep, session: ReadSessionDep, context: ContextDep
) -> EventRead:
    return await events.read_event(session, actor, event_id, context.playbooks.grids)


@router.get("/events/{event_id}/reports", responses=problems(404))
async def get_event_reports(
    event_id: uuid.UUID,
    actor: ActorDep,
    session: ReadSessionDep,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[ReportRead]:
    return await events.list_reports(session, actor, event_id, limit, cursor)


@router.get("/events/{event_id}/timeline", responses=problems(404))
async def get_event_timeline(
    event_id: uuid.UUID,
    actor: ActorDep,
    session: ReadSessionDep,
    context: ContextDep,
    limit: Limit = 100,
    cursor: Cursor = None,
) -> Page[TimelineRead]:
    after = context.playbooks.checklists.after
    return await events.list_timeline(session, actor, event_id, limit, cursor, after)
