"""Early warnings (plan 3.2.2): propose, publish, lift, and the CAP 1.2 rendering. Each route
calls one flow of ``service.flows.warnings``."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter
from fastapi.responses import Response

from service.api.deps import ActorDep, ContextDep, fires
from service.api.openapi import problems
from service.api.routes import API_V1
from service.flows.warnings import alerts, early_warnings
from service.flows.warnings.cap import CapSource, cap_alert
from service.flows.warnings.schemas import WarningCreate, WarningDecision, WarningRead
from service.plan.actor import Actor

router = APIRouter(prefix=API_V1, tags=["warnings"], responses=problems(401, 403, 404, 409, 422))


@router.post(
    "/warnings",
    status_code=201,
    summary="Propose a warning",
    operation_id="propose_warning",
)
async def post_warning(
    body: WarningCreate,
    actor: Annotated[Actor, fires("propose_warning")],
    context: ContextDep,
) -> WarningRead:
    """A dispatcher proposes a warning of a large-area outage for ``area`` (region codes within
    their own area), with a ``headline``, a ``description`` and optionally ``onset`` and
    ``expires`` (plan 3.2.2.1: the power company reports and proposes). It joins ``event_id``
    when given, else the open event naming one of its regions; with none, a new event opens in
    ``monitoring`` (a forecast typhoon comes before any outage; ``drill`` marks a drill's). The
    proposal's duties go out: the power authority judges it.

    Answers 201 with the warning, ``state: proposed``; 409 when its regions lie in more than one
    open event."""
    return await early_warnings.propose(context, actor, body)


@router.post(
    "/events/{event_id}/warnings",
    status_code=201,
    summary="Propose a warning for an event",
    operation_id="propose_event_warning",
)
async def post_event_warning(
    event_id: uuid.UUID,
    body: WarningCreate,
    actor: Annotated[Actor, fires("propose_warning")],
    context: ContextDep,
) -> WarningRead:
    """The same proposal as ``POST /warnings`` for the event in the path (plan 3.2.2.1), which
    takes the place of any ``event_id`` in the body.

    Answers 201 with the warning, ``state: proposed``; 404 for an unknown event, 409 for one
    that is terminated or closed."""
    return await early_warnings.propose(context, actor, body, event_id)


@router.post(
    "/warnings/{warning_id}/publish",
    summary="Publish a proposed warning",
    operation_id="publish_warning",
)
async def post_publish(
    warning_id: uuid.UUID,
    body: WarningDecision,
    actor: Annotated[Actor, fires("publish_warning")],
    context: ContextDep,
) -> WarningRead:
    """A commander whose HQ's region takes in the whole ``area`` publishes the proposed warning
    (plan 3.2.2.1: the government approves and publishes), with an optional ``reason``. The
    event moves from ``monitoring`` to ``warning``, the warning actions of plan 3.2.2.2 are
    dispatched and a ``warning.published`` notice goes out.

    Answers the warning, ``state: published`` with ``published_by``; 409 when it is not
    proposed."""
    return await early_warnings.publish(context, actor, warning_id, body)


@router.post(
    "/warnings/{warning_id}/lift",
    summary="Lift a published warning",
    operation_id="lift_warning",
)
async def post_lift(
    warning_id: uuid.UUID,
    body: WarningDecision,
    actor: Annotated[Actor, fires("lift_warning")],
    context: ContextDep,
) -> WarningRead:
    """Lift a published warning, with an optional ``reason`` (plan 3.2.2.3). Only a commander
    of the HQ that published it may (谁发布、谁解除: 403 for any other). Its open warning actions
    are cancelled; an event in ``warning`` returns to ``monitoring``, one in ``response`` goes
    on. A ``warning.lifted`` notice goes out.

    Answers the warning, ``state: lifted``; 409 when it is not published."""
    return await early_warnings.lift(context, actor, warning_id, body)


@router.get(
    "/warnings/{warning_id}/cap",
    response_class=Response,
    responses={200: {"content": {"application/cap+xml": {}}, "description": "CAP 1.2 alert"}},
    summary="Read a warning as a CAP 1.2 alert",
    operation_id="read_warning_cap",
)
async def get_cap(warning_id: uuid.UUID, actor: ActorDep, context: ContextDep) -> Response:
    """The warning's latest message as an OASIS CAP 1.2 alert: the proposal (``Draft``), the
    publication (``Alert``), a change of the response level while it stands (``Update``, its
    severity the new level's), the lifting (``Cancel``); each its own identifier, an update or
    cancellation naming the messages before it in ``references``. A drill's are ``Exercise``.

    Any role reads a published or lifted warning (it was published to the public, plan
    3.2.2.1); a proposal is not public yet, and an agency sees it only within its own events.
    """
    alert = await alerts.latest_alert(context, actor, warning_id)
    source = CapSource.of(context.settings)
    body = cap_alert(alert.warning, alert.message, context.playbooks.grids, source)
    return Response(body, media_type="application/cap+xml")
