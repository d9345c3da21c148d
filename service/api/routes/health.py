"""GET /healthz: liveness and database reachability, no token needed."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response

from service.api.deps import ContextDep
from service.api.openapi import problems
from service.api.problems import problem, speaking
from service.flows.health.probe import check_health
from service.flows.health.schemas import HealthRead
from service.words import _

router = APIRouter(tags=["health"])


@router.get(
    "/healthz",
    summary="Check that the service and its database answer",
    operation_id="check_health",
    response_model=HealthRead,
    responses=problems(503),
)
async def healthz(context: ContextDep) -> Response:
    """For load balancers, container health checks and monitoring: 200 with `status` and
    `database` both "ok" when the database answers a query, else 503 (problem+json) saying only
    that; what the driver said goes to the service's log. No token is needed."""
    health = await check_health(context)
    if health is None:
        with speaking():
            detail = _("数据库没有应答")
        return problem(503, "Database unreachable", detail)
    return JSONResponse(health.model_dump())
