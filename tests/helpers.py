"""What several test modules share: request bodies, posting, counting, scratch databases, ports,
the service as a subprocess.

Test modules import from here, never from one another (nor from conftest).
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import ExitStack, asynccontextmanager, contextmanager, redirect_stdout, suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from itertools import pairwise
from pathlib import Path
from typing import Any, NamedTuple, TypeVar
from xml.etree import ElementTree as ET

import asyncpg
import httpx
import pytest
import xmlschema
from sqlalchemy import Connection, func, select
from sqlalchemy.engine import make_url
from starlette.types import ASGIApp

from models import base
from service.api.door import Door
from service.api.limits import WrongTokens
from service.cli import main
from service.config import Settings
from service.flows.context import AppContext
from service.notify.deliverer import Deliverer
from service.store.engine import make_engine
from service.store.tokens import create_token

DEFAULT_PG = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
BACKENDS = ["sqlite", "postgres"]
# BACKENDS as a fixture's params: the PostgreSQL one marked, so that ``-m "not postgres"`` skips it.
BACKEND_PARAMS = [
    pytest.param(backend, marks=pytest.mark.postgres) if backend == "postgres" else backend
    for backend in BACKENDS
]
T = TypeVar("T")


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
        # A commit need not wait for the WAL's flush to disk here: the suite's databases outlive
        # no crash of the server, and a test commits hundreds of times (the app's process being
        # killed loses nothing either way: the server holds what it answered COMMIT to).
        asyncio.run(_pg_execute(f'ALTER DATABASE "{name}" SET synchronous_commit = off'))
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


def on_connection(settings: Settings, work: Callable[[Connection], T]) -> T:
    """Run ``work`` on a sync view of a connection from the app's own (async) engine."""

    async def run() -> T:
        engine = make_engine(settings)
        try:
            async with engine.connect() as connection:
                return await connection.run_sync(work)
        finally:
            await engine.dispose()

    return asyncio.run(run())


REPO = Path(__file__).resolve().parents[1]
PLAYBOOKS_DIR = REPO / "playbooks"
# The plan itself, as the gazette printed it, kept in the repository so that every test runs.
PLAN_FILE = REPO / "docs" / "plan" / "outage-plan-zh.md"

MakeToken = Callable[..., Awaitable[dict[str, str]]]
"""``await make_token("dispatcher", region="330603")`` → Authorization headers (conftest)."""

T0 = datetime(2026, 7, 20, 6, 0, tzinfo=UTC)


def county(region: str, load: Any, lost: Any, **extra: Any) -> dict[str, Any]:
    """A county grid's snapshot: load before the event and load lost, MW."""
    return {"scope": "county", "region": region, "load_mw": load, "load_lost_mw": lost, **extra}


def report(*snapshots: dict[str, Any], minutes: int = 0, **extra: Any) -> dict[str, Any]:
    """A POST /reports body observed ``minutes`` after T0."""
    return {
        "observed_at": (T0 + timedelta(minutes=minutes)).isoformat(),
        "cause": "typhoon",
        "snapshots": list(snapshots),
        **extra,
    }


class Clock:
    """The service's clock in a test: ``clock.set(minutes)`` puts it ``minutes`` after T0."""

    def __init__(self, start: datetime = T0) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def set(self, minutes: float) -> datetime:
        self.now = T0 + timedelta(minutes=minutes)
        return self.now


def hold_clock(monkeypatch: pytest.MonkeyPatch, clock: Clock) -> None:
    """Every service module that reads the time through ``models.base.utcnow`` reads ``clock``
    until the test ends: a scripted event happens at the minutes its script gives."""
    for name, module in list(sys.modules.items()):
        if name.startswith("service.") and getattr(module, "utcnow", None) is base.utcnow:
            monkeypatch.setattr(module, "utcnow", clock)


