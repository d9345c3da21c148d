"""Storage trouble is a clear answer, never a 500: a full database refuses writes with 507, a
read-only one with 503, both problem+json naming it with Retry-After; reads go on; /healthz says
which; the incident is logged once, with its end; and once the trouble is gone everything works
again without a restart. (The real disk filling up, and PostgreSQL stopped and started under
load, are tests/test_storage.py's: they start processes.)"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import create_async_engine

from models.event import Report
from service.app import create_app
from service.config import Settings
from service.flows.context import AppContext
from service.store.migrate import upgrade
from tests.helpers import scratch_postgres, token_headers, turn_report, wait_until

REPORTS = "/api/v1/reports"
CHINESE = {"Accept-Language": "zh-CN"}


@asynccontextmanager
async def running(
    database_url: str, var_dir: Path
) -> AsyncIterator[tuple[httpx.AsyncClient, AppContext, dict[str, str]]]:
    """An app on its own database, with a dispatcher's token; its client and context."""
    settings = Settings(
        database_url=database_url,
        token_cache_seconds=0,
        escalation_interval_seconds=0,
        delivery_interval_seconds=0,
        var_dir=var_dir,
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        context: AppContext = app.state.context
        dispatcher = await token_headers(context, "dispatcher", "调度员", region="330602")
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client, context, dispatcher


async def stored_reports(context: AppContext) -> int:
    async with context.read_sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(Report)) or 0)


def trouble_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "service.store.trouble"]


def assert_no_tracebacks(caplog: pytest.LogCaptureFixture) -> None:
    assert not [r.getMessage() for r in caplog.records if r.exc_info], "a traceback was logged"


@pytest.fixture
def sqlite_database(tmp_path: Path) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path / 'coordinator.db'}"
    upgrade(Settings(database_url=url))
    return url


