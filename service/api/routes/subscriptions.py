"""Subscriptions and deliveries (design § Notifications): admins only."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response

from service.api.deps import ContextDep, role
from service.api.openapi import problems
from service.api.pagination import Cursor, Limit
from service.api.routes import API_V1
from service.flows.admin import subscriptions
from service.flows.admin.schemas import (
    DeliveryRead,
    SubscriptionCreate,
    SubscriptionCreated,
    SubscriptionRead,
)
from service.flows.schemas import Page
from service.plan.notifications import DeliveryState

router = APIRouter(
    prefix=API_V1,
    tags=["notifications"],
    responses=problems(401, 403, 422),
    dependencies=[role("admin")],
)


@router.post(
    "/subscriptions",
    status_code=201,
    responses=problems(503),
    summary="Subscribe a receiver to notices",
    operation_id="create_subscription",
)
async def post_subscription(body: SubscriptionCreate, context: ContextDep) -> SubscriptionCreated:
    """Register a receiver of the service's notices (an event opened or its level changed, a
    warning published, updated or lifted, a release published, an action dispatched, overdue or
    reminded, a response terminated, an event closed): each is posted to ``url`` in its
    ``format`` (``standard`` signed webhooks, a WeCom or a DingTalk group robot, or ``cap``),
    filtered by ``agencies`` and ``types``; drills only with ``drills``. Admins only.

    A ``channel`` (media, website, broadcast, telecom) makes it a public channel of plan
    3.2.2.1's green channel: it hears only published warnings, their updates and lifting, and
    approved releases, with public content only; as ``cap`` it gets each warning's CAP 1.2
    Alert, Update and Cancel (``application/cap+xml``, signed as ``standard``). Releases have
    no CAP form.

    The answer shows its ``secret``, this once (generated ``whsec_…`` for ``standard`` and
    ``cap`` when none is given), and its ``url`` masked as the list shows it. An unknown agency,
    a secret that does not fit the format, or a control character in the URL is 422 naming the
    field; so is what a public channel cannot hear (``rule``: plan 3.2.2.1).
    """
    return await subscriptions.create_subscription(context, body)


@router.get(
    "/subscriptions",
    summary="List subscriptions",
    operation_id="list_subscriptions",
)
async def get_subscriptions(context: ContextDep) -> Page[SubscriptionRead]:
    """Every subscription, oldest first, with its filters; never its secret, and its URL masked
    (the password of ``user:pass@`` and a robot's ``key=`` or ``access_token=`` shown as
    ``***``). Admins only."""
    return await subscriptions.list_subscriptions(context)


@router.delete(
    "/subscriptions/{subscription_id}",
    status_code=204,
    responses=problems(404, 503),
    summary="Remove a subscription",
    operation_id="delete_subscription",
)
async def delete_subscription(subscription_id: uuid.UUID, context: ContextDep) -> Response:
    """Remove the subscription, and its deliveries with it: nothing more is posted to it. Admins
    only. The answer is empty (204)."""
    await subscriptions.remove_subscription(context, subscription_id)
    return Response(status_code=204)


@router.get(
    "/deliveries",
    summary="List deliveries",
    operation_id="list_deliveries",
)
async def get_deliveries(
    context: ContextDep,
    state: Annotated[
        DeliveryState | None, Query(description="only deliveries in this state")
    ] = None,
    subscription_id: Annotated[
        uuid.UUID | None, Query(description="only this subscription's deliveries")
    ] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[DeliveryRead]:
    """Each notice to each subscription, oldest first, a page at a time (``next`` is the cursor
    of the following page): its state, attempts, last HTTP status or error, and when it is next
    tried. Admins only; for finding what a receiver missed and replaying it."""
    return await subscriptions.list_deliveries(
        context, state=state, subscription_id=subscription_id, limit=limit, cursor=cursor
    )


@router.post(
    "/deliveries/{delivery_id}/replay",
    status_code=202,
    responses=problems(404, 503),
    summary="Send a delivery again",
    operation_id="replay_delivery",
)
async def post_replay(delivery_id: uuid.UUID, context: ContextDep) -> DeliveryRead:
    """Send the notice to its subscription again, as a new attempt due now, with the same
    ``webhook-id`` (so that a receiver that has it already can tell). Admins only. The answer
    (202) is the delivery, pending; the deliverer sends it shortly."""
    return await subscriptions.replay_delivery(context, delivery_id)
