"""Starting and stopping what is measured: the service, the bare app, scratch databases, RSS."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import asyncpg  # type: ignore[import-untyped]
import httpx
from sqlalchemy.engine import make_url

from benchmarks.load import BenchError

ROOT = Path(__file__).resolve().parent.parent
# Errors that mean "no PostgreSQL server to use here": the backend is skipped, not failed.
PG_UNREACHABLE = (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextlib.contextmanager
def server(command: list[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """Run ``command`` in its own process group; stop the group however the block ends."""
    with log.open("wb") as out:
        process = subprocess.Popen(
            command, env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        yield process
    finally:
        stop(process)


def stop(process: subprocess.Popen[bytes]) -> None:
    for sig, grace in ((signal.SIGTERM, 10.0), (signal.SIGKILL, 5.0)):
        if process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(grace)


def service_command(port: int) -> list[str]:
    """The service as it ships: ``outage-coordinator serve``, one uvicorn worker."""
    return [str(Path(sys.executable).with_name("outage-coordinator")), "serve", "--port", str(port)]


def bare_command(port: int) -> list[str]:
    return [
        sys.executable,
        "-m",
        "uvicorn",
        "--factory",
        "benchmarks.bare_app:create_app",
        "--port",
        str(port),
        "--log-level",
        "warning",
    ]


def wait_ready(url: str, process: subprocess.Popen[bytes], log: Path, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise BenchError(f"{url} exited ({process.returncode}):\n{tail(log)}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=2, trust_env=False).status_code == 200:
                return
        time.sleep(0.2)
    raise BenchError(f"{url} not ready after {seconds:.0f} s:\n{tail(log)}")


def tail(log: Path, lines: int = 20) -> str:
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])


def peak_rss_kib(pid: int) -> int:
    """VmHWM of ``pid`` and its descendants (uvicorn's workers, if any), summed."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):
                stat = (entry / "stat").read_text()
                parent = int(stat.rsplit(")", 1)[1].split()[1])
                children.setdefault(parent, []).append(int(entry.name))
    total, todo = 0, [pid]
    while todo:
        current = todo.pop()
        todo += children.get(current, [])
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{current}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    total += int(line.split()[1])
    return total


def cli(*words: str, env: dict[str, str]) -> str:
    """Run ``outage-coordinator WORDS…``; its standard output."""
    script = Path(sys.executable).with_name("outage-coordinator")
    command = [str(script) if script.exists() else "outage-coordinator", *words]
    done = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise BenchError(f"{' '.join(command)} failed: {done.stderr.strip()}")
    return done.stdout


def new_token(env: dict[str, str], role: str, *scope: str) -> str:
    """A token made with ``outage-coordinator tokens create`` (printed alone on the last line)."""
    out = cli("tokens", "create", "--role", role, "--name", "bench", *scope, env=env)
    return out.strip().splitlines()[-1]


async def _pg_execute(dsn: str, sql: str) -> None:
    connection = await asyncpg.connect(dsn, timeout=5)
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


@contextlib.contextmanager
def postgres_database(server_url: str) -> Iterator[str]:
    """A fresh database on the server of ``server_url``, dropped after; its asyncpg URL.

    Raises one of ``PG_UNREACHABLE`` when the database cannot be made.
    """
    base = make_url(server_url)
    admin = base.set(drivername="postgresql").render_as_string(hide_password=False)
    database = f"outage_bench_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    asyncio.run(_pg_execute(admin, f'CREATE DATABASE "{database}"'))
    try:
        url = base.set(drivername="postgresql+asyncpg", database=database)
        yield url.render_as_string(hide_password=False)
    finally:
        asyncio.run(_pg_execute(admin, f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
