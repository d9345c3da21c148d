"""The emergency response: a commander's commands on an event (plan 5.1, 2.2, 5.5, 6), the
termination check and attestations. Each route calls one flow of ``service.flows.response``."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import Response

from service.api.deps import ContextDep, FieldActorDep, NotAgencyDep, fires
from service.api.idempotency import IdempotencyKey, answered, once_of
from service.api.openapi import problems
from service.api.routes import API_V1
from service.flows.events.schemas import EventRead
from service.flows.response import attestations, closing, lead, levels, termination
from service.flows.response.schemas import (
    AttestationCreate,
    AttestationRead,
    Closure,
    Dismissal,
    LeadTaking,
    LevelChange,
    Termination,
    TerminationCheckRead,
    WithdrawalCreate,
)
from service.plan.actor import Actor

router = APIRouter(prefix=API_V1, tags=["response"], responses=problems(401, 403, 404, 409, 422))


@router.post(
    "/events/{event_id}/response",
    summary="Start a response",
    operation_id="start_response",
)
async def post_response(
    event_id: uuid.UUID,
    body: LevelChange,
    actor: Annotated[Actor, fires("start_response")],
    context: ContextDep,
) -> EventRead:
    """Start an emergency response at ``level`` (I–IV) on an event in monitoring or warning, at
    the commander's discretion (plan 5.1, last paragraph), even when the reports have not reached
    一般 (IV). A commander whose area takes in the event's grids may call it, when their HQ is
    the one that leads at that level or above it (I and II the province, III the city, IV the
    county whose grid set it). ``reason`` goes on the timeline. The first-response duties (plan
    4, 5.2.1) and the level's response duties are dispatched to the agencies.

    Answers the event, now in ``response`` with its ``response_level`` and ``leading_hq``; 409 in
    any other state."""
    return await levels.start_response(context, actor, event_id, body)


@router.post(
    "/events/{event_id}/level",
    summary="Raise or lower the response level",
    operation_id="set_response_level",
)
async def post_level(
    event_id: uuid.UUID,
    body: LevelChange,
    actor: Annotated[Actor, fires("set_level")],
    context: ContextDep,
) -> EventRead:
    """Move a running response to ``level``, with a ``reason`` (plan 5.1 "可视…调整响应级别").
    A commander of the leading HQ or above may call it; a raise that moves the lead up needs the
    new leading HQ. A raise dispatches the new level's duties the event lacks; a lowering cancels
    the pending duties the new level lacks, with the reason. Reports never lower a level: only
    this does.

    Answers the event; 409 when the response is already at ``level`` or the event is not in
    ``response``."""
    return await levels.set_level(context, actor, event_id, body)


@router.post(
    "/events/{event_id}/lead",
    summary="Take the lead of a response",
    operation_id="take_lead",
)
async def post_lead(
    event_id: uuid.UUID,
    body: LeadTaking,
    actor: Annotated[Actor, fires("take_lead")],
    context: ContextDep,
) -> EventRead:
    """A higher HQ, ``region``, takes the lead of a level III or IV response, the level kept
    (plan 5.1: the province for an outage across cities; plan 2.2: the city across its
    counties). A commander of ``region`` or above may call it. The old lead's pending duties are
    handed over, the new lead gets the duties its role brings, and from then on it is the HQ
    that ends the response (plan 5.5).

    Answers the event with its new ``leading_hq``; 409 when ``region`` does not rank above the
    HQ that leads or the level is I or II."""
    return await lead.take_lead(context, actor, event_id, body)


@router.post(
    "/events/{event_id}/dismiss",
    summary="Dismiss an event that needs no response",
    operation_id="dismiss_event",
)
async def post_dismiss(
    event_id: uuid.UUID,
    body: Dismissal,
    actor: Annotated[Actor, fires("dismiss")],
    context: ContextDep,
) -> EventRead:
    """Close an event in monitoring that never became a large-area outage needing a response
    (plan 1.5), with a ``reason``. A commander whose area takes in the event's grids may call
    it. Its open actions are cancelled with the reason and an ``event.closed`` notice goes out.

    Answers the event, now ``closed``; 409 in any state but ``monitoring``."""
    return await closing.dismiss(context, actor, event_id, body)


@router.post(
    "/events/{event_id}/terminate",
    summary="End the response",
    operation_id="terminate_response",
)
async def post_terminate(
    event_id: uuid.UUID,
    body: Termination,
    actor: Annotated[Actor, fires("terminate")],
    context: ContextDep,
) -> EventRead:
    """End the response when all four plan 5.5 conditions hold (see the termination check). A
    commander of the leading HQ or above may call it (谁启动、谁终止). The open response duties are
    cancelled and the post-event work of plan 6 is dispatched; ``reconstruction: true`` adds plan
    6.4's reconstruction duties.

    Answers the event, now ``terminated``; 409 lists the unmet conditions in ``unmet``, and the
    refusal is kept on the timeline."""
    return await termination.terminate(context, actor, event_id, body)


@router.post(
    "/events/{event_id}/close",
    summary="Close the event after its post-event work",
    operation_id="close_event",
)
async def post_close(
    event_id: uuid.UUID,
    body: Closure,
    actor: Annotated[Actor, fires("close")],
    context: ContextDep,
) -> EventRead:
    """Close a terminated event once every post-event (plan 6) action is done or cancelled, with
    an optional ``reason``. A commander of the leading HQ or above may call it.

    Answers the event, now ``closed``; 409 names the actions still open in ``open``, and the
    refusal is kept on the timeline."""
    return await closing.close(context, actor, event_id, body)


@router.get(
    "/events/{event_id}/termination-check",
    summary="Check the conditions for ending the response",
    operation_id="check_termination",
)
async def get_termination_check(
    event_id: uuid.UUID, actor: NotAgencyDep, context: ContextDep
) -> TerminationCheckRead:
    """Plan 5.5's four conditions, condition by condition, each with ``met`` and its
    ``evidence``: ``grid_stable``, ``hazard_removed`` and ``secondary_handled`` by the latest
    attestation that stands, with every statement on them in ``attestations`` (``state``
    standing, withdrawn or voided, and who withdrew it, when and why, or the report that voided
    it); ``load_restored`` computed from the reports (80% of the load lost restored overall,
    90% in each key area and important city a report shows losing load; ``figures`` carries
    the numbers). ``can_terminate`` is true when all four are met. Any role but an agency may
    read it."""
    return await termination.read_termination_check(context, actor, event_id)


@router.post(
    "/events/{event_id}/attestations",
    status_code=201,
    response_model=AttestationRead,
    summary="Attest a termination condition",
    operation_id="attest_condition",
)
async def post_attestation(
    event_id: uuid.UUID,
    body: AttestationCreate,
    actor: FieldActorDep,
    context: ContextDep,
    request: Request,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """State that one of plan 5.5's attested conditions holds (``grid_stable``,
    ``hazard_removed``, ``secondary_handled``), with ``evidence``. A dispatcher or commander
    whose area takes in the event's grids may call it, while the event is in ``response``; the
    latest statement on a condition that stands decides it in the termination check. A later
    report that shows the situation worse than the statement knew it (more load lost on a grid,
    or a grid newly hit) voids it.

    Answers 201 with the attestation; 409 when the event is not in ``response``. With an
    ``Idempotency-Key``, a statement sent again is answered as the first time and made once."""
    once = once_of(request, idempotency_key, body)
    return answered(await attestations.attest(context, actor, event_id, body, once))


@router.post(
    "/events/{event_id}/attestations/{attestation_id}/withdraw",
    summary="Withdraw an attestation",
    operation_id="withdraw_attestation",
)
async def post_withdrawal(
    event_id: uuid.UUID,
    attestation_id: uuid.UUID,
    body: WithdrawalCreate,
    actor: FieldActorDep,
    context: ContextDep,
) -> AttestationRead:
    """Take back a standing attestation, with a ``reason``: it no longer counts in the
    termination check, which lists it as ``withdrawn`` with who, when and why. Whoever may
    attest on the event (a dispatcher or commander whose area takes in its grids) or a
    commander of the leading HQ or above may call it, while the event is in ``response``.

    Answers the attestation, ``state: "withdrawn"``; 404 when the event has no such
    attestation; 409 when it is already withdrawn or voided, or the event is not in
    ``response``."""
    return await attestations.withdraw(context, actor, event_id, attestation_id, body)
