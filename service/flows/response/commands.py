"""A commander's commands on an event, checked in the order design.md sets: who the caller is
(403), then the event (404), then jurisdiction (403), then the state (409)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from models import Attestation, Event, EventGrid
from service.errors import Conflict, InvalidInput
from service.flows.actions.dispatch import cancel_open, dispatch, hand_over, scene_of, started_items
from service.flows.response.levels import (
    Termination,
    begin_response,
    change_level,
    level_notice,
    post_event_open,
)
from service.flows.response.levels import terminate as end_response
from service.flows.schemas import RegionCode, Text
from service.plan.actor import Actor
from service.plan.duties import OPEN_STATES, PHASES
from service.plan.jurisdiction import require_area, require_hq
from service.plan.leadership import (
    PROVINCE_HQ,
    Setter,
    commanded_lead,
    higher_lead,
    hq_rank,
    may_take_lead,
)
from service.plan.levels import Level, level_rank
from service.plan.lifecycle import fire
from service.plan.restoration import GridLoss, restoration
from service.plan.termination import (
    Attested,
    AttestedKey,
    Condition,
    termination_check,
    unmet,
    unreported_key_areas,
)
from service.playbooks.bundle import Playbooks
from service.store import outbox, timeline
from service.store.batch import WriteBatch
from service.store.events import event_area, lock_event
from service.store.transactions import in_transaction


async def start_response(
    session: AsyncSession,
    playbooks: Playbooks,
    actor: Actor,
    event_id: uuid.UUID,
    level: Level,
    reason: str,
    now: datetime,
) -> Event:
    """Plan 5.1: a commander may start a response, even below 一般, with a reason."""
    async with WriteBatch(session) as batch:
        actor.require("commander")
        event = await lock_event(session, event_id)
        require_area(actor, await event_area(session, event), playbooks.grids, "start a response")
        lead = commanded_lead(level, actor.region or "", Setter.all_of(event.basis))
        require_hq(actor, lead, playbooks.grids, f"start a level {level} response", "5.1")
        fire(event, "start_response")
        event.updated_at = now
        before = (event.level, event.response_level)
        await begin_response(
            session,
            batch,
            playbooks,
            event,
            level,
            await scene_of(session, event, lead=lead),
            actor,
            now,
            f"level {level} response started by {actor.label}: {reason}",
            reason=reason,
            discretionary=True,
        )
        level_notice(batch, event, before, now)
        return event


async def set_level(
    session: AsyncSession,
    playbooks: Playbooks,
    actor: Actor,
    event_id: uuid.UUID,
    level: Level,
    reason: str,
    now: datetime,
) -> Event:
    """Plan 5.1: adjust the response level; needs the leading HQ or above, before and after."""
    async with WriteBatch(session) as batch:
        actor.require("commander")
        event = await lock_event(session, event_id)
        require_hq(actor, event.leading_hq, playbooks.grids, "set the response level", "5.1")
        fire(event, "set_level")
        lead = commanded_lead(level, actor.region or "", Setter.all_of(event.basis))
        if level_rank(level) > level_rank(event.response_level):
            # A rise never hands the lead down (an HQ that took the lead keeps it).
            lead = higher_lead(event.leading_hq, lead)
        if hq_rank(lead) > hq_rank(event.leading_hq):
            require_hq(actor, lead, playbooks.grids, f"raise the response to {level}", "5.1")
        if level == event.response_level:
            raise Conflict(f"the response is already at level {level}", rule="plan 5.1")
        event.updated_at = now
        scene = await scene_of(session, event, lead=lead)
        before = (event.level, event.response_level)
        await change_level(session, batch, playbooks, event, level, scene, actor, now, reason)
        level_notice(batch, event, before, now)
        return event


async def take_lead(
    session: AsyncSession,
    playbooks: Playbooks,
    actor: Actor,
    event_id: uuid.UUID,
    region: str,
    reason: str,
    now: datetime,
) -> Event:
    """A higher HQ takes the lead of a III or IV response, the level kept (plan 5.1 "跨设区市的
    较大、一般大面积停电事件，必要时由省政府组织指挥应对工作"; plan 2.2 必要时由市政府组织指挥).

    The commander must command ``region`` (or an HQ above it) and ``region`` must rank above the
    HQ that leads. The leading HQ's pending duties are handed to it, and it gets the duties its
    new role brings. From then on it is the HQ that ends the response (plan 5.5).
    """
    async with WriteBatch(session) as batch:
        actor.require("commander")
        if region not in playbooks.grids:
            raise InvalidInput("region", f"unknown region {region} (see regions.yaml)")
        event = await lock_event(session, event_id)
        require_hq(actor, region, playbooks.grids, f"take the lead for {region}", "5.1")
        fire(event, "take_lead")
        refused = may_take_lead(event.response_level, event.leading_hq, region)
        if refused is not None:
            raise Conflict(
                refused,
                leading_hq=event.leading_hq,
                level=event.response_level,
                rule="plan 5.1, 2.2: a higher HQ takes the lead of a III or IV",
            )
        previous, event.leading_hq = event.leading_hq, region
        event.updated_at = now
        clause = "5.1" if region == PROVINCE_HQ else "2.2"
        timeline.record(
            batch,
            event,
            "leading_hq_changed",
            actor,
            f"{region} takes the lead of the level {event.response_level} response from "
            f"{previous}: {reason}",
            clause=clause,
            at=now,
            leading_hq=region,
            previous=previous,
            reason=reason,
        )
        await hand_over(session, batch, playbooks, event, region, actor, now, clause=clause)
        if event.response_level is not None:
            items = started_items(playbooks, event.response_level)
            scene = await scene_of(session, event)
            await dispatch(session, batch, playbooks, event, items, actor, now, scene, reopen=False)
        return event


async def dismiss(
    session: AsyncSession,
    playbooks: Playbooks,
    actor: Actor,
    event_id: uuid.UUID,
    reason: str,
    now: datetime,
) -> Event:
    """Close an event that never needed a response (design.md: monitoring → closed)."""
    async with WriteBatch(session) as batch:
        actor.require("commander")
        event = await lock_event(session, event_id)
        require_area(actor, await event_area(session, event), playbooks.grids, "dismiss the event")
        fire(event, "dismiss")
        event.closed_at = event.updated_at = now
        await cancel_open(
            session,
            batch,
            event,
            phases=PHASES,
            states=OPEN_STATES,
            keep_keys=None,
            reason=f"event dismissed: {reason}",
            actor=actor,
            now=now,
            clause="1.5",
        )
        # Plan 1.5: it never became a 大面积停电事件 that needed a response.
        timeline.record(
            batch,
            event,
            "event_dismissed",
            actor,
            f"dismissed: {reason}",
            clause="1.5",
            at=now,
            reason=reason,
        )
        # A dismissal closes the event too (monitoring → closed): the same notice, saying so.
        extra = {"reason": reason, "dismissed": True}
        outbox.emit(batch, event, "event.closed", extra=extra, at=now)
        return event


async def check(session: AsyncSession, playbooks: Playbooks, event: Event) -> list[Condition]:
    """Plan 5.5's four conditions for this event, from its grids and attestations."""
    rows = list(await session.scalars(select(EventGrid).where(EventGrid.event_id == event.id)))
    restored = restoration(
        GridLoss(g.region, g.scope, g.load_lost_mw, g.peak_load_lost_mw) for g in rows
    )
    grids = playbooks.grids
    key_areas = [g.region for g in rows if (grid := grids.get(g.region)) and grid.key_area]
    unreported = unreported_key_areas(
        (g.region for g in rows), (g.code for g in grids if g.key_area), grids.is_within
    )
    statements = await session.scalars(
        select(Attestation).where(Attestation.event_id == event.id).order_by(Attestation.at)
    )
    attested = [Attested(a.condition, a.evidence, a.actor, a.at.isoformat()) for a in statements]
    return termination_check(restored, key_areas, attested, unreported)


async def terminate(
    session: AsyncSession,
    playbooks: Playbooks,
    actor: Actor,
    event_id: uuid.UUID,
    request: Termination,
    now: datetime,
) -> Event:
    """Plan 5.5: the government that started the response ends it (or, the service's choice, a
    higher one)."""
    async with WriteBatch(session) as batch:
        actor.require("commander")
        event = await lock_event(session, event_id)
        require_hq(actor, event.leading_hq, playbooks.grids, "terminate the response", "5.5")
        conditions = await check(session, playbooks, event) if event.state == "response" else []
        failed = unmet(conditions)
        event.updated_at = now  # before the post-event dispatch flushes the event
        await end_response(
            session, batch, playbooks, event, actor, now, request, not failed, failed
        )
        return event


async def close(
    session: AsyncSession,
    playbooks: Playbooks,
    actor: Actor,
    event_id: uuid.UUID,
    reason: str | None,
    now: datetime,
) -> Event:
    """Plan 6: close once every post-event action is done or cancelled with a reason."""
    async with WriteBatch(session) as batch:
        actor.require("commander")
        event = await lock_event(session, event_id)
        require_hq(actor, event.leading_hq, playbooks.grids, "close the event", "6")
        still_open = await post_event_open(session, event) if event.state == "terminated" else []
        try:
            fire(event, "close", post_event_work_done=not still_open)
        except Conflict as refused:
            if still_open:
                refused.detail = f"{len(still_open)} post-event action(s) are still open"
                refused.extra.update(open=sorted(still_open), rule="plan 6", guard="close")
            raise
        event.closed_at = event.updated_at = now
        timeline.record(
            batch,
            event,
            "event_closed",
            actor,
            "event closed" + (f": {reason}" if reason else ""),
            clause="6",
            at=now,
        )
        outbox.emit(batch, event, "event.closed", extra={"reason": reason}, at=now)
        return event


class LeadTaking(BaseModel):
    """``POST /events/{id}/lead``: the HQ of ``region`` takes the lead, saying why."""

    model_config = ConfigDict(extra="forbid")

    region: RegionCode = Field(description="the HQ that takes the lead: 330000 or 330600")
    reason: Annotated[Text, Field(min_length=1, max_length=2000)]


class AttestationCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    condition: AttestedKey
    evidence: Annotated[Text, Field(min_length=1, max_length=4000)]


class AttestationRead(BaseModel):
    id: uuid.UUID
    event_id: uuid.UUID
    condition: str
    evidence: str
    actor: str
    at: datetime


async def attest(
    session: AsyncSession,
    playbooks: Playbooks,
    actor: Actor,
    event_id: uuid.UUID,
    body: AttestationCreate,
    now: datetime,
) -> Attestation:
    """A dispatcher's or commander's statement on a plan 5.5 condition, with evidence."""
    async with WriteBatch(session) as batch:
        actor.require("dispatcher", "commander")
        event = await lock_event(session, event_id)
        require_area(actor, await event_area(session, event), playbooks.grids, "attest")
        if event.state != "response":
            raise Conflict(
                f"attestations are for events in response; this one is in '{event.state}'",
                state=event.state,
                rule="plan 5.5",
            )
        statement = Attestation(
            id=uuid.uuid4(),
            event_id=event.id,
            condition=body.condition,
            evidence=body.evidence,
            actor_id=actor.id,
            actor=actor.label,
            at=now,
        )
        batch.add_object(statement)
        timeline.record(
            batch,
            event,
            "attestation",
            actor,
            f"{body.condition} attested: {body.evidence}",
            clause="5.5",
            at=now,
            condition=body.condition,
        )
        return statement


async def record_refusal(
    sessions: async_sessionmaker[AsyncSession],
    actor: Actor,
    event_id: uuid.UUID,
    refused: Conflict,
) -> None:
    """Keep a guarded transition's refusal on the timeline, in a transaction of its own (the
    refused one is rolled back)."""
    trigger = refused.extra.get("guard")
    if trigger is None:
        return

    async def record(session: AsyncSession) -> None:
        event = await lock_event(session, event_id)
        async with WriteBatch(session) as batch:
            timeline.record(
                batch,
                event,
                "transition_refused",
                actor,
                f"{trigger} refused: {refused.detail}",
                clause=str(refused.extra.get("rule", "")).removeprefix("plan ") or None,
                trigger=trigger,
                unmet=refused.extra.get("unmet"),
                open=refused.extra.get("open"),
            )

    await in_transaction(sessions, record)
