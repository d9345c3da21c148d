"""GET /events and what each event holds: reports, timeline; a drill event's clock."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from service.api.deps import ActorDep, ContextDep, role
from service.api.openapi import problems
from service.api.pagination import Cursor, Limit
from service.api.routes import API_V1
from service.flows.drills import clock
from service.flows.drills.schemas import DrillClockSet
from service.flows.events import read as events
from service.flows.events.schemas import EventRead, TimelineRead
from service.flows.reports.schemas import ReportRead
from service.flows.schemas import Page, RegionCode
from service.plan.actor import Actor
from service.plan.levels import Level
from service.plan.lifecycle import EventState

router = APIRouter(prefix=API_V1, tags=["events"], responses=problems(401, 422))


@router.get("/events", summary="List events", operation_id="list_events")
async def list_events(
    actor: ActorDep,
    context: ContextDep,
    state: EventState | None = None,
    level: Annotated[Level | None, Query(description="the level the event now stands at")] = None,
    region: Annotated[
        RegionCode | None, Query(description="grid code; includes grids within it")
    ] = None,
    drill: Annotated[
        bool | None, Query(description="only drills (true) or only real events (false)")
    ] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[EventRead]:
    """The outage events the caller may see, oldest first, each with its state, its levels
    (plan 1.5's `level` now, its `peak_level`, the emergency response's `response_level`),
    its `leading_hq` and its restoration figures (plan 5.5).

    Any token may list; an agency sees only the events it has actions in. Filter by `state`,
    current `level`, `region` (a city code takes in its counties: 330600 lists events in 柯桥区
    330603 too) and `drill`. A page holds up to `limit` events; pass its `next` as `cursor`
    for the following one.
    """
    return await events.list_events(
        context,
        actor,
        state=state,
        level=level,
        region=region,
        drill=drill,
        limit=limit,
        cursor=cursor,
    )


@router.get(
    "/events/{event_id}",
    summary="Read one event",
    operation_id="read_event",
    responses=problems(404),
)
async def read_event(event_id: uuid.UUID, actor: ActorDep, context: ContextDep) -> EventRead:
    """One event as the list shows it: state, levels, leading HQ, the basis of its level (each
    rule of plan 1.5 that fired for each grid) and its restoration, overall and per grid.

    Any token may read an event it may see (an agency: one it has actions in); 404 otherwise.
    """
    return await events.read_event(context, actor, event_id)


@router.get(
    "/events/{event_id}/reports",
    summary="List an event's reports",
    operation_id="list_event_reports",
    responses=problems(404),
)
async def list_event_reports(
    event_id: uuid.UUID,
    actor: ActorDep,
    context: ContextDep,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[ReportRead]:
    """The dispatchers' reports on the event, in the order they were received: each with its
    snapshots (plan 1.5's figures per grid), its own level and basis, its cause and estimated
    time of restoration, and the name of the token that sent it.

    Any token may read the reports of an event it may see; 404 otherwise. Paged as GET /events.
    """
    return await events.list_reports(context, actor, event_id, limit, cursor)


@router.get(
    "/events/{event_id}/timeline",
    summary="Read an event's timeline",
    operation_id="list_event_timeline",
    responses=problems(404),
)
async def list_event_timeline(
    event_id: uuid.UUID,
    actor: ActorDep,
    context: ContextDep,
    limit: Limit = 100,
    cursor: Cursor = None,
) -> Page[TimelineRead]:
    """Everything that happened to the event, oldest first, numbered by `seq` without gaps:
    reports, levels set, leads taken, warnings, actions dispatched, acknowledged and done,
    attestations, termination; each with who did it and the plan's clause.

    Commanders, dispatchers, observers and admins see every entry. An agency sees the event's
    own course and the entries about its own actions (and the plan 4 reports it received),
    never another agency's. Paged by `seq`: pass `next` as `cursor`.
    """
    return await events.list_timeline(context, actor, event_id, limit, cursor)


@router.post(
    "/events/{event_id}/drill-clock",
    summary="Move a drill's clock on",
    operation_id="set_drill_clock",
    responses=problems(403, 404, 409),
)
async def post_drill_clock(
    event_id: uuid.UUID,
    body: DrillClockSet,
    actor: Annotated[Actor, role("admin")],
    context: ContextDep,
) -> EventRead:
    """Move a drill event's own clock on to `at` (design § Drills): from then on every change
    to the event is stamped with that time, not the service's, so that a drill played fast
    reads as its scenario runs. The actions due by then are escalated (or reminded) at once.

    Only the admin token a drill made for itself (named `drill: …`, as `drill run` makes it)
    may call it, else 403. A real event never takes a time from a client: 409. The clock never
    runs backwards: an `at` before it is a 409 that gives the `clock`. Answers the event, with
    its `drill_clock`.
    """
    return await clock.set_drill_clock(context, actor, event_id, body)
