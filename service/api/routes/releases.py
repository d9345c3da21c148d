"""Public releases (plan 5.4): propose, approve (publish) or reject, and the event's list."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter

from service.api.deps import ActorDep, CommanderDep, ContextDep, role
from service.api.openapi import problems
from service.api.pagination import Cursor, Limit
from service.api.routes import API_V1
from service.flows.releases import review
from service.flows.releases.schemas import (
    ReleaseApproval,
    ReleaseCreate,
    ReleaseRead,
    ReleaseRejection,
)
from service.flows.schemas import Page
from service.plan.actor import Actor

router = APIRouter(prefix=API_V1, tags=["releases"], responses=problems(401, 404, 422))
# Only the writes refuse for who the caller is (403) or for the state (409).
DECISIONS = problems(403, 409, 503)

# design § Roles: commanders, dispatchers and two agencies (publicity, power-company; the flow
# refuses the others with 403 before it looks at the event).
ProposerDep = Annotated[Actor, role("commander", "dispatcher", "agency")]


@router.post(
    "/events/{event_id}/releases",
    status_code=201,
    responses=DECISIONS,
    summary="Propose a public release",
    operation_id="propose_release",
)
async def post_release(
    event_id: uuid.UUID, body: ReleaseCreate, actor: ProposerDep, context: ContextDep
) -> ReleaseRead:
    """Propose a release about the event (信息发布, plan 5.4): a ``headline``, a ``body`` and the
    ``topics`` it speaks of. Nothing is public until an HQ approves it.

    The answer is the release, ``proposed``, naming in ``reviewer`` the HQ that must review it:
    the HQ leading the event (or the one covering its area before any response), and the
    province's when an event at II or above speaks of its trend, casualties or losses.

    Commanders, dispatchers, 市委宣传部 (publicity) and 绍兴电力局 (power-company) propose; a
    token limited to a region only for events within it. Releases are proposed from the first
    report or warning through the response's aftermath, never once the event is closed (409).
    """
    return await review.propose(context, actor, event_id, body)


@router.post(
    "/releases/{release_id}/approve",
    responses=DECISIONS,
    summary="Approve and publish a release",
    operation_id="approve_release",
)
async def post_approve(
    release_id: uuid.UUID, body: ReleaseApproval, actor: CommanderDep, context: ContextDep
) -> ReleaseRead:
    """Approve a proposed release: it is published, with the approver's optional note in
    ``reason`` (plan 5.4). A commander of the reviewing HQ or of one above it.

    The reviewer is judged again now: a level that rose since the proposal may send the release
    to a higher HQ. A release already decided, or an event closed since, is 409.
    """
    return await review.approve(context, actor, release_id, body.reason)


@router.post(
    "/releases/{release_id}/reject",
    responses=DECISIONS,
    summary="Reject a release",
    operation_id="reject_release",
)
async def post_reject(
    release_id: uuid.UUID, body: ReleaseRejection, actor: CommanderDep, context: ContextDep
) -> ReleaseRead:
    """Reject a proposed release, saying why in ``reason`` (told to the proposer): it is never
    published; a corrected text is proposed anew (plan 5.4). A commander of the reviewing HQ or
    of one above it. A release already decided is 409.
    """
    return await review.reject(context, actor, release_id, body.reason)


@router.get(
    "/events/{event_id}/releases",
    summary="List an event's releases",
    operation_id="list_releases",
)
async def get_releases(
    event_id: uuid.UUID,
    actor: ActorDep,
    context: ContextDep,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[ReleaseRead]:
    """The event's releases, in the order proposed, a page at a time (``next`` is the cursor of
    the following page): proposed, published and rejected, each with its reviewer and decision.
    Anyone who may read the event; an agency sees the published ones and its own proposals.
    """
    return await review.list_releases(context, actor, event_id, limit, cursor)
