"""Fixtures: every API test runs on SQLite and on the PostgreSQL server of this machine.

PostgreSQL is found at ``OUTAGE_TEST_DATABASE_URL`` (default: the local server's ``postgres``
database); each run makes its own database there and drops it after. Without a reachable server
the PostgreSQL half is skipped, except under CI (``CI`` set), where that fails the run.

A test that starts a process (a subprocess, a served uvicorn, a browser) says so with the
``process`` marker, in its module's ``pytestmark``: ``make check`` leaves those out. A test
without it that starts one fails, naming the command, so the marker cannot drift. A failing test
shows the logs of the servers (``tests.helpers.serve``) running or started while it ran.
"""

from __future__ import annotations

import subprocess
import traceback
from collections.abc import AsyncIterator, Callable, Generator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

import models
from service.app import create_app
from service.config import Settings
from service.flows.context import AppContext
from service.store.migrate import upgrade
from tests.helpers import (
    BACKENDS,
    SERVERS,
    Clock,
    MakeToken,
    hold_clock,
    scratch_postgres,
    token_headers,
)


def _refusing(item: pytest.Item, start: Callable[..., None]) -> Callable[..., None]:
    def refuse(popen: subprocess.Popen[Any], args: Any, *rest: Any, **kw: Any) -> None:
        # ctypes.util.find_library asks ldconfig where a library is (WeasyPrint, loading Pango):
        # a look-up, not a process of the test's
        if any(frame.filename.endswith("ctypes/util.py") for frame in traceback.extract_stack()):
            return start(popen, args, *rest, **kw)
        raise AssertionError(
            f"{item.nodeid} starts a process ({args!r}) but is not marked: give its module "
            "`pytestmark = pytest.mark.process` (make check leaves such tests out)"
        )

    return refuse


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The tests that start processes first (in their order), then the rest: the longest ones
    go to the workers while every other test is still waiting, instead of trailing at the end
    of `make test` with one worker busy and the other idle."""
    items.sort(key=lambda item: item.get_closest_marker("process") is None)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Generator[None]:
    """Outside ``process`` tests, starting a process (setup and teardown included) fails."""
    if item.get_closest_marker("process"):
        return (yield)
    with pytest.MonkeyPatch.context() as patch:
        start = subprocess.Popen._execute_child  # type: ignore[attr-defined]
        patch.setattr(subprocess.Popen, "_execute_child", _refusing(item, start))
        return (yield)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """Servers stopped before this test have nothing to say about it."""
    SERVERS[:] = [server for server in SERVERS if not server.stopped]


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """A failure shows the last lines of each server's log running or started during the test
    (unless the failure message holds them already)."""
    report = yield
    if report.failed:
        for server in SERVERS:
            if str(server.log) not in str(report.longrepr):
                report.sections.append((f"server log {server.url}", server.log_tail()))
    return report


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
        delivery_interval_seconds=0,  # tests deliver by hand (tests.helpers.delivering)
        # pages drawn in a thread: render processes are processes (tests/api/test_render_pool.py)
        render_workers=0,
        var_dir=tmp_path_factory.mktemp("var"),
    )


@pytest.fixture(scope="session")
async def app_and_context(settings: Settings) -> AsyncIterator[tuple[object, AppContext]]:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        yield app, app.state.context


# Every table emptied, children first, as one script: one round trip after each test, where a
# statement per table took about as long as the test itself for most tests.
EMPTY_ALL = "".join(
    f'DELETE FROM "{table.name}";' for table in reversed(models.Base.metadata.sorted_tables)
)


@pytest.fixture
async def context(app_and_context: tuple[object, AppContext]) -> AsyncIterator[AppContext]:
    """The running app's context; every table is emptied after each test."""
    ctx = app_and_context[1]
    yield ctx
    async with ctx.engine.connect() as connection:
        # the driver's own script call: SQLAlchemy's cursor sends one statement at a time
        driver = (await connection.get_raw_connection()).driver_connection
        if ctx.settings.is_sqlite:
            await driver.executescript(f"BEGIN;{EMPTY_ALL}COMMIT;")
        else:
            await driver.execute(f"BEGIN;{EMPTY_ALL}COMMIT;")


@pytest.fixture
async def client(
    app_and_context: tuple[object, AppContext], context: AppContext
) -> AsyncIterator[httpx.AsyncClient]:
    app: Any = app_and_context[0]
    app.state.wrong_tokens.forget()  # each test's wrong tokens count from none
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield http


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    """The service's clock, held at T0 until the test moves it (``clock.set(minutes)``)."""
    held = Clock()
    hold_clock(monkeypatch, held)
    return held


@pytest.fixture
def make_token(context: AppContext) -> MakeToken:
    """``await make_token("dispatcher", region="330603")`` → Authorization headers."""

    async def make(role: str, name: str | None = None, **scope: str) -> dict[str, str]:
        return await token_headers(context, role, name, **scope)

    return make
