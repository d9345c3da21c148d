"""Subscriptions and deliveries (design.md "Deadlines, escalation and notifications"): admins
only."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response
from sqlalchemy.ext.asyncio import AsyncSession

from service.api.deps import ContextDep, ReadSessionDep, role
from service.api.openapi import problems
from service.api.pagination import Cursor, Limit
from service.flows.admin import subscriptions
from service.flows.admin.subscriptions import (
    DeliveryRead,
    SubscriptionCreate,
    SubscriptionCreated,
    SubscriptionRead,
)
from service.flows.schemas import Page
from service.plan.notifications import DeliveryState
from service.store.transactions import in_transaction

router = APIRouter(
    tags=["notifications"], responses=problems(401, 403, 422), dependencies=[role("admin")]
)


@router.post("/subscriptions", status_code=201)
async def post_subscription(body: SubscriptionCreate, context: ContextDep) -> SubscriptionCreated:
    """Register a receiver. The answer shows its secret, once (generated ``whsec_…`` for
    ``standard`` when none is given)."""

    async def work(session: AsyncSession) -> SubscriptionCreated:
        return await subscriptions.create(session, context.playbooks.agencies, body)

    return await in_transaction(context.sessions, work)


@router.get("/subscriptions")
async def get_subscriptions(session: ReadSessionDep) -> Page[SubscriptionRead]:
    """Every subscription, oldest first; never its secret."""
    return Page(items=await subscriptions.list_all(session))


@router.delete("/subscriptions/{subscription_id}", status_code=204, responses=problems(404))
async def delete_subscription(subscription_id: uuid.UUID, context: ContextDep) -> Response:
    """Remove it, and its deliveries with it."""

    async def work(session: AsyncSession) -> None:
        await subscriptions.remove(session, subscription_id)

    await in_transaction(context.sessions, work)
    return Response(status_code=204)


@router.get("/deliveries")
async def get_deliveries(
    session: ReadSessionDep,
    state: DeliveryState | None = None,
    subscription_id: uuid.UUID | None = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[DeliveryRead]:
    """Each notice to each subscription, oldest first: its state, attempts and last answer."""
    return await subscriptions.list_deliveries(
        session, state=state, subscription_id=subscription_id, limit=limit, cursor=cursor
    )


@router.post("/deliveries/{delivery_id}/replay", status_code=202, responses=problems(404))
async def post_replay(delivery_id: uuid.UUID, context: ContextDep) -> DeliveryRead:
    """Send it again as a new attempt, due now, with the same ``webhook-id``."""

    async def work(session: AsyncSession) -> DeliveryRead:
        return await subscriptions.replay(session, delivery_id)

    return await in_transaction(context.sessions, work)
