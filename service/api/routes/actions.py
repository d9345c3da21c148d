"""Actions: agencies poll, a page at a time (ETag / 304), acknowledge and complete; commanders
cancel; a government's approval is recorded on a duty that requires one (plan 5.3)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import Response

from service.api.deps import ActorDep, AgencyDep, CommanderDep, ContextDep, role
from service.api.idempotency import IdempotencyKey, answered, once_of
from service.api.openapi import problems
from service.api.pagination import Cursor, Limit
from service.api.routes import API_V1
from service.flows.actions import approval, detail, listing, progress
from service.flows.actions.detail import ActionDetail
from service.flows.actions.progress import Skip
from service.flows.actions.schemas import (
    ActionCancel,
    ActionCompletion,
    ActionList,
    ActionNote,
    ActionRead,
    ApprovalCreate,
)
from service.flows.context import AppContext
from service.flows.schemas import Page
from service.plan.actor import Actor
from service.plan.duties import ActionState

router = APIRouter(prefix=API_V1, tags=["actions"], responses=problems(401, 403, 404, 422))


@router.get(
    "/agencies/{code}/actions",
    response_model=Page[ActionRead],
    responses=problems(304),
    summary="Poll an agency's actions",
    operation_id="poll_agency_actions",
)
async def get_agency_actions(
    code: str,
    request: Request,
    response: Response,
    state: Annotated[ActionState | None, Query(description="only actions in this state")] = None,
    event_id: Annotated[uuid.UUID | None, Query(description="only this event's actions")] = None,
    drill: Annotated[
        bool | None, Query(description="only drills (true) or only real events (false)")
    ] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
    if_none_match: Annotated[
        str | None, Header(description="the ETag of the caller's last answer: 304 if unchanged")
    ] = None,
) -> Any:
    """The actions dispatched to the agency ``code`` (agencies.yaml), newest first: what it must
    do, by when (``due_at``), under which clause of the plan, and how far it got (``state``:
    pending, acknowledged, done, cancelled, superseded).

    Paged: a page holds up to ``limit`` actions (1–200; 50 unless asked, as the other lists:
    far more than reach a unit between two polls, so the first page shows all that is new, and
    few enough that each answer stays small however long the agency's history), the newest
    first, by ``dispatched_at`` and then ``id``; pass the page's ``next`` as ``cursor`` for the
    older ones (``next`` is null on the last page). Actions dispatched meanwhile go on the first
    page and never shift the pages after it. The filters (``state``, ``event_id``, ``drill``)
    combine with the pages.

    Meant for polling the first page. The answer carries an ``ETag`` of its page; send it back
    with the same query as ``If-None-Match`` and the answer is 304 with no body until something
    about the agency's actions changes. The filters, ``limit`` and ``cursor`` are part of the
    tag.

    The agency itself reads its own (another agency's code is 404); commanders, observers and
    admins read any agency's.
    """
    # The hottest path an agency has: the caller and the context are read straight from the
    # request, with no dependencies to resolve.
    actor: Actor = request.state.actor  # verified at the door (service.api.auth)
    context: AppContext = request.app.state.context
    held = [tag.strip() for tag in if_none_match.split(",")] if if_none_match else ()
    asked = listing.PollPage(code, limit, state, event_id, drill, cursor)
    poll = await listing.poll_agency(context, actor, asked, held)
    if poll.page is None:
        return Response(status_code=304, headers={"ETag": poll.tag})
    response.headers["ETag"] = poll.tag
    return poll.page


@router.get(
    "/events/{event_id}/actions",
    summary="List an event's actions",
    operation_id="list_event_actions",
)
async def get_event_actions(
    event_id: uuid.UUID, actor: ActorDep, context: ContextDep
) -> ActionList:
    """Every action dispatched for the event, in the order dispatched, with its state. Anyone who
    may read the event calls it; an agency sees only its own actions."""
    return await listing.list_event_actions(context, actor, event_id)


@router.post(
    "/actions/{action_id}/ack",
    response_model=ActionRead,
    responses=problems(409, 503),
    summary="Acknowledge an action",
    operation_id="acknowledge_action",
)
async def post_ack(
    action_id: uuid.UUID,
    body: ActionNote,
    actor: AgencyDep,
    request: Request,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """The agency has taken the duty up: a pending action becomes ``acknowledged``, which stops
    its escalation. Only the agency the action was dispatched to (another's action is 404).

    The answer is the action. Repeating it is harmless: nothing changes but a new ``note``,
    which is kept and put on the event's timeline. A cancelled or superseded action is 409.
    """
    context: AppContext = request.app.state.context
    once = once_of(request, idempotency_key, body)
    return answered(await progress.acknowledge(context, actor, action_id, body.note, once))


@router.post(
    "/actions/{action_id}/complete",
    response_model=ActionRead,
    responses=problems(409, 503),
    summary="Complete an action",
    operation_id="complete_action",
)
async def post_complete(
    action_id: uuid.UUID,
    body: ActionCompletion,
    actor: AgencyDep,
    request: Request,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """The duty is done: a pending or acknowledged action becomes ``done``. Only the agency the
    action was dispatched to (another's action is 404).

    While the response runs, a duty that waited for this one (plan 4: each report's clock starts
    when the one before it is done) is dispatched now. The answer is the action. Repeating it
    is harmless: nothing changes but a new ``note``. A cancelled or superseded action is 409.

    Plan 4 "必要时可越级上报": a county's report at IV may go straight to the receivers above
    市经信委 (``skip_to``: ``provincial-drc``, ``hq-city``), with ``skip_reason``: their
    receipts go out now and 市经信委's does not. Any other skip is 422 naming the rule.
    """
    context: AppContext = request.app.state.context
    once = once_of(request, idempotency_key, body)
    skip = None
    if body.skip_to is not None or body.skip_reason is not None:
        skip = Skip(tuple(body.skip_to or ()), body.skip_reason)
    return answered(await progress.complete(context, actor, action_id, body.note, once, skip))


@router.post(
    "/actions/{action_id}/cancel",
    responses=problems(409, 503),
    summary="Cancel an action",
    operation_id="cancel_action",
)
async def post_cancel(
    action_id: uuid.UUID, body: ActionCancel, actor: CommanderDep, context: ContextDep
) -> ActionRead:
    """A commander cancels an open (pending or acknowledged) action that is not needed, saying
    why in ``reason``: the agency sees it cancelled with the reason, and it is no longer
    escalated. A commander of the HQ leading the event, or of one above it (before any response:
    the city HQ or the province's; plan 5.1).

    The answer is the action. Cancelling again is harmless; a done or superseded action is 409.
    While the response runs, a duty that waited for this one is dispatched now.
    """
    return await progress.cancel(context, actor, action_id, body.reason)


@router.get("/actions/{action_id}", summary="Read an action", operation_id="read_action")
async def get_action(action_id: uuid.UUID, actor: ActorDep, context: ContextDep) -> ActionDetail:
    """One action, as the lists show it. For plan 6.3's compensation duty (补助或补偿) it also
    lists the requisitions it compensates: the event's register (plan 5.3) of its government's
    area, a county's own, the city's all (design § Approvals and requisitions).

    Any role reads any action; an agency only its own (another's is 404)."""
    return await detail.read_action(context, actor, action_id)


ApproverDep = Annotated[Actor, role("agency", "commander")]


@router.post(
    "/actions/{action_id}/approval",
    responses=problems(409, 503),
    summary="Record a government's approval of an action",
    operation_id="record_action_approval",
)
async def post_approval(
    action_id: uuid.UUID, body: ApprovalCreate, actor: ApproverDep, context: ContextDep
) -> ActionRead:
    """Record the approval a duty requires before it is done (its `requires` is `approval`):
    plan 5.3's emergency control of key areas is carried out 报经当地政府批准. Give the
    `government` that approved (its region: the HQ's own, one above it, or a place within its
    area), the `approver`, when (`approved_at`) and the `reference`.

    The agency holding the action (another's is 404), or a commander of the HQ leading the event
    or of one above it. Recorded once, while the action is open; it goes on the timeline. The
    answer is the action with its `approval`. 409 for a duty that needs none, one done or
    cancelled, or one approved already; 422 naming `government` or `approved_at` when they do
    not fit. Until it is recorded, completing the action is 409."""
    return await approval.record_approval(context, actor, action_id, body)
