"""GET /healthz: liveness and database reachability, no token needed."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from service.api.deps import ContextDep
from service.api.openapi import problems
from service.api.problems import problem

router = APIRouter(tags=["health"])


class Health(BaseModel):
    status: str
    database: str


@router.get("/healthz", response_model=Health, responses=problems(503))
async def healthz(context: ContextDep) -> JSONResponse:
    try:
        async with context.read_engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
    except (SQLAlchemyError, OSError) as exc:
        return problem(503, "Database unreachable", f"the database did not answer: {exc}")
    return JSONResponse({"status": "ok", "database": "ok"})