async def test_a_full_sqlite_database_refuses_writes_with_507_and_reads_go_on(
    sqlite_database: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    url = sqlite_database
    caplog.set_level(logging.INFO)
    async with running(url, tmp_path / "var") as (client, context, dispatcher):
        assert (
            await client.post(REPORTS, json=turn_report(0), headers=dispatcher)
        ).status_code == 201
        # SQLITE_FULL as a full disk gives it: the one writer connection may grow the file no
        # further (the limit is the connection's; every write of the app goes through it).
        async with context.engine.connect() as connection:
            pages = await connection.scalar(text("PRAGMA page_count"))
            await connection.execute(text(f"PRAGMA max_page_count = {pages}"))
            await connection.commit()
        stored = 1
        for n in range(1, 300):
            answer = await client.post(REPORTS, json=turn_report(n), headers=dispatcher)
            if answer.status_code != 201:
                break
            stored += 1
        else:
            pytest.fail("300 reports fitted in the pages the file had")

        assert answer.status_code == 507, answer.text
        assert answer.headers["content-type"] == "application/problem+json"
        assert answer.headers["retry-after"] == "60"
        assert answer.json() == {
            "type": "about:blank",
            "title": "Insufficient Storage",
            "status": 507,
            "detail": "the storage is full: nothing can be written, reading goes on; nothing of "
            "this request was done, please try again later",
            "database": "full",
        }
        chinese = await client.post(REPORTS, json=turn_report(400), headers=dispatcher | CHINESE)
        assert chinese.status_code == 507
        assert (
            chinese.json()["detail"]
            == "存储空间已满：不能写入，查询仍可进行；本次请求未执行，请稍后重试"
        )
        assert await stored_reports(context) == stored  # nothing half-written
        # reads go on
        assert (await client.get("/api/v1/events", headers=dispatcher)).status_code == 200
        health = await client.get("/healthz")
        assert health.status_code == 507
        assert health.json()["database"] == "full"
        assert (
            health.json()["detail"]
            == "the storage is full: nothing can be written, reading goes on"
        )
        assert health.headers["retry-after"] == "60"

        async with context.engine.connect() as connection:
            await connection.execute(text("PRAGMA max_page_count = 1073741823"))
            await connection.commit()

        # the worker's own probe ends the incident, with no request asking
        async def over() -> bool:
            return context.storage.incident is None

        await wait_until(over, seconds=5)
        assert (await client.get("/healthz")).status_code == 200
        assert (
            await client.post(REPORTS, json=turn_report(500), headers=dispatcher)
        ).status_code == 201
        async with context.engine.connect() as connection:
            assert await connection.scalar(text("PRAGMA integrity_check")) == "ok"

    lines = trouble_lines(caplog)
    assert len(lines) == 2, lines
    assert lines[0].startswith(
        "storage trouble (full) in POST /api/v1/reports: OperationalError: database or disk is full"
    )
    assert lines[1].startswith("storage trouble (full) over after ")
    assert lines[1].endswith("; 2 refused meanwhile")  # two posts (probes are not counted)
    assert_no_tracebacks(caplog)


@pytest.fixture
def postgres_database() -> Iterator[str]:
    with scratch_postgres("outage_read_only") as url:
        upgrade(Settings(database_url=url))
        yield url


async def set_read_only(url: str, on: bool) -> None:
    """``default_transaction_read_only`` for the database's new sessions, and its sessions cut
    off, so that the app's pool connects again and takes it."""
    name = url.rsplit("/", 1)[1]
    engine = create_async_engine(url.rsplit("/", 1)[0] + "/postgres", isolation_level="AUTOCOMMIT")
    async with engine.connect() as connection:
        setting = (
            "SET default_transaction_read_only = on"
            if on
            else "RESET default_transaction_read_only"
        )
        await connection.execute(text(f'ALTER DATABASE "{name}" {setting}'))
        await connection.execute(
            text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :name"),
            {"name": name},
        )
    await engine.dispose()


async def answers_until(
    client: httpx.AsyncClient, dispatcher: dict[str, str], wanted: int, first: int
) -> list[tuple[int, str | None]]:
    """POST reports until one is answered ``wanted`` (at most 50 tries); every answer's status
    and ``database`` member."""
    seen: list[tuple[int, str | None]] = []
    for n in range(first, first + 50):
        answer = await client.post(REPORTS, json=turn_report(n), headers=dispatcher)
        body = answer.json()
        seen.append(
            (answer.status_code, body.get("database") if answer.status_code >= 400 else None)
        )
        if answer.status_code == wanted:
            return seen
    pytest.fail(f"never {wanted}: {seen}")


@pytest.mark.postgres
async def test_a_read_only_postgresql_refuses_writes_with_503_and_comes_back(
    postgres_database: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    async with running(postgres_database, tmp_path / "var") as (client, context, dispatcher):
        assert (
            await client.post(REPORTS, json=turn_report(0), headers=dispatcher)
        ).status_code == 201
        await set_read_only(postgres_database, True)
        refused = await answers_until(client, dispatcher, 503, 1)
        # the pool's connections were cut: a request may find one gone before the new ones
        refused += [a for a in await answers_until(client, dispatcher, 503, 60)]
        assert refused[-1] == (503, "read_only"), refused
        assert {status for status, _ in refused} == {503}
        assert {db for _, db in refused} <= {"unreachable", "read_only"}
        assert (await client.get("/api/v1/events", headers=dispatcher)).status_code == 200
        health = await client.get("/healthz")
        assert (health.status_code, health.json()["database"]) == (503, "read_only")
        assert health.headers["retry-after"] == "30"

        await set_read_only(postgres_database, False)
        back = await answers_until(client, dispatcher, 201, 100)
        assert {status for status, _ in back} <= {201, 503}, back
        assert (await client.get("/healthz")).status_code == 200
        assert await stored_reports(context) == 2

    lines = trouble_lines(caplog)
    assert any(
        line.startswith("storage trouble (read_only) in POST /api/v1/reports") for line in lines
    ), lines
    assert lines[-1].startswith("storage trouble ") and " over after " in lines[-1], lines
    assert len(lines) <= 6, lines
    assert_no_tracebacks(caplog)
