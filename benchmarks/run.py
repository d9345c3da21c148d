"""``make bench``: the service against a bare FastAPI app, on SQLite and on PostgreSQL.

For each backend the service is migrated, given a dispatcher token and started as it ships
(``outage-coordinator serve``, one uvicorn worker); ``benchmarks.bare_app`` runs beside it with
one uvicorn worker on the same kind of database. One load generator drives both, one endpoint
at a time, with the same connections and duration:

==========================  ==================  ====
service                     bare app            goal
==========================  ==================  ====
POST /api/v1/reports        POST /insert        0.5×
POST /api/v1/classify       POST /echo          0.7×
==========================  ==================  ====

Every report opens a new event (no ``event_id``). The table shows requests/s, p99 latency, the
service/bare ratio and the service's peak RSS (VmHWM, summed over its processes); the same
figures go to ``benchmarks/results/latest.json``.

The load generator is ``wrk`` (Debian: ``apt-get install wrk``) when it is on the PATH, else a
built-in one (asyncio + httpx in a pool of processes). On this 2-core machine the built-in one
costs far more CPU per request than wrk and may saturate before the bare app does, which lifts
the ratios: prefer wrk for figures to compare. PostgreSQL is found at ``--postgres-url``
(default ``OUTAGE_TEST_DATABASE_URL`` or the local server); the run makes a fresh database there
and drops it after, and skips that backend with a message when the server is unreachable.

    .venv/bin/python -m benchmarks.run --duration 10 --concurrency 8
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import httpx
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results" / "latest.json"
DEFAULT_PG = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"

SNAPSHOTS = [{"scope": "county", "region": "330603", "load_mw": 151.0, "load_lost_mw": 60.4}]
# No event_id: every report opens a new event. 柯桥区 loses 40%: level IV, a response starts.
REPORT = {"observed_at": "2026-07-20T14:05:00+08:00", "cause": "typhoon", "snapshots": SNAPSHOTS}
CLASSIFY = {"snapshots": SNAPSHOTS}


@dataclass(frozen=True)
class Target:
    path: str
    body: dict[str, Any]
    status: int
    auth: bool = False

    @property
    def label(self) -> str:
        return f"POST {self.path}"


@dataclass(frozen=True)
class Pair:
    name: str
    service: Target
    bare: Target
    goal: float


PAIRS = (
    Pair(
        "reports",
        Target("/api/v1/reports", REPORT, 201, auth=True),
        Target("/insert", REPORT, 201),
        0.5,
    ),
    Pair(
        "classify",
        Target("/api/v1/classify", CLASSIFY, 200, auth=True),
        Target("/echo", CLASSIFY, 200),
        0.7,
    ),
)


@dataclass(frozen=True)
class Load:
    """What one load run measured; errors are HTTP ≥ 400 plus socket errors and timeouts."""

    requests: int
    errors: int
    seconds: float
    p50_ms: float
    p99_ms: float

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def as_json(self) -> dict[str, Any]:
        return {**asdict(self), "rps": round(self.rps, 1)}


class BenchError(RuntimeError):
    """The benchmark could not run as set up (a server died, a request was refused, …)."""


# --- load generators ------------------------------------------------------------------------

WRK_SCRIPT = """
wrk.method = "POST"
wrk.body = [==[{body}]==]
wrk.headers["Content-Type"] = "application/json"
{auth}
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {{"requests": %d, "us": %d, "status": %d, "socket": %d, "p50": %d, "p99": %d}}\\n',
    summary.requests, summary.duration, e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