class Boundary(NamedTuple):
    """One grid's figures at or just beside a plan 1.5 threshold, written as a client writes them.

    ``level`` and ``clause`` are what the plan gives; ``fraction`` is load lost ÷ load when it is
    a threshold exactly (else None).
    """

    scope: str
    region: str
    load_mw: str
    load_lost_mw: str
    level: str | None
    clause: str | None
    fraction: str | None


# Thresholds met exactly, where a computation in binary floating point lands on the wrong side
# (60.4 ÷ 151.0 gives 0.39999999999999997, 21000.78 ÷ 70002.6 less than 0.3), each beside the
# smallest step below it that a report can carry (6 decimal places): the classifier, and the API
# that reads these figures as JSON numbers, must decide both exactly.
EXACT_BOUNDARIES: list[Boundary] = [
    Boundary("county", "330603", "151.0", "60.4", "IV", "1.5 一般(3)", "0.4"),
    Boundary("county", "330603", "151.0", "60.399999", None, None, None),
    # 0.1 + 0.2 MW of 0.75 MW is 40% exactly
    Boundary("county", "330624", "0.75", "0.3", "IV", "1.5 一般(3)", "0.4"),
    Boundary("county", "330624", "0.75", "0.299999", None, None, None),
    Boundary("province", "330000", "70002.6", "21000.78", "I", "1.5 特别重大", "0.3"),
    Boundary("province", "330000", "70002.6", "21000.779999", "II", "1.5 重大(1)", None),
    Boundary("province", "330000", "70002.6", "9100.338", "II", "1.5 重大(1)", "0.13"),
    Boundary("province", "330000", "70002.6", "9100.337999", "III", "1.5 较大(1)", None),
    Boundary("province", "330000", "3000", "390", "II", "1.5 重大(1)", "0.13"),
]


