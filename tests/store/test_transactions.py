"""Retrying a transaction the database refused for concurrent work (service.store.transactions),
and the 503 with Retry-After once the retries are spent."""

from __future__ import annotations

import sqlite3
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession

from models import AgencyFeed
from models.base import utcnow
from service.errors import Unavailable
from service.flows.context import AppContext
from service.store import feeds
from service.store.transactions import in_transaction, is_retryable


class PgError(Exception):
    """Stands for asyncpg's error as SQLAlchemy adapts it: it carries the SQLSTATE."""

    def __init__(self, sqlstate: str) -> None:
        super().__init__(f"SQLSTATE {sqlstate}")
        self.sqlstate = sqlstate


def refused(orig: Exception, kind: type[DBAPIError] = OperationalError) -> DBAPIError:
    return kind("UPDATE events …", {}, orig)


@pytest.mark.parametrize(
    ("error", "retryable"),
    [
        (refused(PgError("40001")), True),  # serialization_failure
        (refused(PgError("40P01")), True),  # deadlock_detected
        (refused(PgError("55P03")), True),  # lock_not_available
        (refused(PgError("23505"), IntegrityError), False),  # unique_violation: the data's
        (refused(PgError("22021")), False),  # character_not_in_repertoire: the input's
        (refused(sqlite3.OperationalError("database is locked")), True),
        (refused(sqlite3.OperationalError("no such table: events")), False),
        (refused(sqlite3.IntegrityError("UNIQUE constraint failed"), IntegrityError), False),
    ],
)
def test_what_is_retried(error: DBAPIError, retryable: bool) -> None:
    assert is_retryable(error) is retryable


async def test_a_refused_transaction_runs_again_from_the_start(context: AppContext) -> None:
    attempts: list[int] = []

    async def work(session: AsyncSession) -> int:
        await feeds.touch(session, ["power-company"], utcnow())
        attempts.append(1)
        if len(attempts) < 3:
            raise refused(PgError("40P01"))
        return len(attempts)

    assert await in_transaction(context.sessions, work) == 3
    async with context.read_sessions() as session:
        # each refused attempt was rolled back: the counter moved once
        version = await session.scalar(select(func.max(AgencyFeed.version)))
    assert version == 1


async def test_retries_spent_is_a_503_with_retry_after(context: AppContext) -> None:
    async def work(_session: AsyncSession) -> Any:
        raise refused(sqlite3.OperationalError("database is locked"))

    with pytest.raises(Unavailable) as caught:
        await in_transaction(context.sessions, work, attempts=2)
    assert caught.value.status == 503
    assert caught.value.retry_after >= 1


async def test_anything_else_is_not_retried(context: AppContext) -> None:
    attempts: list[int] = []

    async def work(_session: AsyncSession) -> Any:
        attempts.append(1)
        raise refused(PgError("23505"), IntegrityError)

    with pytest.raises(IntegrityError):
        await in_transaction(context.sessions, work)
    assert attempts == [1]