"""


def run_wrk(url: str, target: Target, token: str, args: argparse.Namespace, seconds: int) -> Load:
    auth = f'wrk.headers["Authorization"] = "Bearer {token}"' if target.auth else ""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(WRK_SCRIPT.format(body=json.dumps(target.body), auth=auth))
    try:
        command = [
            "wrk",
            f"-t{min(args.threads, args.concurrency)}",
            f"-c{args.concurrency}",
            f"-d{seconds}s",
            "--timeout",
            "10s",
            "-s",
            script.name,
            url + target.path,
        ]
        out = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60)
    finally:
        os.unlink(script.name)
    line = next((x for x in out.stdout.splitlines() if x.startswith("WRK_JSON ")), None)
    if out.returncode != 0 or line is None:
        raise BenchError(f"wrk failed ({out.returncode}): {out.stderr.strip() or out.stdout}")
    found = json.loads(line.removeprefix("WRK_JSON "))
    return Load(
        requests=found["requests"],
        errors=found["status"] + found["socket"],
        seconds=found["us"] / 1e6,
        p50_ms=found["p50"] / 1000,
        p99_ms=found["p99"] / 1000,
    )


async def _drive(
    url: str, body: bytes, headers: dict[str, str], connections: int, seconds: int
) -> tuple[list[float], int, float]:
    latencies: list[float] = []
    errors = 0
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    async with httpx.AsyncClient(limits=limits, timeout=10, trust_env=False) as client:
        start = time.perf_counter()
        deadline = start + seconds

        async def one_connection() -> None:
            nonlocal errors
            while time.perf_counter() < deadline:
                sent = time.perf_counter()
                try:
                    response = await client.post(url, content=body, headers=headers)
                    failed = response.status_code >= 400
                except httpx.HTTPError:
                    failed = True
                latencies.append(time.perf_counter() - sent)
                errors += failed

        await asyncio.gather(*(one_connection() for _ in range(connections)))
        return latencies, errors, time.perf_counter() - start


def _drive_process(
    url: str, body: bytes, headers: dict[str, str], connections: int, seconds: int
) -> tuple[list[float], int, float]:
    return asyncio.run(_drive(url, body, headers, connections, seconds))


def run_python(
    url: str, target: Target, token: str, args: argparse.Namespace, seconds: int
) -> Load:
    processes = max(1, min(args.client_processes, args.concurrency))
    shares = [
        args.concurrency // processes + (i < args.concurrency % processes) for i in range(processes)
    ]
    headers = {"Content-Type": "application/json"}
    if target.auth:
        headers["Authorization"] = f"Bearer {token}"
    body = json.dumps(target.body).encode()
    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=processes, mp_context=spawn) as pool:
        runs = [
            pool.submit(_drive_process, url + target.path, body, headers, share, seconds)
            for share in shares
        ]
        done = [run.result() for run in runs]
    latencies = sorted(x for lat, _, _ in done for x in lat)
    if not latencies:
        raise BenchError(f"no request to {target.label} finished")
    return Load(
        requests=len(latencies),
        errors=sum(errors for _, errors, _ in done),
        seconds=max(elapsed for _, _, elapsed in done),
        p50_ms=latencies[len(latencies) // 2] * 1000,
        p99_ms=latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000,
    )


# --- servers --------------------------------------------------------------------------------


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
    script = Path(sys.executable).with_name("outage-coordinator")
    command = [str(script) if script.exists() else "outage-coordinator", *words]
    done = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise BenchError(f"{' '.join(command)} failed: {done.stderr.strip()}")
    return done.stdout


# --- one backend ----------------------------------------------------------------------------


def check(url: str, target: Target, token: str) -> None:
    """One request first, so that a refusal fails the run instead of being measured."""
    headers = {"Authorization": f"Bearer {token}"} if target.auth else {}
    response = httpx.post(
        url + target.path, json=target.body, headers=headers, timeout=10, trust_env=False
    )
    if response.status_code != target.status:
        raise BenchError(f"{target.label}: {response.status_code} {response.text[:300]}")


def bench_backend(
    name: str, service_url: str, bare_url: str, work: Path, args: argparse.Namespace
) -> dict[str, Any]:
    drive = run_wrk if args.generator == "wrk" else run_python
    env = {**os.environ, "OUTAGE_DATABASE_URL": service_url, "OUTAGE_VAR_DIR": str(work / "var")}
    cli("db", "upgrade", env=env)
    token = cli("tokens", "create", "--role", "dispatcher", "--name", "bench", env=env)
    token = token.strip().splitlines()[-1]
    service_port, bare_port = free_port(), free_port()
    service_cmd = [str(Path(sys.executable).with_name("outage-coordinator")), "serve"]
    bare_cmd = [sys.executable, "-m", "uvicorn", "--factory", "benchmarks.bare_app:create_app"]
    with contextlib.ExitStack() as running:
        service = running.enter_context(
            server([*service_cmd, "--port", str(service_port)], env, work / f"{name}-service.log")
        )
        bare = running.enter_context(
            server(
                [*bare_cmd, "--port", str(bare_port), "--log-level", "warning"],
                {**os.environ, "BENCH_DATABASE_URL": bare_url},
                work / f"{name}-bare.log",
            )
        )
        urls = {
            "service": f"http://127.0.0.1:{service_port}",
            "bare": f"http://127.0.0.1:{bare_port}",
        }
        wait_ready(urls["service"] + "/healthz", service, work / f"{name}-service.log")
        wait_ready(urls["bare"] + "/ready", bare, work / f"{name}-bare.log")
        pairs = []
        for pair in PAIRS:
            measured: dict[str, Load] = {}
            for side, target in (("service", pair.service), ("bare", pair.bare)):
                check(urls[side], target, token)
                if args.warmup > 0:
                    drive(urls[side], target, token, args, args.warmup)
                measured[side] = drive(urls[side], target, token, args, args.duration)
            ratio = measured["service"].rps / measured["bare"].rps if measured["bare"].rps else 0
            pairs.append(
                {
                    "name": pair.name,
                    "service": {"endpoint": pair.service.label, **measured["service"].as_json()},
                    "bare": {"endpoint": pair.bare.label, **measured["bare"].as_json()},
                    "ratio": round(ratio, 3),
                    "goal": pair.goal,
                    "meets_goal": ratio >= pair.goal,
                }
            )
        return {
            "status": "ok",
            "pairs": pairs,
            "service_peak_rss_kib": peak_rss_kib(service.pid),
            "bare_peak_rss_kib": peak_rss_kib(bare.pid),
        }


def bench_sqlite(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="outage-bench-") as folder:
        work = Path(folder)
        return bench_backend(
            "sqlite",
            f"sqlite+aiosqlite:///{work / 'service.db'}",
            f"sqlite+aiosqlite:///{work / 'bare.db'}",
            work,
            args,
        )


async def _pg_execute(dsn: str, sql: str) -> None:
    connection = await asyncpg.connect(dsn, timeout=5)
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


def bench_postgres(args: argparse.Namespace) -> dict[str, Any]:
    base = make_url(args.postgres_url)
    admin = base.set(drivername="postgresql").render_as_string(hide_password=False)
    database = f"outage_bench_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    try:
        asyncio.run(_pg_execute(admin, f'CREATE DATABASE "{database}"'))
    except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        return {"status": "skipped", "reason": f"PostgreSQL unreachable: {exc}"}
    url = base.set(drivername="postgresql+asyncpg", database=database)
    rendered = url.render_as_string(hide_password=False)
    try:
        with tempfile.TemporaryDirectory(prefix="outage-bench-") as folder:
            # One database for both: the bare app's one table stands beside the service's.
            return bench_backend("postgres", rendered, rendered, Path(folder), args)
    finally:
        asyncio.run(_pg_execute(admin, f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))


# --- output ---------------------------------------------------------------------------------


def table(results: dict[str, dict[str, Any]]) -> str:
    head = (
        f"{'backend':<9}{'service':<23}{'req/s':>8}{'p99 ms':>8}   {'bare':<14}"
        f"{'req/s':>8}{'p99 ms':>8}{'ratio':>7}{'goal':>7}  result"
    )
    lines = [head, "-" * len(head)]
    for backend, found in results.items():
        if found["status"] != "ok":
            lines.append(f"{backend:<9}{found['status']}: {found['reason'].splitlines()[0]}")
            continue
        for pair in found["pairs"]:
            s, b = pair["service"], pair["bare"]
            errors = s["errors"] + b["errors"]
            verdict = "ok" if pair["meets_goal"] else "MISSED"
            lines.append(
                f"{backend:<9}{s['endpoint']:<23}{s['rps']:>8.0f}{s['p99_ms']:>8.1f}   "
                f"{b['endpoint']:<14}{b['rps']:>8.0f}{b['p99_ms']:>8.1f}{pair['ratio']:>7.2f}"
                f"{'≥' + format(pair['goal'], '.1f'):>7}  {verdict}"
                + (f" ({errors} errors)" if errors else "")
            )
        lines.append(
            f"{'':<9}service peak RSS {found['service_peak_rss_kib'] / 1024:.1f} MiB "
            f"(bare app {found['bare_peak_rss_kib'] / 1024:.1f} MiB)"
        )
    return "\n".join(lines)


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.run", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--duration", type=int, default=5, help="seconds per endpoint (5)")
    parser.add_argument("--warmup", type=int, default=1, help="unmeasured seconds first (1)")
    parser.add_argument("--concurrency", type=int, default=8, help="open connections (8)")
    parser.add_argument("--threads", type=int, default=1, help="wrk threads (1)")
    parser.add_argument(
        "--client-processes", type=int, default=2, help="processes of the built-in generator (2)"
    )
    parser.add_argument(
        "--generator", choices=["auto", "wrk", "python"], default="auto", help="auto: wrk if found"
    )
    parser.add_argument("--backends", default="sqlite,postgres", help="sqlite,postgres")
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("OUTAGE_TEST_DATABASE_URL", DEFAULT_PG),
        help="a server where a scratch database may be made",
    )
    parser.add_argument("--output", type=Path, default=RESULTS, help="JSON results file")
    parser.add_argument("--check", action="store_true", help="exit 1 when a goal is missed")
    args = parser.parse_args(argv)
    if args.generator == "auto":
        args.generator = "wrk" if shutil.which("wrk") else "python"
    if args.generator == "wrk" and not shutil.which("wrk"):
        parser.error("wrk is not on the PATH (Debian: apt-get install wrk)")
    if args.concurrency < 1 or args.duration <= 0:
        parser.error("--concurrency and --duration must be positive")
    return args


def _terminate(signum: int, _frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)  # unwinds the with-blocks, so every server is stopped


def source_version() -> str:
    """The commit measured, marked ``+dirty`` when the work tree differs from it."""
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        git = ["git", "-C", str(ROOT)]
        head = subprocess.run(
            [*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True
        )
        dirty = subprocess.run([*git, "status", "--porcelain"], capture_output=True, text=True)
        if head.returncode == 0:
            return head.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")
    return "unknown"


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    signal.signal(signal.SIGTERM, _terminate)
    runners = {"sqlite": bench_sqlite, "postgres": bench_postgres}
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    if unknown := set(backends) - set(runners):
        raise SystemExit(f"unknown backend(s): {', '.join(sorted(unknown))}")
    generator = "wrk" if args.generator == "wrk" else f"asyncio+httpx ×{args.client_processes}"
    print(
        f"load: {generator}, {args.concurrency} connections, {args.duration} s per endpoint "
        f"after {args.warmup} s warm-up; {os.cpu_count()} CPUs",
        flush=True,
    )
    results: dict[str, dict[str, Any]] = {}
    for backend in backends:
        print(f"{backend}: running …", flush=True)
        try:
            results[backend] = runners[backend](args)
        except BenchError as exc:
            results[backend] = {"status": "failed", "reason": str(exc)}
    print(table(results))
    for backend, found in results.items():
        if found["status"] == "failed":
            print(f"\n{backend} failed:\n{found['reason']}", file=sys.stderr)
    report = {
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "source": source_version(),
        "settings": {
            "generator": args.generator,
            "concurrency": args.concurrency,
            "duration_s": args.duration,
            "warmup_s": args.warmup,
            "wrk_threads": args.threads,
            "client_processes": args.client_processes,
            "outage_env": {
                k: v for k, v in os.environ.items() if k.startswith("OUTAGE_") and "URL" not in k
            },
        },
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "backends": results,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    print(f"results: {args.output}")
    if any(r["status"] == "failed" for r in results.values()):
        return 2
    missed = any(
        not pair["meets_goal"]
        for r in results.values()
        if r["status"] == "ok"
        for pair in r["pairs"]
    )
    return 1 if args.check and missed else 0


if __name__ == "__main__":
    raise SystemExit(main())
