"""Starting, adjusting and ending a response (plan 5.1, 5.5, 6), and what each dispatches."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models import Action, EarlyWarning, Event, EventGrid
from service import timeline, writes
from service.classification import level_rank
from service.context import Playbooks
from service.dispatch import (
    OPEN_STATES,
    RESPONSE_PHASES,
    cancel_open,
    dispatch,
    response_items,
)
from service.errors import Conflict, InvalidInput, NotFound
from service.leadership import CITY_HQ
from service.lifecycle import fire
from service.schemas import LevelStr
from service.security import Actor

Reason = Field(min_length=1, max_length=2000)


class LevelChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    level: LevelStr
    reason: str = Reason


class ReasonRequired(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Reason


class ReasonOptional(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str | None = Field(default=None, max_length=2000)


async def lock_event(session: AsyncSession, event_id: uuid.UUID, field: str | None = None) -> Event:
    """The event, locked for this transaction (FOR UPDATE; SQLite's writer lock covers it).

    ``field`` names the request field that gave the id, for the 404.
    """
    event = await session.scalar(select(Event).where(Event.id == event_id).with_for_update())
    if event is None:
        raise NotFound(f"event {event_id} does not exist", **({"field": field} if field else {}))
    return event


async def open_event(
    session: AsyncSession,
    actor: Actor,
    now: datetime,
    *,
    event_id: uuid.UUID | None,
    drill: bool | None,
    opened_by: str,
    clause: str,
) -> Event:
    """The named event, locked; or, with no ``event_id``, a new one in monitoring.

    ``drill`` must match a named event's (or be None); a new event is a drill only if asked.
    """
    if event_id is None:
        event = Event(
            id=uuid.uuid4(),
            state="monitoring",
            drill=bool(drill),
            opened_at=now,
            updated_at=now,
            basis=[],
        )
        # Written with the transaction's other new rows; see service.writes.
        writes.queue_object(session, event)
        timeline.record(
            session,
            event.id,
            "event_opened",
            actor,
            f"event opened by {opened_by}" + (" (drill)" if event.drill else ""),
            clause=clause,
            at=now,
        )
        return event
    found = await lock_event(session, event_id, field="event_id")
    if drill is not None and drill != found.drill:
        kind = "a drill" if found.drill else "not a drill"
        raise InvalidInput(
            "drill", f"event {found.id} is {kind}; drill must match it or be left out"
        )
    return found


async def event_area(session: AsyncSession, event: Event) -> set[str]:
    """The grids the event's reports named and the regions its warnings cover."""
    grids = set(
        await session.scalars(select(EventGrid.region).where(EventGrid.event_id == event.id))
    )
    for area in await session.scalars(
        select(EarlyWarning.area).where(EarlyWarning.event_id == event.id)
    ):
        grids.update(area)
    return grids


async def begin_response(
    session: AsyncSession,
    playbooks: Playbooks,
    event: Event,
    level: str,
    lead: str,
    actor: Actor,
    now: datetime,
    summary: str,
    **data: object,
) -> None:
    """Record the start (plan 5.1) and dispatch the first-response and response items."""
    event.response_level = level
    event.leading_hq = lead
    timeline.record(
        session,
        event.id,
        "response_started",
        actor,
        summary,
        clause="5.1",
        at=now,
        level=level,
        leading_hq=lead,
        **data,
    )
    await dispatch(session, playbooks, event, response_items(playbooks, level), actor, now, lead)


async def change_level(
    session: AsyncSession,
    playbooks: Playbooks,
    event: Event,
    level: str,
    lead: str,
    actor: Actor,
    now: datetime,
    reason: str,
) -> None:
    """Plan 5.1 "可视…调整响应级别": a rise dispatches the new items at once; a lowering cancels
    the pending items the new level lacks, with the reason."""
    previous = event.response_level
    rising = level_rank(level) > level_rank(previous)  # type: ignore[arg-type]
    event.response_level = level
    event.leading_hq = lead
    timeline.record(
        session,
        event.id,
        "response_raised" if rising else "response_lowered",
        actor,
        f"response {'raised' if rising else 'lowered'} from {previous} to {level}: {reason}",
        clause="5.1",
        at=now,
        level=level,
        previous=previous,
        leading_hq=lead,
        reason=reason,
    )
    items = response_items(playbooks, level)
    if rising:
        await dispatch(session, playbooks, event, items, actor, now, lead)
        return
    await cancel_open(
        session,
        event,
        phases=RESPONSE_PHASES,
        states=("pending",),
        keep_keys=[item.key for item in items],
        reason=f"response lowered to {level}: {reason}",
        actor=actor,
        now=now,
        clause="5.1",
    )


async def terminate(
    session: AsyncSession,
    playbooks: Playbooks,
    event: Event,
    actor: Actor,
    now: datetime,
    reason: str | None,
    can_terminate: bool,
    unmet: list[dict[str, object]],
) -> None:
    """Plan 5.5: end the response (谁启动、谁终止); plan 6: dispatch the post-event work."""
    try:
        fire(event, "terminate", termination_conditions_met=can_terminate)
    except Conflict as refused:
        if event.state == "response":
            refused.detail = "the plan 5.5 conditions are not all met"
            refused.extra.update(unmet=unmet, rule="plan 5.5", guard="terminate")
        raise
    timeline.record(
        session,
        event.id,
        "response_terminated",
        actor,
        "response terminated" + (f": {reason}" if reason else ""),
        clause="5.5",
        at=now,
        level=event.response_level,
        leading_hq=event.leading_hq,
    )
    await cancel_open(
        session,
        event,
        phases=RESPONSE_PHASES,
        states=OPEN_STATES,
        keep_keys=None,
        reason="response terminated",
        actor=actor,
        now=now,
        clause="5.5",
    )
    items = playbooks.checklists.items_for("post_event", event.response_level)  # type: ignore[arg-type]
    await dispatch(session, playbooks, event, items, actor, now, event.leading_hq or CITY_HQ)


async def post_event_open(session: AsyncSession, event: Event) -> list[str]:
    """Keys of post-event (plan 6) actions neither done nor cancelled."""
    return list(
        await session.scalars(
            select(Action.key).where(
                Action.event_id == event.id,
                Action.phase == "post_event",
                Action.state.in_(OPEN_STATES),
            )
        )
    )
