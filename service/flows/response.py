"""Starting, adjusting and ending a response (plan 5.1, 5.5, 6), and what each dispatches."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models import Action, Event
from service.errors import Conflict
from service.flows.dispatch import cancel_open, dispatch, response_items
from service.flows.schemas import Text
from service.plan.actor import Actor
from service.plan.duties import OPEN_STATES, RESPONSE_PHASES
from service.plan.leadership import CITY_HQ
from service.plan.levels import Level, level_rank
from service.plan.lifecycle import fire
from service.playbooks.bundle import Playbooks
from service.store import timeline
from service.store.batch import WriteBatch

Reason = Annotated[Text, Field(min_length=1, max_length=2000)]


class LevelChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    level: Level
    reason: Reason


class ReasonRequired(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Reason


class ReasonOptional(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Annotated[Text, Field(max_length=2000)] | None = None


async def begin_response(
    session: AsyncSession,
    batch: WriteBatch,
    playbooks: Playbooks,
    event: Event,
    level: Level,
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
        batch,
        event,
        "response_started",
        actor,
        summary,
        clause="5.1",
        at=now,
        level=level,
        leading_hq=lead,
        **data,
    )
    await dispatch(
        session, batch, playbooks, event, response_items(playbooks, level), actor, now, lead
    )


async def change_level(
    session: AsyncSession,
    batch: WriteBatch,
    playbooks: Playbooks,
    event: Event,
    level: Level,
    lead: str,
    actor: Actor,
    now: datetime,
    reason: str,
) -> None:
    """Plan 5.1 "可视…调整响应级别": a rise dispatches the new items at once; a lowering cancels
    the pending items the new level lacks, with the reason."""
    previous = event.response_level
    rising = level_rank(level) > level_rank(previous)
    event.response_level = level
    event.leading_hq = lead
    timeline.record(
        batch,
        event,
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
        await dispatch(session, batch, playbooks, event, items, actor, now, lead)
        return
    await cancel_open(
        session,
        batch,
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
    batch: WriteBatch,
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
        batch,
        event,
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
        batch,
        event,
        phases=RESPONSE_PHASES,
        states=OPEN_STATES,
        keep_keys=None,
        reason="response terminated",
        actor=actor,
        now=now,
        clause="5.5",
    )
    items = playbooks.checklists.items_for("post_event", event.response_level)
    await dispatch(session, batch, playbooks, event, items, actor, now, event.leading_hq or CITY_HQ)


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
