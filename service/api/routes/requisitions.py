"""The requisition register of plan 5.3 (依法征用、调用车辆和物资、人员), which plan 6.3's
compensation is paid from. Each route calls one flow of ``service.flows.response.requisitions``."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter

from service.api.deps import ActorDep, ContextDep, role
from service.api.openapi import problems
from service.api.routes import API_V1
from service.flows.response import requisitions
from service.flows.response.requisition_schemas import (
    RequisitionCreate,
    RequisitionList,
    RequisitionRead,
    RequisitionReturn,
)
from service.plan.actor import Actor

router = APIRouter(prefix=API_V1, tags=["requisitions"], responses=problems(401, 403, 404, 422))

KeeperDep = Annotated[Actor, role("agency", "commander")]


@router.post(
    "/events/{event_id}/requisitions",
    status_code=201,
    responses=problems(409, 503),
    summary="Register a requisition (plan 5.3)",
    operation_id="register_requisition",
)
async def post_requisition(
    event_id: uuid.UUID, body: RequisitionCreate, actor: KeeperDep, context: ContextDep
) -> RequisitionRead:
    """Register one thing requisitioned for the event (紧急情况下依法征用、调用车辆和物资、人员):
    its `kind`, `what`, the `owner` it was taken from, the `quantity` and its `unit`, when
    (`requisitioned_at`), the unit that requisitioned it (`agency`; by default the caller's, or
    the leading HQ for a commander) and the 事发地 it was for (`region`: a county the event hits,
    or the city when it names none), whose government compensates it (plan 6.3).

    The agency holding the event's 5.3 requisition duty, or a commander of the leading HQ or of
    one above it; while the response runs and after it, until the event closes (409 otherwise).
    Answers 201 with the entry; it goes on the timeline."""
    return await requisitions.register(context, actor, event_id, body)


@router.get(
    "/events/{event_id}/requisitions",
    summary="List an event's requisitions",
    operation_id="list_requisitions",
)
async def get_requisitions(
    event_id: uuid.UUID, actor: ActorDep, context: ContextDep
) -> RequisitionList:
    """The event's register, in the order requisitioned, each entry with whether and when it
    was given back. Every role but an agency reads it whole; so does the agency holding the 5.3
    requisition duty, and the one holding a 6.3 compensation duty reads the entries of its
    government's area. Any other agency is refused (403)."""
    return await requisitions.list_requisitions(context, actor, event_id)


@router.post(
    "/requisitions/{requisition_id}/return",
    responses=problems(409, 503),
    summary="Register a requisition's return",
    operation_id="return_requisition",
)
async def post_return(
    requisition_id: uuid.UUID, body: RequisitionReturn, actor: KeeperDep, context: ContextDep
) -> RequisitionRead:
    """What was requisitioned is given back: `returned_at` (by default now, not before it was
    requisitioned) and a `note`. The same callers as for registering; once per entry (409
    after), until the event closes. The answer is the entry; it goes on the timeline."""
    return await requisitions.mark_returned(context, actor, requisition_id, body)
