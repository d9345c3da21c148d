"""Warnings (plan 3.2.2): propose, publish, lift, and the CAP 1.2 rendering."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable
from typing import Annotated

from fastapi import APIRouter
from fastapi.responses import Response

from models import EarlyWarning
from models.base import utcnow
from service.api.cap import cap_alert
from service.api.deps import (
    ActorDep,
    ContextDep,
    ReadSessionDep,
    fires,
)
from service.api.openapi import problems
from service.flows.warnings import early_warnings as warnings
from service.flows.warnings.early_warnings import WarningCreate, WarningDecision, WarningRead
from service.plan.actor import Actor
from service.store.events import get_event
from service.store.transactions import in_transaction

router = APIRouter(tags=["warnings"], responses=problems(401, 403, 404, 409, 422))


async def _read(changed: Awaitable[EarlyWarning]) -> WarningRead:
    return WarningRead.of(await changed)


@router.post("/warnings", status_code=201)
async def post_warning(
    body: WarningCreate,
    actor: Annotated[Actor, fires("propose_warning")],
    context: ContextDep,
) -> WarningRead:
    """Propose a warning; without ``event_id`` a new event opens in monitoring."""
    return await in_transaction(
        context.sessions,
        lambda session: _read(warnings.propose(session, context.playbooks, actor, body, utcnow())),
    )


@router.post("/events/{event_id}/warnings", status_code=201)
async def post_event_warning(
    event_id: uuid.UUID,
    body: WarningCreate,
    actor: Annotated[Actor, fires("propose_warning")],
    context: ContextDep,
) -> WarningRead:
    return await in_transaction(
        context.sessions,
        lambda session: _read(
            warnings.propose(session, context.playbooks, actor, body, utcnow(), event_id)
        ),
    )


@router.post("/warnings/{warning_id}/publish")
async def post_publish(
    warning_id: uuid.UUID,
    body: WarningDecision,
    actor: Annotated[Actor, fires("publish_warning")],
    context: ContextDep,
) -> WarningRead:
    """Publish (plan 3.2.2.1): the warning actions of 3.2.2.2 are dispatched."""
    return await in_transaction(
        context.sessions,
        lambda session: _read(
            warnings.publish(session, context.playbooks, actor, warning_id, body.reason, utcnow())
        ),
    )


@router.post("/warnings/{warning_id}/lift")
async def post_lift(
    warning_id: uuid.UUID,
    body: WarningDecision,
    actor: Annotated[Actor, fires("lift_warning")],
    context: ContextDep,
) -> WarningRead:
    """Lift (plan 3.2.2.3): only the HQ that published it (谁发布、谁解除)."""
    return await in_transaction(
        context.sessions,
        lambda session: _read(
            warnings.lift(session, context.playbooks, actor, warning_id, body.reason, utcnow())
        ),
    )


@router.get(
    "/warnings/{warning_id}/cap",
    response_class=Response,
    responses={200: {"content": {"application/cap+xml": {}}, "description": "CAP 1.2 alert"}},
)
async def get_cap(
    warning_id: uuid.UUID, actor: ActorDep, session: ReadSessionDep, context: ContextDep
) -> Response:
    """The warning's latest message as an OASIS CAP 1.2 alert: the proposal (``Draft``), the
    publication (``Alert``), a change of the response level while it stands (``Update``, its
    severity the new level's), the lifting (``Cancel``); each its own identifier, an update or
    cancellation naming the messages before it in ``references``. A drill's are ``Exercise``.

    Any role reads a published or lifted warning (it was published to the public, plan
    3.2.2.1); a proposal is not public yet, and an agency sees it only within its own events.
    """
    warning = await warnings.read_warning(session, warning_id)
    if warning.state == "proposed":
        event = await get_event(session, actor, warning.event_id)
    else:
        event = await get_event(session, None, warning.event_id)
    sent = await warnings.messages(session, warning, event.drill)
    body = cap_alert(warning, sent[-1], context.playbooks.grids)
    return Response(body, media_type="application/cap+xml")
