"""Asking the database for one row, on the read pool, as a load balancer's health check does."""

from __future__ import annotations

import logging

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from service.flows.context import AppContext
from service.flows.health.schemas import HealthRead

log = logging.getLogger(__name__)


async def check_health(context: AppContext) -> HealthRead | None:
    """The service's health, or None when the database did not answer ``SELECT 1``."""
    try:
        async with context.read_engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
    except (SQLAlchemyError, OSError):
        # The driver's words name hosts, files and users: they go to the log, not to whoever
        # asks (the endpoint needs no token).
        log.exception("health check: the database did not answer")
        return None
    return HealthRead(status="ok", database="ok")
