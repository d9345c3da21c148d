"""Attestations: a dispatcher's or commander's statement that one of plan 5.5's conditions holds
(the main grid stable, the hazards removed, the secondary events handled), with evidence."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from models import Attestation
from models.base import utcnow
from service.errors import Conflict, Said
from service.flows.context import AppContext
from service.flows.response.schemas import AttestationCreate, AttestationRead
from service.plan.actor import Actor
from service.plan.jurisdiction import require_area
from service.store import timeline
from service.store.batch import WriteBatch
from service.store.events import event_area, event_time, lock_event
from service.store.transactions import in_transaction


async def attest(
    context: AppContext, actor: Actor, event_id: uuid.UUID, body: AttestationCreate
) -> AttestationRead:
    """Record the statement on an event in response within the caller's area; it counts in the
    termination check from then on (the latest statement on a condition decides it)."""
    playbooks = context.playbooks

    async def work(session: AsyncSession) -> AttestationRead:
        now = utcnow()
        async with WriteBatch(session) as batch:
            actor.require("dispatcher", "commander")
            event = await lock_event(session, event_id)
            now = event_time(event, now)
            require_area(
                actor,
                await event_area(session, event),
                playbooks.grids,
                Said("确认预案5.5的终止条件"),
            )
            if event.state != "response":
                raise Conflict(
                    Said(
                        "只能为应急响应中的事件确认终止条件；此事件处于“{state}”",
                        state=event.state,
                    ),
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
        return AttestationRead.model_validate(statement, from_attributes=True)

    return await in_transaction(context.sessions, work)
