"""Two workers at once (``serve --workers 2``: gunicorn's supervisor forking uvicorn workers),
on SQLite and PostgreSQL: concurrent reports on one event lose nothing that was acknowledged
with a 201; each worker answers with the service's HTTP protocol and logs through its handler;
a worker silent past the timeout is replaced."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
from collections.abc import Iterator
from contextlib import suppress
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from models import EventGrid, Report, TimelineEntry
from service.config import Settings
from service.flows.context import AppContext
from tests.helpers import (
    MakeToken,
    cli,
    cli_tokens,
    county,
    report,
    serve,
    service_env,
)

pytestmark = pytest.mark.process

# How long the supervisor may take to replace a worker stopped past a 3 s timeout: the timeout,
# a SIGABRT the stopped worker cannot act on, a SIGKILL a second later, the fork. Less than
# gunicorn's own 30 s, so that a timeout left at gunicorn's default fails the test.
REPLACED_SECONDS = 25
# How long a supervisor stopped alone may take to end: less than the 30 s gunicorn grants the
# workers before it kills them, so that workers killed rather than stopped fail the test.
STOP_SECONDS = 25


@pytest.fixture
def two_workers(settings: Settings, context: AppContext, tmp_path: Path) -> Iterator[str]:
    """``serve --workers 2`` on the test's own (migrated) database; its URL."""
    env = service_env(settings.database_url, settings.var_dir, escalation_interval_seconds="0")
    with serve(env, workers=2, log=tmp_path / "serve.log", upgrade=False) as service:
        yield service.url


async def test_concurrent_reports_across_two_workers(
    two_workers: str, make_token: MakeToken, context: AppContext
) -> None:
    dispatcher = await make_token("dispatcher")
    async with httpx.AsyncClient(base_url=two_workers, timeout=30) as client:
        first = await client.post(
            "/api/v1/reports", json=report(county("330603", 200, 10)), headers=dispatcher
        )
        assert first.status_code == 201
        event_id = first.json()["event_id"]
        bodies = [
            report(county("330603", 200, 10 + 2 * minute), minutes=minute, event_id=event_id)
            for minute in range(1, 41)
        ]
        answers = await asyncio.gather(
            *(client.post("/api/v1/reports", json=b, headers=dispatcher) for b in bodies)
        )
    assert sorted({a.status_code for a in answers}) == [201]
    async with context.sessions() as session:
        reports = await session.scalar(select(func.count()).select_from(Report))
        grid = await session.scalar(select(EventGrid).where(EventGrid.region == "330603"))
        started = await session.scalar(
            select(func.count())
            .select_from(TimelineEntry)
            .where(TimelineEntry.kind == "response_started")
        )
    assert reports == 41
    assert grid is not None and grid.load_lost_mw == 90  # the latest observation wins
    assert grid.peak_load_lost_mw == 90
    # 40% (level IV) is reached at minute 35: the response starts once, whatever the order
    assert started == 1


def test_two_workers_keep_the_service_protocol_and_log_every_line_as_json(tmp_path: Path) -> None:
    """The forked workers run the service's HTTP protocol (a head over the limit is answered
    431 in problem+json by the server itself) and every line, gunicorn's, uvicorn's and the
    access log's, comes out as JSON through the service's one handler."""
    env = service_env(
        f"sqlite+aiosqlite:///{tmp_path / 'protocol.db'}",
        tmp_path / "var",
        escalation_interval_seconds="0",
        delivery_interval_seconds="0",
        access_log="true",
    )
    cli(env, "db", "upgrade")
    cli_tokens(env, {"城调": ["--role", "dispatcher"]})  # no bootstrap token printed
    with serve(env, workers=2, log=tmp_path / "serve.log", upgrade=False) as service:
        with httpx.Client(base_url=service.url, timeout=30, trust_env=False) as client:
            huge = client.get("/healthz", headers={"X-Padding": "x" * 20_000})
            healthy = [client.get("/healthz").status_code for _ in range(4)]
        log = service.log_text()
    assert huge.status_code == 431, huge.text
    assert huge.headers["content-type"] == "application/problem+json"
    assert healthy == [200] * 4
    lines = [json.loads(line) for line in log.splitlines() if line.strip()]
    loggers = {line.get("logger") for line in lines}
    assert {"gunicorn.error", "uvicorn.error", "uvicorn.access"} <= loggers, loggers


