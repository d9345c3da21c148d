"""Ending a response (plan 5.5): its four conditions, read from the event's grids and
attestations, and the termination itself once they all hold (plan 6's work then goes out)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models import Attestation, Event, EventGrid
from service.errors import Said
from service.flows.context import AppContext
from service.flows.events.schemas import EventRead
from service.flows.response.attestations import statement_of
from service.flows.response.levels import end_response
from service.flows.response.running import run_guarded
from service.flows.response.schemas import Termination, TerminationCheckRead
from service.flows.schemas import ConditionRead
from service.plan.actor import Actor
from service.plan.jurisdiction import require_hq
from service.plan.relapse import Known
from service.plan.restoration import GridLoss, restoration
from service.plan.termination import Affected, Condition, termination_check, unmet
from service.playbooks.bundle import Playbooks
from service.store.batch import WriteBatch
from service.store.events import get_event


async def termination_conditions(
    session: AsyncSession, playbooks: Playbooks, event: Event
) -> list[Condition]:
    """Plan 5.5's four conditions for this event, from its grids and attestations."""
    rows = list(await session.scalars(select(EventGrid).where(EventGrid.event_id == event.id)))
    restored = restoration(
        GridLoss(g.region, g.scope, g.load_lost_mw, g.peak_load_lost_mw) for g in rows
    )
    hit = (
        g.region
        for g in rows
        if Known.of(g.load_lost_mw, g.peak_load_lost_mw, g.peak_customers_out).hit
    )
    affected = Affected.among(playbooks.grids, hit)
    statements = await session.scalars(
        select(Attestation).where(Attestation.event_id == event.id).order_by(Attestation.at)
    )
    return termination_check(restored, affected, [statement_of(a) for a in statements])


async def read_termination_check(
    context: AppContext, actor: Actor, event_id: uuid.UUID
) -> TerminationCheckRead:
    """The event's plan 5.5 conditions as ``actor`` may see them (404 for an event it may not)."""
    async with context.read_sessions() as session:
        event = await get_event(session, actor, event_id)
        conditions = await termination_conditions(session, context.playbooks, event)
    return TerminationCheckRead(
        can_terminate=all(c.met for c in conditions),
        conditions=[ConditionRead.of(c) for c in conditions],
    )


async def terminate(
    context: AppContext, actor: Actor, event_id: uuid.UUID, termination: Termination
) -> EventRead:
    """Plan 5.5: the government that started the response ends it (or, the service's choice, a
    higher one), when all four conditions hold; a refusal names the unmet ones and is kept on
    the timeline."""
    playbooks = context.playbooks

    async def command(
        session: AsyncSession, batch: WriteBatch, event: Event, now: datetime
    ) -> None:
        require_hq(actor, event.leading_hq, playbooks.grids, Said("终止本次应急响应"), "5.5")
        in_response = event.state == "response"
        conditions = await termination_conditions(session, playbooks, event) if in_response else []
        failed = unmet(conditions)
        event.updated_at = now  # stamped before the move, so the event's row is written once
        await end_response(
            session, batch, playbooks, event, actor, now, termination, not failed, failed
        )

    return await run_guarded(context, actor, event_id, command)
