"""Storage trouble with real parts: the service's disk filling up under it (SQLite on a small
tmpfs), PostgreSQL stopped mid-load and started again, and the metrics files that a full disk
used to turn into a SIGBUS.

The tmpfs needs ``mount`` (root, or a user namespace that allows it): elsewhere that test skips
saying so. The PostgreSQL test runs a cluster of its own (initdb, pg_ctl from Debian's
postgresql package), since stopping the machine's shared server would stop every other test.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import glob
import json
import logging
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from service.app import create_app
from service.cli.metric_files import SIZE, file_names
from service.config import Settings
from service.store.migrate import upgrade
from tests.helpers import (
    REPO,
    cli_tokens,
    free_port,
    serve,
    service_env,
    token_headers,
    turn_report,
)

pytestmark = pytest.mark.process

REPORTS = "/api/v1/reports"


def allocated(path: Path) -> int:
    """The bytes of disk ``path`` holds (a sparse file holds fewer than its size)."""
    return path.stat().st_blocks * 512


# --- the metrics files ------------------------------------------------------------------------

EXERCISE = """
import asyncio, json, os, sys
from pathlib import Path
from service.cli.metric_files import reserve_for_this_worker
reserve_for_this_worker()
import httpx
from service.app import create_app
from service.config import Settings

async def main():
    app = create_app(Settings(database_url=sys.argv[1], escalation_interval_seconds=0,
                              delivery_interval_seconds=0, var_dir=Path(sys.argv[2])))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            # every kind of series: a report refused and one not found, the classifier, a scrape
            await client.post("/api/v1/reports", json={})
            await client.get("/no/such/path")
            await client.get("/healthz")
            await client.get("/metrics")
    folder = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])
    print(json.dumps({"pid": os.getpid(), "files": {
        p.name: [p.stat().st_size, p.stat().st_blocks * 512,
                 int.from_bytes(p.read_bytes()[:4], "little")]
        for p in folder.glob("*.db")}}))

