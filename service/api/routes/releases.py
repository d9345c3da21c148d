"""Public releases (plan 5.4): propose, approve (publish) or reject, and the event's list."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable
from typing import Annotated

from fastapi import APIRouter
from sqlalchemy.ext.asyncio import AsyncSession

from models import Event, Release
from models.base import utcnow
from service.api.deps import ActorDep, CommanderDep, ContextDep, ReadSessionDep, role
from service.api.openapi import problems
from service.api.pagination import Cursor, Limit
from service.flows.releases import review as releases
from service.flows.releases.schemas import (
    ReleaseApproval,
    ReleaseCreate,
    ReleaseRead,
    ReleaseRejection,
)
from service.flows.schemas import Page
from service.plan.actor import Actor
from service.playbooks.bundle import Playbooks
from service.store.transactions import in_transaction

router = APIRouter(tags=["releases"], responses=problems(401, 404, 422))
# Only the writes refuse for who the caller is (403) or for the state (409).
DECISIONS = problems(403, 409)

# design.md: commanders, dispatchers and two agencies (publicity, power-company; the flow
# refuses the others with 403 before it looks at the event).
ProposerDep = Annotated[Actor, role("commander", "dispatcher", "agency")]


async def _answer(
    session: AsyncSession, playbooks: Playbooks, changed: Awaitable[tuple[Release, Event]]
) -> ReleaseRead:
    release, event = await changed
    (read,) = await releases.read(session, playbooks.grids, event, [release])
    return read


@router.post("/events/{event_id}/releases", status_code=201, responses=DECISIONS)
async def post_release(
    event_id: uuid.UUID, body: ReleaseCreate, actor: ProposerDep, context: ContextDep
) -> ReleaseRead:
    """Propose a release (plan 5.4); it names the HQ that must review it. Nothing is public
    until that HQ, or one above it, approves."""
    return await in_transaction(
        context.sessions,
        lambda session: _answer(
            session,
            context.playbooks,
            releases.propose(session, context.playbooks, actor, event_id, body, utcnow()),
        ),
    )


@router.post("/releases/{release_id}/approve", responses=DECISIONS)
async def post_approve(
    release_id: uuid.UUID, body: ReleaseApproval, actor: CommanderDep, context: ContextDep
) -> ReleaseRead:
    """Approve: the release is published. A commander of the reviewing HQ or above."""
    return await in_transaction(
        context.sessions,
        lambda session: _answer(
            session,
            context.playbooks,
            releases.approve(session, context.playbooks, actor, release_id, body.reason, utcnow()),
        ),
    )


@router.post("/releases/{release_id}/reject", responses=DECISIONS)
async def post_reject(
    release_id: uuid.UUID, body: ReleaseRejection, actor: CommanderDep, context: ContextDep
) -> ReleaseRead:
    """Reject, saying why: the release is never published. A commander of the reviewing HQ or
    above."""
    return await in_transaction(
        context.sessions,
        lambda session: _answer(
            session,
            context.playbooks,
            releases.reject(session, context.playbooks, actor, release_id, body.reason, utcnow()),
        ),
    )


@router.get("/events/{event_id}/releases")
async def get_releases(
    event_id: uuid.UUID,
    actor: ActorDep,
    session: ReadSessionDep,
    context: ContextDep,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[ReleaseRead]:
    """The event's releases, in the order proposed. An agency sees the published ones and its
    own proposals."""
    return await releases.list_releases(
        session, context.playbooks.grids, actor, event_id, limit, cursor
    )
