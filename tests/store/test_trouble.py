"""Storage trouble told from real drivers' errors (service.store.trouble), and an incident
logged once however many refusals it holds."""

from __future__ import annotations

import errno
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine

from service.errors import Trouble
from service.store.trouble import StorageWatch, trouble_of
from tests.helpers import free_port


async def raised(url: str, work: Callable[[AsyncConnection], Awaitable[object]]) -> BaseException:
    """What the driver raised for ``work`` on a new engine for ``url`` (the test fails when
    nothing was raised)."""
    engine = create_async_engine(url)
    try:
        async with engine.begin() as connection:
            await work(connection)
    except Exception as error:  # what is raised is what the test looks at
        return error
    finally:
        await engine.dispose()
    pytest.fail("the database did the work")


async def test_a_sqlite_database_at_its_size_limit_is_full(tmp_path: Path) -> None:
    """SQLITE_FULL, as a full disk gives it: here by the connection's page limit."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'small.db'}"

    async def grow(connection: AsyncConnection) -> None:
        await connection.execute(text("CREATE TABLE t (x TEXT)"))
        await connection.execute(text("PRAGMA max_page_count = 3"))
        for _ in range(4):
            await connection.execute(text("INSERT INTO t VALUES (hex(randomblob(3000)))"))

    assert trouble_of(await raised(url, grow)) is Trouble.FULL


async def test_a_read_only_sqlite_file_is_read_only(tmp_path: Path) -> None:
    path = tmp_path / "kept.db"
    engine = create_async_engine(f"sqlite+aiosqlite:///{path}")
    async with engine.begin() as connection:
        await connection.execute(text("CREATE TABLE t (x TEXT)"))
    await engine.dispose()

    async def write(connection: AsyncConnection) -> None:
        await connection.execute(text("INSERT INTO t VALUES ('a')"))

    error = await raised(f"sqlite+aiosqlite:///file:{path}?mode=ro&uri=true", write)
    assert trouble_of(error) is Trouble.READ_ONLY


async def test_a_sqlite_file_that_cannot_be_opened_is_unreachable(tmp_path: Path) -> None:
    async def ask(connection: AsyncConnection) -> None:
        await connection.execute(text("SELECT 1"))

    error = await raised(f"sqlite+aiosqlite:///{tmp_path / 'gone' / 'x.db'}", ask)
    assert trouble_of(error) is Trouble.UNREACHABLE


async def test_the_services_own_mistakes_are_no_storage_trouble(tmp_path: Path) -> None:
    """A statement the database cannot run, or a constraint it enforces, stays an error of the
    service (a 500 with its traceback, or the flow's own answer)."""

    async def wrong(connection: AsyncConnection) -> None:
        await connection.execute(text("SELECT * FROM no_such_table"))

    async def twice(connection: AsyncConnection) -> None:
        await connection.execute(text("CREATE TABLE u (x INTEGER PRIMARY KEY)"))
        await connection.execute(text("INSERT INTO u VALUES (1), (1)"))

    url = f"sqlite+aiosqlite:///{tmp_path / 'x.db'}"
    assert trouble_of(await raised(url, wrong)) is None
    assert trouble_of(await raised(url, twice)) is None
    assert trouble_of(ValueError("no")) is None
    assert trouble_of(OSError(errno.EACCES, "Permission denied")) is None


@pytest.mark.postgres
async def test_postgresql_down_or_read_only(postgres_url: str) -> None:
    async def ask(connection: AsyncConnection) -> None:
        await connection.execute(text("SELECT 1"))

    down = f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/postgres"
    assert trouble_of(await raised(down, ask)) is Trouble.UNREACHABLE

    async def write_read_only(connection: AsyncConnection) -> None:
        await connection.execute(text("SET TRANSACTION READ ONLY"))
        await connection.execute(text("CREATE TABLE t (x int)"))

    assert trouble_of(await raised(postgres_url, write_read_only)) is Trouble.READ_ONLY

    async def cut_off(connection: AsyncConnection) -> None:
        pid = await connection.scalar(text("SELECT pg_backend_pid()"))
        other = create_async_engine(postgres_url)
        async with other.connect() as killer:
            await killer.execute(text(f"SELECT pg_terminate_backend({pid})"))
        await other.dispose()
        await connection.execute(text("SELECT 1"))

    assert trouble_of(await raised(postgres_url, cut_off)) is Trouble.UNREACHABLE


def test_a_full_disk_under_a_file_is_full() -> None:
    assert trouble_of(OSError(errno.ENOSPC, "No space left on device")) is Trouble.FULL


def test_an_incident_is_logged_once_and_its_end_with_its_count(
    caplog: pytest.LogCaptureFixture,
) -> None:
    now = [100.0]
    watch = StorageWatch(clock=lambda: now[0])
    refused = OSError(errno.ECONNREFUSED, "Connect call failed ('127.0.0.1', 5432)")
    with caplog.at_level(logging.INFO, logger="service.store.trouble"):
        for _ in range(50):
            watch.saw(Trouble.UNREACHABLE, refused, "POST /api/v1/reports")
        watch.saw(Trouble.FULL, OSError(errno.ENOSPC, "No space left"), "the deliverer")
        now[0] = 112.5
        watch.well()
        watch.well()  # nothing more to say

    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 3, lines
    assert "storage trouble (unreachable) in POST /api/v1/reports" in lines[0]
    assert "Connect call failed" in lines[0]
    assert "storage trouble (full) in the deliverer" in lines[1]
    assert lines[2] == "storage trouble (full) over after 12.5 s; 1 refused meanwhile"
    assert not any(r.exc_info for r in caplog.records)
    assert watch.incident is None
