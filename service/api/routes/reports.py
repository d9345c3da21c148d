"""POST /classify and POST /reports."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Request
from fastapi.responses import Response

from service.api.deps import fires
from service.api.exact_json import ExactNumbersRoute
from service.api.idempotency import answered, once_of
from service.api.metrics import REPORTS_RECEIVED
from service.api.openapi import problems
from service.api.routes import API_V1
from service.flows.context import AppContext
from service.flows.reports.classify import classify_snapshots
from service.flows.reports.schemas import (
    ClassificationQuery,
    ClassificationRead,
    ReportAccepted,
    ReportCreate,
)
from service.flows.reports.submit import submit_report
from service.flows.schemas import TEXT_PATTERN
from service.plan.actor import Actor

# Snapshots carry the figures plan 1.5 classifies by: their JSON numbers are read exactly.
router = APIRouter(prefix=API_V1, tags=["reports"], route_class=ExactNumbersRoute)


@router.post(
    "/classify",
    summary="Classify snapshots without storing them",
    operation_id="classify_snapshots",
    response_model=ClassificationRead,
    responses=problems(401, 422),
)
async def post_classify(body: ClassificationQuery, request: Request) -> Response:
    """Work out the level of plan 1.5 (事件分级) that the `snapshots` reach, as POST /reports
    would, and store nothing: no event is opened or moved.

    Any token may ask. Each snapshot names a known grid by its six-digit `region` code with its
    own `scope` (county, city, province), its `load_mw` before the event and the `load_lost_mw`
    now (减供负荷), and optionally its `customers` and `customers_out`. The answer gives the
    `level` (IV 一般 … I 特别重大, null below every threshold), its `level_name`, and the
    `basis`: each rule of plan 1.5 that fired, for which grid, on which figure and threshold.
    Numbers are read exactly (decimals, never binary floats), so a figure on a threshold lands
    on the side the plan says ("以上" includes the number).
    """
    # The hottest read-only path: no dependencies to resolve, the context straight from the app.
    context: AppContext = request.app.state.context
    result = classify_snapshots(context, body)
    return Response(ClassificationRead.json_of(result), media_type="application/json")


@router.post(
    "/reports",
    summary="Submit a dispatcher's outage report",
    operation_id="submit_report",
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
    """Store a report of the grids' figures at one moment, classify it (plan 1.5) and move its
    event (plan 4, 5.1).

    Dispatchers send it; one limited to a region reports only grids within it (403 otherwise).
    Without `event_id` the report joins the open event whose reports or warnings name one of its
    grids, or opens a new event in monitoring (409 when its grids lie in several open events);
    with it, it joins that event (404 if unknown, 409 once terminated or closed). A level
    reaching IV starts the emergency response and dispatches the checklists' duties; a higher
    one raises it at once; a report never lowers a level.

    The answer (201) gives the report's own `level` and `basis`, and where its event now stands:
    `event_level`, `peak_level`, `response_level`, `state` and the `leading_hq`. Send an
    `Idempotency-Key` to retry safely: a repeat gets the first answer, and the same key with
    another body is refused (422). A 503 with Retry-After means concurrent work kept conflicting.
    """
    context: AppContext = request.app.state.context
    # The flow opens its own transaction: a session dependency would make FastAPI run a
    # generator inside an anyio cancel scope, a cost on the hottest write path.
    answer = await submit_report(context, actor, once_of(request, idempotency_key, body), body)
    if answer.fresh:
        REPORTS_RECEIVED.inc()
    return answered(answer)