async def post(client: httpx.AsyncClient, headers: dict[str, str], body: dict[str, Any]) -> Any:
    """POST /reports, which must answer 201; its JSON."""
    response = await client.post("/api/v1/reports", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


async def ok(response: httpx.Response, status: int = 200) -> Any:
    """The JSON of an answer that must have ``status``."""
    assert response.status_code == status, response.text
    return response.json()


async def succeeded(request: Awaitable[httpx.Response]) -> Any:
    """Send ``request``, which must succeed (200 or 201); its JSON."""
    response = await request
    assert response.status_code in (200, 201), response.text
    return response.json()


async def token_headers(
    context: AppContext, role: str, name: str | None = None, **scope: str
) -> dict[str, str]:
    """Authorization headers of a new token made through the store, committed (``role``,
    ``name``, and its ``agency`` or ``region``)."""
    async with context.sessions() as session:
        _row, token = await create_token(
            session,
            context.playbooks.agencies,
            context.playbooks.grids,
            role=role,
            name=name or role,
            **scope,
        )
        await session.commit()
    return {"Authorization": f"Bearer {token}"}


def turn_report(n: int) -> dict[str, Any]:
    """The ``n``-th of a run of reports on 越城区 (1000 MW), each losing a little other load,
    ``n`` minutes after T0: below every level, so that they change nothing but their own rows."""
    return report(county("330602", "1000", str(10 + n % 50)), minutes=n)


async def count(context: AppContext, model: Any) -> int:
    """How many rows ``model``'s table holds."""
    async with context.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# design § Lifecycle, written out as the oracle of the lifecycle tests (plan and HTTP):
# (from, trigger, guards, to) for every allowed move; None is a new event.
DESIGN_MOVES: list[tuple[str | None, str, dict[str, bool], str]] = [
    (None, "report", {}, "monitoring"),
    (None, "report", {"reaches_response": True}, "response"),
    (None, "propose_warning", {}, "monitoring"),
    ("monitoring", "propose_warning", {}, "monitoring"),
    # a further warning may be proposed for an event already warned or in response
    ("warning", "propose_warning", {}, "warning"),
    ("response", "propose_warning", {}, "response"),
    ("monitoring", "report", {}, "monitoring"),
    ("monitoring", "report", {"reaches_response": True}, "response"),
    ("warning", "report", {}, "warning"),
    ("warning", "report", {"reaches_response": True}, "response"),
    ("response", "report", {"reaches_response": True}, "response"),
    ("response", "report", {}, "response"),
    ("monitoring", "publish_warning", {"has_proposed_warning": True}, "warning"),
    ("warning", "lift_warning", {}, "monitoring"),
    ("response", "lift_warning", {}, "response"),
    ("monitoring", "start_response", {}, "response"),
    ("warning", "start_response", {}, "response"),
    ("response", "set_level", {}, "response"),
    # a higher HQ takes the lead, the level kept (design § Who leads; plan 2.2, 5.1)
    ("response", "take_lead", {}, "response"),
    ("response", "terminate", {"termination_conditions_met": True}, "terminated"),
    ("monitoring", "dismiss", {}, "closed"),
    ("terminated", "close", {"post_event_work_done": True}, "closed"),
]
DESIGN_STATES = ["monitoring", "warning", "response", "terminated", "closed"]
DESIGN_ROLES = ["admin", "dispatcher", "commander", "agency", "observer"]
# The "who" column: the one role that fires each trigger.
DESIGN_WHO = {
    "report": "dispatcher",
    "propose_warning": "dispatcher",
    "publish_warning": "commander",
    "lift_warning": "commander",
    "start_response": "commander",
    "set_level": "commander",
    "take_lead": "commander",
    "terminate": "commander",
    "dismiss": "commander",
    "close": "commander",
}


def design_allowed(state: str) -> list[str]:
    """The triggers the table of design § Lifecycle lets out of ``state``, sorted."""
    return sorted({t for start, t, _g, _e in DESIGN_MOVES if (start or "monitoring") == state})


# design § Agencies, the 5.2.3 member units in the plan's order.
MEMBER_UNITS = {
    "publicity": "市委宣传部",
    "development-reform": "市发改委",
    "economy-it": "市经信委",
    "education": "市教育局",
    "public-security": "市公安局",
    "civil-affairs": "市民政局",
    "finance": "市财政局",
    "land-resources": "市国土局",
    "environment": "市环保局",
    "construction": "市建设局",
    "transport": "市交通运输局",
    "water": "市水利局",
    "forestry": "市林业局",
    "health": "市卫生计生委",
    "culture-broadcast": "市文广局",
    "work-safety": "市安监局",
    "power-company": "绍兴电力局",
    "emergency-office": "市应急办",
    "military": "绍兴军分区",
    "armed-police": "武警绍兴市支队",
}
OTHER_UNITS = {
    "grid-dispatch": ("电力调度控制中心", "power"),
    "important-users": ("重要电力用户", "user"),
    "provincial-drc": ("省发改委", "province"),
    "hq-province": ("省应急指挥部", "hq"),
    "hq-city": ("市应急指挥部", "hq"),
    "leading-hq": ("牵头应对的应急指挥部", "symbolic"),
}


# --- the service as a subprocess (storm, crash) -----------------------------------------------


# The service as a subprocess runs as it ships: two workers on PostgreSQL, one on SQLite.
SERVED_BACKENDS = [pytest.param(("postgres", 2), marks=pytest.mark.postgres), ("sqlite", 1)]
SERVED_IDS = ["postgres-2-workers", "sqlite-1-worker"]


def served_database(stack: ExitStack, backend: str, folder: Path, prefix: str) -> str:
    """A fresh database of ``backend`` for a service subprocess: a scratch PostgreSQL database
    (dropped when ``stack`` closes) or a SQLite file in ``folder``."""
    if backend == "postgres":
        return stack.enter_context(scratch_postgres(prefix))
    return f"sqlite+aiosqlite:///{folder / f'{prefix}.db'}"


def service_env(database_url: str, var_dir: Path, **settings: str) -> dict[str, str]:
    """The environment a service subprocess runs with: this one's without any ``OUTAGE_``
    setting, then ``database_url``, ``var_dir`` and ``settings`` (``escalation_interval_seconds
    ="0.5"`` → ``OUTAGE_ESCALATION_INTERVAL_SECONDS=0.5``)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OUTAGE_")}
    env.update(OUTAGE_DATABASE_URL=database_url, OUTAGE_VAR_DIR=str(var_dir), PYTHONPATH=str(REPO))
    env.update({f"OUTAGE_{name.upper()}": value for name, value in settings.items()})
    return env


def cli(env: dict[str, str], *words: str) -> str:
    """``python -m service.cli WORDS…`` with ``env``; its standard output (fails the test when
    the command fails)."""
    done = subprocess.run(
        [sys.executable, "-m", "service.cli", *words],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, f"{' '.join(words)}: {done.stderr}"
    return done.stdout


def cli_tokens(env: dict[str, str], specs: dict[str, list[str]]) -> dict[str, dict[str, str]]:
    """Tokens made by the CLI's ``tokens create``, as Authorization headers by name. ``specs``:
    name → the options after ``--name``, e.g. ``{"city": ["--role", "commander", "--region",
    "330600"]}``. The command runs in this process (``service.cli.main`` with ``env``'s
    settings): an interpreter start per token would cost about a second of CPU each."""
    made: dict[str, dict[str, str]] = {}
    with pytest.MonkeyPatch.context() as patch:
        for name, value in env.items():
            if name.startswith("OUTAGE_"):
                patch.setenv(name, value)
        for name, options in specs.items():
            out = io.StringIO()
            with redirect_stdout(out):
                assert main(["tokens", "create", "--name", name, *options]) == 0, name
            made[name] = {"Authorization": f"Bearer {out.getvalue().strip().splitlines()[-1]}"}
    return made


# How long a server may take to answer /healthz: long enough for a 2-core machine that other
# work keeps busy (a start took over 40 s there), polled often enough that an idle machine,
# where one starts in about a second, waits for nothing.
START_SECONDS = 120.0
POLL_SECONDS = 0.05
# The part of a server's log a failure shows (the whole file is named beside it).
LOG_TAIL_LINES = 60


@dataclass
class Service:
    """A running ``serve`` subprocess, the leader of its own process group (its workers are in
    the group too); its output, standard error included, goes to ``log``."""

    url: str
    port: int
    process: subprocess.Popen[bytes]
    log: Path
    stopped: bool = False

    def kill(self) -> None:
        """``kill -9`` of the whole group: the supervisor and every worker, mid-request."""
        with suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")

    def log_tail(self) -> str:
        """The log's last lines, for a failure message."""
        lines = self.log_text().splitlines()
        return f"{self.log} (last {LOG_TAIL_LINES} of {len(lines)} lines):\n" + "\n".join(
            lines[-LOG_TAIL_LINES:]
        )

    def worker_pids(self) -> list[int]:
        """The workers of ``serve --workers N`` (N > 1): the children the supervisor forked
        (it starts no other process)."""
        pid = self.process.pid
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        return [int(child) for child in children]

    def memory_kib(self, field: str = "VmHWM") -> int:
        """The server process's ``VmHWM`` (peak resident memory) or ``VmRSS``, in KiB."""
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        line = next(line for line in status.splitlines() if line.startswith(f"{field}:"))
        return int(line.split()[1])

    def reset_peak_memory(self) -> int:
        """Start ``VmHWM`` again from the resident memory now (Linux: ``clear_refs`` 5); the
        resident memory now, in KiB."""
        Path(f"/proc/{self.process.pid}/clear_refs").write_text("5")
        return self.memory_kib("VmRSS")


# Every server a test module started in this process, so that a failing test shows the logs of
# those still running or started during it (tests/conftest.py, pytest_runtest_makereport).
SERVERS: list[Service] = []

SERVICE_COMMAND = (sys.executable, "-m", "service.cli")


@contextmanager
def serve(
    env: dict[str, str],
    workers: int,
    log: Path,
    upgrade: bool = True,
    *,
    command: tuple[str, ...] = SERVICE_COMMAND,
    cwd: Path = REPO,
) -> Iterator[Service]:
    """``db upgrade`` (unless ``upgrade`` is false: the caller did it) then ``serve --workers
    N`` on a free port, as the image starts it; yields once /healthz answers 200 and every worker
    has started its application, and stops the whole process group afterwards. ``command`` is
    how the console script is run (an installed ``outage-coordinator``, say), from ``cwd``.
    Output goes to ``log`` (appended: a restart keeps the first run's lines); a start that
    fails, or takes longer than ``START_SECONDS``, fails the test with the log's last lines."""
    if upgrade:
        cli(env, "db", "upgrade")
    port = free_port()
    with log.open("ab") as out:
        process = subprocess.Popen(
            [*command, "serve", "--port", str(port), "--workers", str(workers)],
            env=env,
            cwd=cwd,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    service = Service(f"http://127.0.0.1:{port}", port, process, log)
    SERVERS.append(service)
    started = log.stat().st_size  # the lines of this start, after any earlier one's
    try:
        _wait_until_serving(service, workers, started)
        yield service
    finally:
        for sig, grace in ((signal.SIGTERM, 20.0), (signal.SIGKILL, 10.0)):
            if process.poll() is not None:
                break
            with suppress(ProcessLookupError):
                os.killpg(process.pid, sig)
            with suppress(subprocess.TimeoutExpired):
                process.wait(grace)
        service.stopped = True


def _wait_until_serving(service: Service, workers: int, log_offset: int) -> None:
    """Until /healthz answers 200 and the log says each of ``workers`` completed its
    application's startup (so that no worker is still starting when the test begins)."""
    deadline = time.monotonic() + START_SECONDS
    with httpx.Client(base_url=service.url, timeout=5, trust_env=False) as client:
        while True:
            if service.process.poll() is not None:
                pytest.fail(f"serve exited ({service.process.returncode}): {service.log_tail()}")
            with suppress(httpx.TransportError):
                if client.get("/healthz").status_code == 200:
                    with service.log.open("rb") as log:
                        log.seek(log_offset)
                        if log.read().count(b"Application startup complete") >= workers:
                            return
            if time.monotonic() > deadline:
                pytest.fail(
                    f"serve did not answer within {START_SECONDS:.0f} s: {service.log_tail()}"
                )
            time.sleep(POLL_SECONDS)


async def every_item(
    client: httpx.AsyncClient, path: str, headers: dict[str, str], **filters: str
) -> list[dict[str, Any]]:
    """Every item of a paginated list (``filters`` as query parameters), following ``next``."""
    items: list[dict[str, Any]] = []
    params: dict[str, Any] = {**filters, "limit": 200}
    while True:
        page = await client.get(path, params=params, headers=headers)
        assert page.status_code == 200, f"GET {path}: {page.status_code} {page.text}"
        body = page.json()
        items += body["items"]
        if not body.get("next"):
            return items
        params = {**filters, "limit": 200, "cursor": body["next"]}


def timeline_faults(entries: list[dict[str, Any]]) -> list[str]:
    """What is wrong with one event's timeline as the API lists it (oldest first), in words:
    ``seq`` must number the event's entries 1, 2, 3 … with no gap, and ``at`` must never be
    earlier than the entry before it."""
    faults: list[str] = []
    seqs = [entry["seq"] for entry in entries]
    if seqs != list(range(1, len(seqs) + 1)):
        gaps = sum(1 for a, b in pairwise(seqs) if b != a + 1)
        faults.append(
            f"seq is not 1…{len(seqs)} without gaps: runs {seqs[:1]}…{seqs[-1:]} with "
            f"{gaps} gap(s) between {len(seqs)} entries"
        )
    backwards = [
        (a, b)
        for a, b in pairwise(entries)
        if datetime.fromisoformat(b["at"]) < datetime.fromisoformat(a["at"])
    ]
    if backwards:
        a, b = backwards[0]
        faults.append(
            f"at decreases at {len(backwards)} of {len(entries)} entries; first: seq {b['seq']} "
            f"({b['kind']}) at {b['at']} after seq {a['seq']} ({a['kind']}) at {a['at']}"
        )
    return faults


# A traceback's last line: the exception's name, then its message. SQLAlchemy's DBAPIError
# names the driver's exception inside (<class 'asyncpg.exceptions.DeadlockDetectedError'>).
_RAISED = re.compile(r"^(?P<name>[A-Za-z_][\w.]*(?:Error|Exception|Exit|Timeout)): (?P<rest>.*)$")
_INNER = re.compile(r"<class '(?P<inner>[\w.]+)'>")


def _traceback_lines(log: str) -> Iterator[str]:
    for line in log.splitlines():
        if line.startswith("{"):
            with suppress(ValueError):
                yield from str(json.loads(line).get("exception", "")).splitlines()
                continue
        yield line


def logged_exceptions(log: str) -> Counter[str]:
    """The exceptions whose tracebacks a server log holds, by name (with the driver's own
    exception where SQLAlchemy wraps one); in a JSON line, its ``exception`` member."""
    found: Counter[str] = Counter()
    for line in _traceback_lines(log):
        raised = _RAISED.match(line)
        if raised is None:
            continue
        inner = _INNER.search(raised["rest"])
        found[raised["name"] + (f" ({inner['inner']})" if inner else "")] += 1
    return found


async def event_list(
    client: httpx.AsyncClient, headers: dict[str, str], event_id: str, listing: str
) -> list[dict[str, Any]]:
    """GET /events/{id}/{listing} (actions, releases, requisitions, timeline …) as ``headers``
    see it: the items of its first page."""
    answer = await client.get(f"/api/v1/events/{event_id}/{listing}", headers=headers)
    assert answer.status_code == 200, answer.text
    found: list[dict[str, Any]] = answer.json()["items"]
    return found


async def event_actions(
    client: httpx.AsyncClient, headers: dict[str, str], event_id: str
) -> list[dict[str, Any]]:
    """GET /events/{id}/actions as ``headers`` see it: the items."""
    return await event_list(client, headers, event_id, "actions")


def problem(answer: httpx.Response, status: int) -> dict[str, Any]:
    """The problem document (RFC 9457) an answer with ``status`` must carry."""
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    found: dict[str, Any] = answer.json()
    return found


# --- the situation board ----------------------------------------------------------------------

BOARD_COOKIE = "outage_board"


def door_around(app: ASGIApp, *, log_requests: bool = False) -> Door:
    """``app`` behind the service's door (``service.api.door``) as the service wires it, without
    metrics. Ask it for paths outside /api/: a token is checked there, by the running
    service's context."""
    return Door(app, wrong_tokens=WrongTokens(), max_body_bytes=1 << 20, log_requests=log_requests)


def bearer_token_of(headers: dict[str, str]) -> str:
    """The token of ``make_token``'s Authorization headers."""
    return headers["Authorization"].removeprefix("Bearer ")


async def board_sign_in(
    client: httpx.AsyncClient, token: str, base: str | None = None
) -> httpx.Response:
    """POST the sign-in form as the board's own page does; the client keeps the cookie. ``base``
    (e.g. ``https://test``) posts to another scheme or host than the client's."""
    url = f"{base or ''}/board/login"
    return await client.post(url, data={"token": token}, headers={"Sec-Fetch-Site": "same-origin"})


# --- notifications ------------------------------------------------------------------------------


async def outbox_rows(context: AppContext, event_id: str | None = None) -> list[Any]:
    """The outbox's notices (of ``event_id``, when given), as written: oldest first."""
    from models import OutboxMessage

    query = select(OutboxMessage).order_by(OutboxMessage.created_at)
    if event_id is not None:
        query = query.where(OutboxMessage.event_id == uuid.UUID(event_id))
    async with context.sessions() as session:
        return list(await session.scalars(query))


@dataclass(frozen=True)
class Hit:
    """One request a ``Receiver`` got."""

    path: str  # with the query string
    headers: dict[str, str]  # names in lower case
    body: bytes

    @property
    def webhook_id(self) -> str:
        return self.headers.get("webhook-id", "")

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass(frozen=True)
class Reply:
    """What a ``Receiver`` answers, after ``delay`` seconds: ``body`` ``repeat`` times over,
    or, with ``drip``, one byte every ``drip`` seconds."""

    status: int = 200
    body: bytes = b"{}"
    headers: tuple[tuple[str, str], ...] = ()
    delay: float = 0.0
    repeat: int = 1
    drip: float = 0.0


class _Server(ThreadingHTTPServer):
    request_queue_size = 128  # the deliverer opens many connections at once


class Receiver:
    """A real HTTP receiver on 127.0.0.1 (an ephemeral port unless given), served by a thread:
    it records every request (``hits``) and answers what ``answer(hit, n)`` says (``n`` counts
    the hits so far with the same webhook-id, from 1; a 200 ``{}`` by default)."""

    def __init__(self, answer: Callable[[Hit, int], Reply] | None = None, port: int = 0) -> None:
        self.answer = answer or (lambda _hit, _n: Reply())
        self.hits: list[Hit] = []
        self.answered = 0
        self.sent = 0  # bytes of answers' bodies the deliverer took (into its socket at least)
        self._lock = threading.Lock()
        self._closing = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as a real receiver
            # The answer in one write, sent at once (not 40 ms later behind a delayed ACK).
            wbufsize = -1
            disable_nagle_algorithm = True

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                hit = Hit(
                    self.path,
                    {k.lower(): v for k, v in self.headers.items()},
                    self.rfile.read(length),
                )
                with receiver._lock:
                    receiver.hits.append(hit)
                    n = sum(1 for h in receiver.hits if h.webhook_id == hit.webhook_id)
                reply = receiver.answer(hit, n)
                if reply.delay:
                    receiver._closing.wait(reply.delay)
                self.send_response(reply.status)
                for name, value in reply.headers:
                    self.send_header(name, value)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(reply.body) * reply.repeat))
                self.end_headers()
                try:
                    self._body(reply)
                except OSError:  # the deliverer hung up before the end: as it may
                    self.close_connection = True
                    return
                with receiver._lock:
                    receiver.answered += 1

            def _body(self, reply: Reply) -> None:
                if reply.drip:
                    self.wfile.flush()
                    for byte in reply.body * reply.repeat:
                        if receiver._closing.wait(reply.drip):
                            raise ConnectionAbortedError
                        self.wfile.write(bytes([byte]))
                        self.wfile.flush()
                        with receiver._lock:
                            receiver.sent += 1
                    return
                for _ in range(reply.repeat):
                    self.wfile.write(reply.body)
                    with receiver._lock:
                        receiver.sent += len(reply.body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = _Server(("127.0.0.1", port), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self._thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    def __enter__(self) -> Receiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._closing.set()
        self.server.shutdown()
        self.server.server_close()

    def by_webhook_id(self) -> Counter[str]:
        with self._lock:
            return Counter(hit.webhook_id for hit in self.hits)


@asynccontextmanager
async def delivering(context: AppContext, **settings: Any) -> AsyncIterator[Deliverer]:
    """A deliverer on the test's database with ``settings`` changed (e.g. a tiny
    ``delivery_backoff_seconds``), driven by hand with ``drain()`` unless
    ``delivery_interval_seconds`` is given."""
    changed = context.settings.model_copy(update=settings)
    deliverer = Deliverer(context.sessions, changed, context.playbooks)
    deliverer.start()
    try:
        yield deliverer
    finally:
        await deliverer.stop()


async def deliveries(context: AppContext) -> list[Any]:
    """Every delivery row, oldest first."""
    from models import Delivery

    async with context.sessions() as session:
        return list(await session.scalars(select(Delivery).order_by(Delivery.created_at)))


async def subscribe(client: httpx.AsyncClient, admin: dict[str, str], **body: Any) -> Any:
    """POST /subscriptions, which must answer 201; its JSON (with the secret)."""
    answer = await client.post("/api/v1/subscriptions", json=body, headers=admin)
    assert answer.status_code == 201, answer.text
    return answer.json()


async def wait_until(condition: Callable[[], Awaitable[bool]], seconds: float = 5.0) -> None:
    """Poll ``condition`` every 20 ms until it holds; fail after ``seconds``."""
    deadline = time.monotonic() + seconds
    while not await condition():
        assert time.monotonic() < deadline, f"still not so after {seconds} s"
        await asyncio.sleep(0.02)


def documented_operations(tag: str) -> dict[str, dict[str, Any]]:
    """The operations the app's OpenAPI files under ``tag``, by ``operationId``, each checked to
    explain itself in /docs: a summary written for people (not FastAPI's title-cased function
    name, "Post Ack"), a description, and examples of the JSON body it takes."""
    from service.app import create_app
    from service.config import Settings

    # Building the app opens no database (its lifespan would).
    document = create_app(Settings(database_url="sqlite+aiosqlite:///:memory:")).openapi()
    schemas = document["components"]["schemas"]
    found: dict[str, dict[str, Any]] = {}
    for methods in document["paths"].values():
        for operation in methods.values():
            if tag not in operation.get("tags", ()):
                continue
            name = operation["operationId"]
            summary = operation.get("summary", "")
            assert summary and summary != summary.title(), f"{name}: summary {summary!r}"
            assert operation.get("description"), f"{name} has no description"
            body = operation.get("requestBody")
            if body is not None:
                model = body["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
                assert schemas[model].get("examples"), f"{name}: no examples of {model}"
            found[name] = operation
    return found


CAP = "{urn:oasis:names:tc:emergency:cap:1.2}"
# CAP 1.2 3.2.1: an identifier (and a sender) "MUST NOT include spaces, commas or restricted
# characters (< and &)"; references: "sender,identifier,sent" triples separated by whitespace.
CAP_RESTRICTED = re.compile(r"[\s,<&]")


@cache
def cap_schema() -> xmlschema.XMLSchema10:
    return xmlschema.XMLSchema10(str(REPO / "tests" / "data" / "CAP-v1.2.xsd"))


def cap_faults(document: bytes) -> list[str]:
    """What makes ``document`` no CAP 1.2 alert, in words (nothing: it is one): OASIS's schema
    (tests/data/CAP-v1.2.xsd) and the rules it cannot say."""
    root = ET.fromstring(document)
    faults = [str(error.reason or error) for error in cap_schema().iter_errors(root)]
    for tag in ("identifier", "sender"):
        if CAP_RESTRICTED.search(root.findtext(f"{CAP}{tag}") or ""):
            faults.append(f"{tag} holds a space, comma, < or &")
    for triple in (root.findtext(f"{CAP}references") or "").split():
        if len(triple.split(",")) != 3:
            faults.append(f"reference {triple!r} is not sender,identifier,sent")
    return faults


CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_INSTALL = "apt-get install -y chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
]


def require_chromium() -> Path:
    """Debian's Chromium, which Playwright drives (never a browser of its own): without it the
    test skips naming the command that installs it; under CI (``CI`` set) it fails."""
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing under CI: .ci/run must `{CHROMIUM_INSTALL}`")
        pytest.skip(f"Debian's chromium is not installed: {CHROMIUM_INSTALL}")
    return CHROMIUM


@contextmanager
def browser_page(
    chromium: Path, tmp_path: Path, viewport: dict[str, int], timeout_ms: int | None = None
) -> Iterator[Any]:
    """A page of Debian's Chromium, headless, in a fresh profile under ``tmp_path``, closed
    afterwards; ``timeout_ms`` for every wait, where Playwright's default is not."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            tmp_path / "profile",  # a fresh user-data-dir
            executable_path=str(chromium),
            headless=True,
            args=CHROMIUM_ARGS,
            viewport=viewport,
        )
        if timeout_ms is not None:
            context.set_default_timeout(timeout_ms)
        try:
            yield context.new_page()
        finally:
            context.close()
