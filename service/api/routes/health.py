"""GET /healthz: liveness and database reachability, no token needed."""

from __future__ import annotations

import logging

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from service.api.deps import ContextDep
from service.api.openapi import problems
from service.api.problems import problem

router = APIRouter(tags=["health"])
log = logging.getLogger(__name__)


class Health(BaseModel):
    status: str
    database: str


@router.get("/healthz", response_model=Health, responses=problems(503))
async def healthz(context: ContextDep) -> JSONResponse:
    try:
        async with context.read_engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
    except (SQLAlchemyError, OSError):
        # The driver's words name hosts, files and users: they go to the log, not to whoever
        # asks (the endpoint needs no token).
        log.exception("health check: the database did not answer")
        return problem(503, "Database unreachable", "the database did not answer")
    return JSONResponse({"status": "ok", "database": "ok"})
