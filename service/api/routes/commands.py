"""A commander's commands on an event (plan 5.1, 5.5, 6), the termination check, attestations."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import APIRouter
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from models import Event
from models.base import utcnow
from service.api.deps import (
    ContextDep,
    FieldActorDep,
    NotAgencyDep,
    ReadSessionDep,
    fires,
)
from service.api.openapi import problems
from service.errors import Conflict
from service.flows.context import AppContext
from service.flows.events import read as events
from service.flows.events.read import EventRead
from service.flows.response import commands
from service.flows.response.commands import AttestationCreate, AttestationRead, LeadTaking
from service.flows.response.levels import LevelChange, ReasonOptional, ReasonRequired, Termination
from service.flows.schemas import ConditionRead
from service.plan.actor import Actor
from service.store.events import get_event
from service.store.transactions import in_transaction

router = APIRouter(tags=["response"], responses=problems(401, 403, 404, 409, 422))


Command = Callable[[AsyncSession], Awaitable[Event]]


async def _answer(context: AppContext, command: Command) -> EventRead:
    """Run ``command`` in a transaction of its own (retried on conflicts with concurrent work)
    and answer the event as it then stands."""

    async def work(session: AsyncSession) -> EventRead:
        event = await command(session)
        return await events.describe(session, event, context.playbooks.grids)

    return await in_transaction(context.sessions, work)


async def _guarded(
    context: AppContext, actor: Actor, event_id: uuid.UUID, command: Command
) -> EventRead:
    """Run a guarded transition; a refusal by its guard is kept on the timeline."""
    try:
        return await _answer(context, command)
    except Conflict as refused:
        await commands.record_refusal(context.sessions, actor, event_id, refused)
        raise


@router.post("/events/{event_id}/response")
async def post_response(
    event_id: uuid.UUID,
    body: LevelChange,
    actor: Annotated[Actor, fires("start_response")],
    context: ContextDep,
) -> EventRead:
    """Start a response at the commander's discretion (plan 5.1), even below 一般."""
    return await _answer(
        context,
        lambda session: commands.start_response(
            session, context.playbooks, actor, event_id, body.level, body.reason, utcnow()
        ),
    )


@router.post("/events/{event_id}/level")
async def post_level(
    event_id: uuid.UUID,
    body: LevelChange,
    actor: Annotated[Actor, fires("set_level")],
    context: ContextDep,
) -> EventRead:
    """Raise or lower the response level, with a reason (plan 5.1)."""
    return await _answer(
        context,
        lambda session: commands.set_level(
            session, context.playbooks, actor, event_id, body.level, body.reason, utcnow()
        ),
    )


@router.post("/events/{event_id}/lead")
async def post_lead(
    event_id: uuid.UUID,
    body: LeadTaking,
    actor: Annotated[Actor, fires("take_lead")],
    context: ContextDep,
) -> EventRead:
    """A higher HQ takes the lead of a III or IV response, the level kept (plan 5.1: the
    province for an outage across cities; plan 2.2: the city across its counties)."""
    return await _answer(
        context,
        lambda session: commands.take_lead(
            session, context.playbooks, actor, event_id, body.region, body.reason, utcnow()
        ),
    )


@router.post("/events/{event_id}/dismiss")
async def post_dismiss(
    event_id: uuid.UUID,
    body: ReasonRequired,
    actor: Annotated[Actor, fires("dismiss")],
    context: ContextDep,
) -> EventRead:
    return await _answer(
        context,
        lambda session: commands.dismiss(
            session, context.playbooks, actor, event_id, body.reason, utcnow()
        ),
    )


@router.post("/events/{event_id}/terminate")
async def post_terminate(
    event_id: uuid.UUID,
    body: Termination,
    actor: Annotated[Actor, fires("terminate")],
    context: ContextDep,
) -> EventRead:
    """End the response when all four plan 5.5 conditions hold (409 lists the unmet ones);
    ``reconstruction: true`` sends out plan 6.4's reconstruction duties with the rest of plan 6."""
    return await _guarded(
        context,
        actor,
        event_id,
        lambda session: commands.terminate(
            session, context.playbooks, actor, event_id, body, utcnow()
        ),
    )


@router.post("/events/{event_id}/close")
async def post_close(
    event_id: uuid.UUID,
    body: ReasonOptional,
    actor: Annotated[Actor, fires("close")],
    context: ContextDep,
) -> EventRead:
    """Close once every post-event (plan 6) action is done or cancelled."""
    return await _guarded(
        context,
        actor,
        event_id,
        lambda session: commands.close(
            session, context.playbooks, actor, event_id, body.reason, utcnow()
        ),
    )


class TerminationCheck(BaseModel):
    can_terminate: bool
    conditions: list[ConditionRead]


@router.get("/events/{event_id}/termination-check")
async def get_termination_check(
    event_id: uuid.UUID, actor: NotAgencyDep, session: ReadSessionDep, context: ContextDep
) -> TerminationCheck:
    """Plan 5.5, condition by condition, with the evidence for each."""
    event = await get_event(session, actor, event_id)
    conditions = await commands.check(session, context.playbooks, event)
    return TerminationCheck(
        can_terminate=all(c.met for c in conditions),
        conditions=[ConditionRead.of(c) for c in conditions],
    )


@router.post("/events/{event_id}/attestations", status_code=201)
async def post_attestation(
    event_id: uuid.UUID,
    body: AttestationCreate,
    actor: FieldActorDep,
    context: ContextDep,
) -> AttestationRead:
    """A statement that a plan 5.5 condition holds, with evidence."""

    async def work(session: AsyncSession) -> AttestationRead:
        statement = await commands.attest(
            session, context.playbooks, actor, event_id, body, utcnow()
        )
        return AttestationRead.model_validate(statement, from_attributes=True)

    return await in_transaction(context.sessions, work)
