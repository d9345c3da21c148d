"""Starting and stopping what is measured: the service, the bare app, scratch databases, RSS."""

from __future__ import annotations

import asyncio
import contextlib
import os
import resource
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Final

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


def service_command(port: int, workers: int = 1) -> list[str]:
    """``outage-coordinator serve``; as it ships, with one uvicorn worker."""
    script = str(Path(sys.executable).with_name("outage-coordinator"))
    return [script, "serve", "--port", str(port), "--workers", str(workers)]


@dataclass(frozen=True)
class Started:
    """A migrated service serving at ``url``, its supervisor's ``pid`` and a dispatcher's
    Authorization header."""

    url: str
    pid: int
    dispatcher: dict[str, str]


def start_service(
    running: contextlib.ExitStack, env: dict[str, str], log: Path, workers: int = 1
) -> Started:
    """``db upgrade``, a dispatcher token, then ``serve`` on a free port until ``running``
    closes; returns once /healthz answers."""
    cli("db", "upgrade", env=env)
    token = new_token(env, "dispatcher")
    port = free_port()
    process = running.enter_context(server(service_command(port, workers), env, log))
    url = f"http://127.0.0.1:{port}"
    wait_ready(url + "/healthz", process, log)
    return Started(url, process.pid, {"Authorization": f"Bearer {token}"})


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


def _stats() -> dict[int, list[str]]:
    """Every process's /proc/PID/stat fields after the command name (field 3 onwards)."""
    found: dict[int, list[str]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError):
                found[int(entry.name)] = (entry / "stat").read_text().rsplit(")", 1)[1].split()
    return found


def _tree(pid: int, stats: dict[int, list[str]]) -> list[int]:
    """``pid`` and its descendants (uvicorn's workers, if any)."""
    children: dict[int, list[int]] = {}
    for child, fields in stats.items():
        children.setdefault(int(fields[1]), []).append(child)
    tree, todo = [], [pid]
    while todo:
        current = todo.pop()
        tree.append(current)
        todo += children.get(current, [])
    return tree


def peak_rss_kib(pid: int) -> int:
    """VmHWM of ``pid`` and its descendants (uvicorn's workers, if any), summed."""
    total = 0
    for current in _tree(pid, _stats()):
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{current}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    total += int(line.split()[1])
    return total


TICK: Final = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> dict[str, float]:
    """CPU time used so far (user + system) by ``pid``'s process tree (``service``), by every
    PostgreSQL server process on this machine (``postgres``, other clients' included), by this
    process's finished children, such as ``wrk`` (``generator``), and by the whole machine
    (``machine``: what else ran shows as the difference)."""
    stats = _stats()

    def used(fields: list[str]) -> float:
        return (int(fields[11]) + int(fields[12])) / TICK

    postgres = 0.0
    for pid_, fields in stats.items():
        with contextlib.suppress(OSError):
            if Path(f"/proc/{pid_}/comm").read_text().strip() == "postgres":
                postgres += used(fields)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {
        "service": sum(used(stats[p]) for p in _tree(pid, stats) if p in stats),
        "postgres": postgres,
        "generator": children.ru_utime + children.ru_stime,
        "machine": _machine_busy(),
    }


def _machine_busy() -> float:
    """Seconds of CPU all cores spent busy since boot (/proc/stat: all but idle and iowait)."""
    ticks = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = ticks
    return (user + nice + system + irq + softirq + steal) / TICK


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


def new_tokens(env: dict[str, str], specs: dict[str, tuple[str, ...]]) -> dict[str, dict[str, str]]:
    """Tokens by name, made in parallel (each ``tokens create`` is an interpreter start), as
    Authorization headers; ``specs``: name → role and scope options."""
    with ThreadPoolExecutor(max_workers=len(specs) or 1) as pool:
        made = list(pool.map(lambda spec: new_token(env, *spec), specs.values()))
    return {name: {"Authorization": f"Bearer {t}"} for name, t in zip(specs, made, strict=True)}


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
