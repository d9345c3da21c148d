"""POST /classify and POST /reports."""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Header, Request
from fastapi.responses import Response
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from models.base import utcnow
from service import idempotency
from service.api.responses import problems
from service.classification import classify
from service.context import AppContext
from service.deps import DispatcherDep
from service.errors import Conflict
from service.reporting import submit_report
from service.reports import (
    ClassifyRequest,
    ClassifyResult,
    ReportAccepted,
    ReportCreate,
    check_grids,
)
from service.security import Actor

router = APIRouter(tags=["reports"])


@router.post("/classify", response_model=ClassifyResult, responses=problems(401, 422))
async def post_classify(body: ClassifyRequest, request: Request) -> Response:
    """Classify snapshots by plan 1.5; stores nothing. Any token (checked at the door)."""
    # The hottest read-only path: no dependencies to resolve, the playbooks straight from the app.
    context: AppContext = request.app.state.context
    check_grids(body.snapshots, context.playbooks.grids)
    result = classify(body.snapshots, context.playbooks.rules)
    return Response(ClassifyResult.json_of(result), media_type="application/json")


@router.post(
    "/reports",
    status_code=201,
    response_model=ReportAccepted,
    responses=problems(401, 403, 404, 409, 422),
)
async def post_report(
    body: ReportCreate,
    actor: DispatcherDep,
    request: Request,
    idempotency_key: Annotated[str | None, Header(min_length=1, max_length=200)] = None,
) -> Response:
    """Store a dispatcher's report, classify it and move its event (plan 1.5, 4, 5.1)."""
    context: AppContext = request.app.state.context
    # The session is opened here rather than taken as SessionDep: FastAPI runs every generator
    # dependency inside an anyio cancel scope, which cost 12% of this endpoint's CPU.
    async with context.sessions() as session:
        return await _store_report(session, context, actor, body, idempotency_key)


async def _store_report(
    session: AsyncSession,
    context: AppContext,
    actor: Actor,
    body: ReportCreate,
    idempotency_key: str | None,
) -> Response:
    digest = idempotency.fingerprint(body.model_dump_json()) if idempotency_key else ""
    if idempotency_key:
        earlier = await idempotency.replay(session, actor, idempotency_key, digest)
        if earlier is not None:
            return earlier
    accepted = await submit_report(session, context, actor, body, utcnow())
    answer = accepted.model_dump_json()  # pydantic-core's serializer, not json.dumps of a dict
    if idempotency_key:
        idempotency.remember(session, actor, idempotency_key, digest, 201, json.loads(answer))
    try:
        await session.commit()
    except IntegrityError as exc:
        # Only the idempotency key is unique per request: the same key raced us and won.
        await session.rollback()
        if idempotency_key:
            earlier = await idempotency.replay(session, actor, idempotency_key, digest)
            if earlier is not None:
                return earlier
        raise Conflict(
            "the report could not be stored; retry with the same Idempotency-Key"
        ) from exc
    return Response(answer, status_code=201, media_type="application/json")
