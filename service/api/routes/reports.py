"""POST /classify and POST /reports."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Request
from fastapi.responses import Response

from service.api.deps import fires
from service.api.exact_json import ExactNumbersRoute
from service.api.metrics import REPORTS_RECEIVED
from service.api.openapi import problems
from service.flows.context import AppContext
from service.flows.once import Once, answer_once
from service.flows.reports.schemas import (
    ClassifyRequest,
    ClassifyResult,
    ReportAccepted,
    ReportCreate,
)
from service.flows.reports.submit import classify_snapshots, report_answer
from service.flows.schemas import TEXT_PATTERN
from service.plan.actor import Actor

# Snapshots carry the figures plan 1.5 classifies by: their JSON numbers are read exactly.
router = APIRouter(tags=["reports"], route_class=ExactNumbersRoute)


@router.post("/classify", response_model=ClassifyResult, responses=problems(401, 422))
async def post_classify(body: ClassifyRequest, request: Request) -> Response:
    """Classify snapshots by plan 1.5; stores nothing. Any token (checked at the door)."""
    # The hottest read-only path: no dependencies to resolve, the playbooks straight from the app.
    context: AppContext = request.app.state.context
    result = classify_snapshots(context.playbooks, body.snapshots)
    return Response(ClassifyResult.json_of(result), media_type="application/json")


@router.post(
    "/reports",
    status_code=201,
    response_model=ReportAccepted,
    responses=problems(401, 403, 404, 409, 422, 503),
)
async def post_report(
    body: ReportCreate,
    actor: Annotated[Actor, fires("report")],
    request: Request,
    idempotency_key: Annotated[
        str | None, Header(min_length=1, max_length=200, pattern=TEXT_PATTERN)
    ] = None,
) -> Response:
    """Store a dispatcher's report, classify it and move its event (plan 1.5, 4, 5.1)."""
    context: AppContext = request.app.state.context
    # The flow opens its own transaction rather than taking SessionDep: FastAPI runs every
    # generator dependency inside an anyio cancel scope, a cost on the hottest write path.
    answer = await answer_once(
        context,
        actor,
        Once.of(idempotency_key, "POST", request.url.path, body),
        201,
        lambda session, batch: report_answer(session, batch, context, actor, body),
    )
    if answer.fresh:
        REPORTS_RECEIVED.inc()
    return Response(answer.body, status_code=answer.status, media_type="application/json")
