"""One write transaction, retried when concurrent work made the database refuse it.

Even with one lock order (service.store.events), a database may refuse a transaction for
another's sake: PostgreSQL with a serialization failure, a detected deadlock or a lock it could
not take; SQLite with "database is locked" once its busy timeout ran out behind another process.
None of those is the client's doing, and the same work a moment later usually succeeds, so
``in_transaction`` runs the work again in a fresh transaction, a bounded number of times with a
short random pause, and otherwise answers 503 with Retry-After (``Unavailable``). Anything else
raised by the work propagates as it is, after the rollback.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from typing import Final, TypeVar

from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from service.errors import Said, Unavailable

T = TypeVar("T")

ATTEMPTS: Final = 5
# PostgreSQL's SQLSTATEs for "another transaction was in the way": serialization_failure,
# deadlock_detected, lock_not_available.
RETRYABLE_SQLSTATES: Final = frozenset({"40001", "40P01", "55P03"})
SQLITE_BUSY: Final = ("database is locked", "database table is locked")

log = logging.getLogger(__name__)


def is_retryable(error: DBAPIError) -> bool:
    """Whether ``error`` is the database refusing for a concurrent transaction's sake."""
    sqlstate = getattr(error.orig, "sqlstate", None)
    if sqlstate in RETRYABLE_SQLSTATES:
        return True
    return isinstance(error, OperationalError) and any(
        text in str(error.orig) for text in SQLITE_BUSY
    )


async def in_transaction(
    sessions: async_sessionmaker[AsyncSession],
    work: Callable[[AsyncSession], Awaitable[T]],
    *,
    attempts: int = ATTEMPTS,
) -> T:
    """``work`` in a transaction of its own, committed; run again from the start (a new
    session, a new transaction) when the database refuses it for concurrent work."""
    for attempt in range(1, attempts + 1):
        async with sessions() as session:
            try:
                result = await work(session)
                await session.commit()
                return result
            except DBAPIError as error:
                if not is_retryable(error):
                    raise
                log.info(
                    "transaction refused (%s); attempt %d of %d", error.orig, attempt, attempts
                )
        # Spread the retries out, so that the same transactions do not collide again in step.
        await asyncio.sleep(random.uniform(0.005, 0.02) * attempt)
    raise Unavailable(
        Said("对同一记录的并发操作持续冲突；请重新发送请求"),
        retry_after=1,
    )