def test_every_metrics_file_of_forked_workers_is_reserved_whole(tmp_path: Path) -> None:
    """The supervisor made the metrics before it forked: each worker still counts in files of
    its own pid that it reserved whole (a sparse page first touched on a full disk is a
    SIGBUS), and the supervisor, which answers nothing, has no series in the scrape."""
    env = service_env(
        f"sqlite+aiosqlite:///{tmp_path / 'files.db'}",
        tmp_path / "var",
        escalation_interval_seconds="0",
        delivery_interval_seconds="0",
    )
    with serve(env, workers=2, log=tmp_path / "serve.log") as service:
        for _ in range(8):  # a connection each, taken by either worker
            assert httpx.get(f"{service.url}/healthz", timeout=30).status_code == 200
        scrape = httpx.get(f"{service.url}/metrics", timeout=30).text
        workers = service.worker_pids()
        files = {p.name: p.stat() for p in (tmp_path / "var" / "metrics").glob("*.db")}
    for pid in workers:
        assert f"counter_{pid}.db" in files, sorted(files)
    for name, stat in files.items():
        assert stat.st_blocks * 512 >= stat.st_size, f"{name} is sparse"
    assert f'pid="{service.process.pid}"' not in scrape
    assert any(f'pid="{pid}"' in scrape for pid in workers)


def test_a_worker_silent_past_the_timeout_is_replaced(tmp_path: Path) -> None:
    """``OUTAGE_WORKER_HEALTHCHECK_SECONDS`` is the supervisor's worker timeout: a worker
    stopped (SIGSTOP) past it is killed and a new one forked; the service answers on."""
    env = service_env(
        f"sqlite+aiosqlite:///{tmp_path / 'timeout.db'}",
        tmp_path / "var",
        escalation_interval_seconds="0",
        delivery_interval_seconds="0",
        worker_healthcheck_seconds="3",
    )
    with serve(env, workers=2, log=tmp_path / "serve.log") as service:
        first = service.worker_pids()
        assert len(first) == 2, first
        silent = first[0]
        os.kill(silent, signal.SIGSTOP)
        try:
            deadline = time.monotonic() + REPLACED_SECONDS
            while silent in service.worker_pids() or len(service.worker_pids()) < 2:
                assert time.monotonic() < deadline, f"{silent} not replaced: {service.log_tail()}"
                time.sleep(0.2)
        finally:
            with suppress(ProcessLookupError):
                os.kill(silent, signal.SIGCONT)
        assert httpx.get(f"{service.url}/healthz", timeout=30).status_code == 200
        assert "WORKER TIMEOUT" in service.log_text()


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_the_supervisor_stopped_alone_stops_each_worker_cleanly(
    tmp_path: Path, stop: signal.Signals
) -> None:
    """``kill -TERM`` or ``kill -INT`` of the supervisor alone (not its process group, as Ctrl-C
    would): each worker runs its application's shutdown, none is killed. On SIGINT gunicorn
    asks the workers with a SIGQUIT that uvicorn's server alone would not heed."""
    env = service_env(
        f"sqlite+aiosqlite:///{tmp_path / 'stop.db'}",
        tmp_path / "var",
        escalation_interval_seconds="0",
        delivery_interval_seconds="0",
    )
    with serve(env, workers=2, log=tmp_path / "serve.log") as service:
        started = service.log_text()
        os.kill(service.process.pid, stop)
        assert service.process.wait(timeout=STOP_SECONDS) == 0
        said = service.log_text()[len(started) :]
    assert said.count("Application shutdown complete") == 2, said
    assert "SIGKILL" not in said, said
