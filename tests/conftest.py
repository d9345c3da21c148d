"""Fixtures: every API test runs on SQLite and on the PostgreSQL server of this machine.

PostgreSQL is found at ``OUTAGE_TEST_DATABASE_URL`` (default: the local server's ``postgres``
database); each run makes its own database there and drops it after. Without a reachable server
the PostgreSQL half is skipped, except under CI (``CI`` set), where that fails the run.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import asyncpg
import httpx
import pytest
from sqlalchemy import delete
from sqlalchemy.engine import make_url

import models
from service.config import Settings
from service.context import AppContext
from service.main import create_app
from service.migrate import upgrade
from service.tokens import create_token

DEFAULT_PG = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
BACKENDS = ["sqlite", "postgres"]

MakeToken = Callable[..., Awaitable[dict[str, str]]]


def _pg_admin_dsn() -> str:
    url = make_url(os.environ.get("OUTAGE_TEST_DATABASE_URL", DEFAULT_PG))
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


async def _pg_execute(sql: str) -> None:
    connection = await asyncpg.connect(_pg_admin_dsn(), timeout=5)
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


@contextmanager
def scratch_postgres(prefix: str) -> Iterator[str]:
    """A new, empty PostgreSQL database on the test server, dropped afterwards.

    Skips the test when the server is unreachable, except under CI, where that fails it.
    """
    name = f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    try:
        asyncio.run(_pg_execute(f'CREATE DATABASE "{name}"'))
    except (OSError, asyncpg.PostgresError) as exc:
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is unreachable under CI: {exc}")
        pytest.skip(f"PostgreSQL unreachable: {exc}")
    base = make_url(os.environ.get("OUTAGE_TEST_DATABASE_URL", DEFAULT_PG))
    url = base.set(drivername="postgresql+asyncpg", database=name)
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        asyncio.run(_pg_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this test run, migrated to head."""
    with scratch_postgres("outage_test") as url:
        upgrade(Settings(database_url=url))
        yield url


@pytest.fixture(scope="session")
def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    path: Path = tmp_path_factory.mktemp("db") / "coordinator.db"
    url = f"sqlite+aiosqlite:///{path}"
    upgrade(Settings(database_url=url))
    return url


@pytest.fixture(scope="session", params=BACKENDS)
def database_url(request: pytest.FixtureRequest) -> str:
    return str(request.getfixturevalue(f"{request.param}_url"))


@pytest.fixture(scope="session")
def settings(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return Settings(
        database_url=database_url,
        token_cache_seconds=0,
        escalation_interval_seconds=0,
        var_dir=tmp_path_factory.mktemp("var"),
    )


@pytest.fixture(scope="session")
async def app_and_context(settings: Settings) -> AsyncIterator[tuple[object, AppContext]]:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        yield app, app.state.context


@pytest.fixture
async def context(app_and_context: tuple[object, AppContext]) -> AsyncIterator[AppContext]:
    """The running app's context; every table is emptied after each test."""
    ctx = app_and_context[1]
    yield ctx
    async with ctx.sessions() as session:
        for table in reversed(models.Base.metadata.sorted_tables):
            await session.execute(delete(table))
        await session.commit()


@pytest.fixture
async def client(
    app_and_context: tuple[object, AppContext], context: AppContext
) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app_and_context[0])  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield http


@pytest.fixture
def make_token(context: AppContext) -> MakeToken:
    """``await make_token("dispatcher", region="330603")`` → Authorization headers."""

    async def make(role: str, name: str | None = None, **scope: str) -> dict[str, str]:
        async with context.sessions() as session:
            _row, token = await create_token(
                session, context.playbooks, role=role, name=name or role, **scope
            )
            await session.commit()
        return {"Authorization": f"Bearer {token}"}

    return make