asyncio.run(main())
"""


def test_a_workers_metrics_files_are_reserved_whole_before_it_counts(
    tmp_path: Path, sqlite_url: str
) -> None:
    """Every file prometheus-client writes for a worker is one the worker reserved, its blocks
    all allocated (a sparse page first touched on a full disk is a SIGBUS), and the service's
    series fill a small part of it (so the library never grows it)."""
    folder = tmp_path / "metrics"
    folder.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("OUTAGE_")}
    env.update(PROMETHEUS_MULTIPROC_DIR=str(folder), PYTHONPATH=str(REPO))
    done = subprocess.run(
        [sys.executable, "-c", EXERCISE, sqlite_url, str(tmp_path / "var")],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    files = seen["files"]
    assert sorted(files) == sorted(file_names(seen["pid"]))
    for name, (size, blocks, used) in files.items():
        assert size == SIZE, name
        assert blocks >= SIZE, f"{name}: {blocks} of {size} bytes allocated"
        assert used < SIZE // 10, f"{name}: {used} bytes used"


# --- SQLite on a full disk --------------------------------------------------------------------


@contextlib.contextmanager
def small_disk(size_mb: int) -> Iterator[Path]:
    """A tmpfs of ``size_mb`` MB, unmounted afterwards; the test skips where none can be
    mounted."""
    mount = Path(tempfile.mkdtemp(prefix="outage-disk-"))
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size_mb}m,mode=0755", "tmpfs", str(mount)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        mount.rmdir()
        pytest.skip(f"cannot mount a tmpfs here (needs root or CAP_SYS_ADMIN): {done.stderr}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)
        mount.rmdir()


def fill(path: Path) -> None:
    """Write ``path`` until its disk has no room left."""
    chunk = b"\0" * (64 << 10)
    with path.open("wb", buffering=0) as filler:
        while True:
            try:
                filler.write(chunk)
            except OSError as error:
                assert error.errno == errno.ENOSPC, error
                break
    for size in (4096, 512, 1):  # the disk's last pages too
        with path.open("ab", buffering=0) as filler, contextlib.suppress(OSError):
            while True:
                filler.write(b"\0" * size)


def test_a_full_disk_refuses_writes_and_the_service_lives_on(tmp_path: Path) -> None:
    with small_disk(32) as disk:
        var = disk / "var"
        database = disk / "coordinator.db"
        env = service_env(f"sqlite+aiosqlite:///{database}", var, escalation_interval_seconds="1")
        log = tmp_path / "serve.log"
        with serve(env, 1, log) as service, httpx.Client(base_url=service.url, timeout=10) as http:
            dispatcher = cli_tokens(env, {"d": ["--role", "dispatcher", "--region", "330602"]})["d"]
            stored = 0
            for n in range(5):
                assert (
                    http.post(REPORTS, json=turn_report(n), headers=dispatcher).status_code == 201
                )
                stored += 1
            # a lone worker counts in its own memory: no file to map on the full disk
            assert not (var / "metrics").exists()

            fill(disk / "filler")
            statuses = Counter[int]()
            for n in range(5, 15):
                answer = http.post(REPORTS, json=turn_report(n), headers=dispatcher)
                statuses[answer.status_code] += 1
                stored += answer.status_code == 201
                if answer.status_code == 507:
                    refused = answer
            assert set(statuses) <= {201, 507} and statuses[507] > 0, statuses
            assert refused.headers["content-type"] == "application/problem+json"
            assert refused.json()["database"] == "full"
            assert refused.headers["retry-after"] == "60"
            # reads go on; every series of the metrics is touched, none kills the worker
            assert http.get("/api/v1/events", headers=dispatcher).status_code == 200
            health = http.get("/healthz")
            assert (health.status_code, health.json()["database"]) == (507, "full")
            assert http.get("/metrics").status_code == 200
            assert http.get("/no/such/path").status_code == 404
            time.sleep(1.5)  # the jobs' runs meet the full disk too
            assert service.process.poll() is None, service.log_tail()

            (disk / "filler").unlink()
            deadline = time.monotonic() + 10
            while http.get("/healthz").status_code != 200:
                assert time.monotonic() < deadline, "never well again"
                time.sleep(0.1)
            assert http.post(REPORTS, json=turn_report(99), headers=dispatcher).status_code == 201
            stored += 1

        with contextlib.closing(sqlite3.connect(database)) as connection:
            assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
            assert connection.execute("SELECT count(*) FROM reports").fetchone() == (stored,)

    text = log.read_text()
    assert "Traceback" not in text, service.log_tail()
    assert text.count("storage trouble (full) in ") == 1, service.log_tail()
    assert text.count("storage trouble (full) over after ") == 1, service.log_tail()


# --- PostgreSQL stopped and started under load -----------------------------------------------


class Cluster:
    """A PostgreSQL cluster of the test's own, on a free port (run as the postgres user where
    the test runs as root: the server refuses root)."""

    def __init__(self) -> None:
        bins = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
        if not bins:
            if os.environ.get("CI"):
                pytest.fail("PostgreSQL's server programs are missing (apt-get install postgresql)")
            pytest.skip("needs PostgreSQL's server programs: apt-get install postgresql")
        self.bin = Path(bins[-1]).parent
        self.home = Path(tempfile.mkdtemp(prefix="outage-pg-"))
        self.home.chmod(0o755)
        self.data = self.home / "data"
        self.port = free_port()
        self.as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self.as_user:
            shutil.chown(self.home, "postgres", "postgres")

    @property
    def url(self) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/outage"

    def run(self, *words: str) -> None:
        subprocess.run(
            [*self.as_user, *words], check=True, capture_output=True, text=True, timeout=60
        )

    def init(self) -> None:
        self.run(
            str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres", "-A", "trust", "-N"
        )

    def start(self) -> None:
        options = f"-p {self.port} -k {self.home} -c listen_addresses=127.0.0.1 -c fsync=off"
        self.run(
            str(self.bin / "pg_ctl"), "-D", str(self.data), "-o", options,
            "-l", str(self.home / "log"), "-w", "start",
        )  # fmt: skip

    def stop(self) -> None:
        self.run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")

    def remove(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self.stop()
        shutil.rmtree(self.home, ignore_errors=True)


async def _create_database(port: int) -> None:
    connection = await asyncpg.connect(host="127.0.0.1", port=port, user="postgres")
    try:
        await connection.execute("CREATE DATABASE outage")
    finally:
        await connection.close()


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    own = Cluster()
    try:
        own.init()
        own.start()
        asyncio.run(_create_database(own.port))
        upgrade(Settings(database_url=own.url))
        yield own
    finally:
        own.remove()


async def _under_load(cluster: Cluster, var_dir: Path) -> tuple[list[tuple[int, Any]], set[str]]:
    """Eight dispatchers posting reports while the server is stopped for two seconds and
    started again: every answer (status, body), and the reports the database holds after."""
    settings = Settings(
        database_url=cluster.url,
        token_cache_seconds=0,
        escalation_interval_seconds=0,
        delivery_interval_seconds=0,
        var_dir=var_dir,
    )
    app = create_app(settings)
    answers: list[tuple[int, Any]] = []
    async with app.router.lifespan_context(app):
        context = app.state.context
        dispatcher = await token_headers(context, "dispatcher", "调度员", region="330602")
        stop = asyncio.Event()
        transport = httpx.ASGITransport(app=app)

        async def post_until_stopped(client: httpx.AsyncClient, first: int) -> None:
            n = first
            while not stop.is_set():
                answer = await client.post(REPORTS, json=turn_report(n), headers=dispatcher)
                answers.append((answer.status_code, answer.json()))
                n += 1
                if answer.status_code != 201:
                    await asyncio.sleep(0.05)

        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            load = [asyncio.create_task(post_until_stopped(client, i * 10_000)) for i in range(8)]
            await asyncio.sleep(1.0)
            await asyncio.to_thread(cluster.stop)
            await asyncio.sleep(2.0)
            await asyncio.to_thread(cluster.start)
            deadline = time.monotonic() + 20
            while (await client.get("/healthz")).status_code != 200:
                assert time.monotonic() < deadline, "never well again"
                await asyncio.sleep(0.1)
            await asyncio.sleep(1.0)
            stop.set()
            await asyncio.gather(*load)
    connection = await asyncpg.connect(
        host="127.0.0.1", port=cluster.port, user="postgres", database="outage"
    )
    try:
        held = {str(row["id"]) for row in await connection.fetch("SELECT id FROM reports")}
    finally:
        await connection.close()
    return answers, held


def test_postgresql_stopped_mid_load_loses_nothing_acknowledged(
    cluster: Cluster, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    answers, held = asyncio.run(_under_load(cluster, tmp_path / "var"))

    statuses = Counter(status for status, _body in answers)
    assert set(statuses) <= {201, 503}, statuses
    assert statuses[503] > 0, "the load never met the stopped server"
    refused = [body for status, body in answers if status == 503]
    assert {body["database"] for body in refused} == {"unreachable"}
    acknowledged = {body["report_id"] for status, body in answers if status == 201}
    assert acknowledged <= held, f"{len(acknowledged - held)} acknowledged reports lost"
    # after the restart, reports were taken again
    last = [status for status, _body in answers[-16:]]
    assert 201 in last, statuses
    assert not [r.getMessage() for r in caplog.records if r.exc_info], "a traceback was logged"
    lines = [r.getMessage() for r in caplog.records if r.name == "service.store.trouble"]
    assert lines[0].startswith("storage trouble (unreachable) in "), lines
    assert lines[-1].startswith("storage trouble (unreachable) over after "), lines
    assert len(lines) == 2, lines
