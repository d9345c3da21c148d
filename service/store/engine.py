"""The database engines, SQLite tuned for safe concurrent writers.

SQLite runs in WAL mode with foreign keys on and a busy timeout. Every write transaction starts
with ``BEGIN IMMEDIATE`` so that two workers never both read an event and then race to update it:
the second waits (up to the busy timeout) instead of failing or losing the first one's update.
Within one process writers take turns on a single pooled connection, queueing in asyncio rather
than spinning in SQLite's busy loop; reads have their own pool and a deferred transaction
(``READ_ONLY``), so readers never queue behind writers. PostgreSQL needs none of this: one pool,
and its writers lock the event row instead.
"""

from __future__ import annotations

from typing import Any, Final

from sqlalchemy import event
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import ConnectionPoolEntry

from service.config import Settings

READ_ONLY: Final = {"sqlite_begin": "DEFERRED"}


def make_engine(settings: Settings, *, writer: bool = True) -> AsyncEngine:
    """Create the engine for ``settings.database_url`` with the pragmas and pool it needs.

    On SQLite, ``writer`` gives the one-connection pool write transactions share; otherwise a
    pool for reads.
    """
    if settings.is_sqlite:
        pool: dict[str, Any] = (
            {"pool_size": 1, "max_overflow": 0, "pool_timeout": 60} if writer else {}
        )
        engine = create_async_engine(settings.database_url, **pool)
        _tune_sqlite(engine, settings.sqlite_busy_timeout_ms)
        return engine
    return create_async_engine(
        settings.database_url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_pool_size,
        # Recycling instead of a ping on every checkout: a dropped connection fails one request
        # (a 503 the client retries, service.store.trouble) rather than costing every request a
        # round trip; SQLAlchemy then drops the pool's other connections of that time too.
        pool_recycle=1800,
        connect_args={"timeout": settings.db_connect_timeout_seconds},  # asyncpg's: 60 s
    )


def _tune_sqlite(engine: AsyncEngine, busy_timeout_ms: int) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
        # SQLAlchemy emits BEGIN itself (below); the driver must not.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        # In WAL mode NORMAL is durable across application crashes; only an OS crash or power
        # loss can roll back the last transactions.
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def on_begin(conn: Connection) -> None:
        mode = conn.get_execution_options().get("sqlite_begin", "IMMEDIATE")
        conn.exec_driver_sql(f"BEGIN {mode}")


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)
