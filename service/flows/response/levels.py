"""Starting, adjusting and ending a response (plan 5.1, 5.5, 6), and what each dispatches."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models import Action, Event
from service.errors import Conflict
from service.flows.actions.dispatch import cancel_open, dispatch, hand_over, scene_of, started_items
from service.flows.schemas import Text
from service.plan.actor import Actor
from service.plan.addressees import Scene
from service.plan.duties import ENDED_PHASES, LEVELLED_PHASES, OPEN_STATES
from service.plan.levels import Level, level_rank
from service.plan.lifecycle import fire
from service.playbooks.bundle import Playbooks
from service.store import outbox, timeline
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


def level_notice(
    batch: WriteBatch,
    event: Event,
    before: tuple[Level | None, Level | None],
    now: datetime,
) -> None:
    """``event.level_changed`` when the event's level or its response's level moved from
    ``before`` (level, response level), with what they were."""
    if (event.level, event.response_level) == before:
        return
    previous_level, previous_response_level = before
    outbox.emit(
        batch,
        event,
        "event.level_changed",
        extra={
            "previous_level": previous_level,
            "previous_response_level": previous_response_level,
        },
        at=now,
    )


async def begin_response(
    session: AsyncSession,
    batch: WriteBatch,
    playbooks: Playbooks,
    event: Event,
    level: Level,
    scene: Scene,
    actor: Actor,
    now: datetime,
    summary: str,
    **data: object,
) -> None:
    """Record the start (plan 5.1) and dispatch what the response owes from its start.

    The first-response items go out first, on the timeline before the start itself: plan 4's
    first reports and 5.2.1's 先期处置 come "应急响应启动前", as soon as the event is known to be
    one. Then the response's own items, and the post-event ones that begin with it (plan 6.2).
    """
    event.response_level = level
    event.leading_hq = scene.leading_hq
    items = started_items(playbooks, level)
    first = [item for item in items if item.phase == "first_response"]
    await dispatch(session, batch, playbooks, event, first, actor, now, scene)
    timeline.record(
        batch,
        event,
        "response_started",
        actor,
        summary,
        clause="5.1",
        at=now,
        level=level,
        leading_hq=scene.leading_hq,
        **data,
    )
    rest = [item for item in items if item.phase != "first_response"]
    await dispatch(session, batch, playbooks, event, rest, actor, now, scene)


async def change_level(
    session: AsyncSession,
    batch: WriteBatch,
    playbooks: Playbooks,
    event: Event,
    level: Level,
    scene: Scene,
    actor: Actor,
    now: datetime,
    reason: str,
) -> None:
    """Plan 5.1 "可视…调整响应级别": the new level's items the event lacks go out at once; a
    lowering also cancels the pending items the new level lacks, with the reason. When the lead
    changes with the level, the pending duties of the lead at the new level go to the new lead
    (``hand_over``)."""
    previous, previous_hq = event.response_level, event.leading_hq
    rising = level_rank(level) > level_rank(previous)
    event.response_level = level
    event.leading_hq = scene.leading_hq
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
        leading_hq=scene.leading_hq,
        reason=reason,
    )
    items = started_items(playbooks, level)
    if not rising:
        await cancel_open(
            session,
            batch,
            event,
            phases=LEVELLED_PHASES,
            states=("pending",),
            keep_keys=[item.key for item in items],
            reason=f"response lowered to {level}: {reason}",
            actor=actor,
            now=now,
            clause="5.1",
        )
    if previous_hq is not None and previous_hq != scene.leading_hq:
        await hand_over(session, batch, playbooks, event, scene.leading_hq, actor, now, "5.1")
    await dispatch(session, batch, playbooks, event, items, actor, now, scene)


async def terminate(
    session: AsyncSession,
    batch: WriteBatch,
    playbooks: Playbooks,
    event: Event,
    actor: Actor,
    now: datetime,
    request: Termination,
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
    reason = request.reason
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
        reconstruction=request.reconstruction,
    )
    extra = {"reason": reason, "reconstruction": request.reconstruction}
    outbox.emit(batch, event, "response.terminated", extra=extra, at=now)
    await cancel_open(
        session,
        batch,
        event,
        phases=ENDED_PHASES,
        states=OPEN_STATES,
        keep_keys=None,
        reason="response terminated",
        actor=actor,
        now=now,
        clause="5.5",
    )
    if event.response_level is None:
        return
    items = playbooks.checklists.items_at("terminated", event.response_level)
    scene = await scene_of(session, event, reconstruction=request.reconstruction)
    await dispatch(session, batch, playbooks, event, items, actor, now, scene)


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


class Termination(BaseModel):
    """Ending a response (plan 5.5), and whether the grid needs repair or rebuilding (plan 6.4
    "需对电网网架结构和设施设备进行修复或重建的"): only then do the reconstruction duties go
    out. The commander who ends the response says so; left out, none is needed."""

    model_config = ConfigDict(extra="forbid")

    reason: Annotated[Text, Field(max_length=2000)] | None = None
    reconstruction: bool = Field(
        default=False,
        description="the grid's structure or facilities need repair or rebuilding (plan 6.4)",
    )
