"""GET /healthz: liveness and the database's state, no token needed."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response

from service.api.deps import ContextDep
from service.api.openapi import problems
from service.api.problems import storage_problem
from service.flows.health.probe import check_health
from service.flows.health.schemas import HealthRead

router = APIRouter(tags=["health"])


@router.get(
    "/healthz",
    summary="Check that the service and its database answer",
    operation_id="check_health",
    response_model=HealthRead,
    responses=problems(503, 507),
)
async def healthz(context: ContextDep) -> Response:
    """For load balancers, container health checks and monitoring: 200 with `status` and
    `database` both "ok" when the database answers a query (and, after a write was refused,
    takes one again); else problem+json with Retry-After whose `database` says what is wrong:
    503 `unreachable`, `read_only` or `io_error`, 507 `full`. What the driver said goes to the
    service's log, once per incident. No token is needed."""
    trouble = await check_health(context)
    if trouble is not None:
        return storage_problem(trouble, refused=False)
    return JSONResponse(HealthRead(status="ok", database="ok").model_dump())
