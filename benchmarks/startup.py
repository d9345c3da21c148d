"""How soon ``serve --workers 2`` answers on a busy machine, and whether its workers survive the
start (PostgreSQL; in ``make bench``, or alone: ``python -m benchmarks.startup``).

The service is started ``--rounds`` times in each of three cases, on one migrated database, the
cases alternating within each round (so that a slow spell of this shared machine falls on all):

=========================  ==============================================================  =====
case                       machine and the workers' timeout                                goal
=========================  ==============================================================  =====
idle                       nothing else started; as shipped (OUTAGE_WORKER_HEALTHCHECK_    none
                           SECONDS, 60 s)
busy, 5 s timeout          two CPU-bound processes per core spinning through the start;    none
                           a worker silent for 5 s is killed (uvicorn's own health check,
                           what the service had before it set its own)
busy                       the same load; as shipped                                       10 s
=========================  ==============================================================  =====

Each start is timed from the ``serve`` command's launch to the first 200 from ``/healthz``
(``first answer``) and to both workers' "Application startup complete" (``all up``); a worker
the supervisor killed or that died meanwhile (gunicorn logs "WORKER TIMEOUT", "exited with
code" or, for a SIGKILL from elsewhere, "Perhaps out of memory?") is counted. Shown: the median
of the rounds, the most killed in one start, and the busy starts' ratio to the idle ones
measured in the same run. Goal: the busy start as
shipped answers within 10 s and no worker is killed.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

import httpx

from benchmarks import servers
from benchmarks.load import BenchError

WORKERS: Final = 2
CASES: Final = {
    "idle": {"busy": False, "healthcheck": None},
    "busy_short_timeout": {"busy": True, "healthcheck": 5},
    "busy": {"busy": True, "healthcheck": None},
}
LABELS: Final = {
    "idle": "idle machine, as shipped",
    "busy_short_timeout": "busy machine, a 5 s worker timeout",
    "busy": "busy machine, as shipped",
}
GOAL_SECONDS: Final = 10.0
# How long a start may take before the round gives up on it.
START_LIMIT: Final = 120.0
# How long the service is left running after both workers are up, for a late kill to show.
SETTLE_SECONDS: Final = 2.0
HOGS_PER_CPU: Final = 2
KILLED_MARKS: Final = (b"WORKER TIMEOUT", b"exited with code", b"Perhaps out of memory")


@contextlib.contextmanager
def busy_machine(busy: bool) -> Iterator[None]:
    """``HOGS_PER_CPU`` spinning processes per core while the block runs (none if not busy)."""
    hogs = []
    if busy:
        count = HOGS_PER_CPU * (os.cpu_count() or 1)
        hogs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(count)]
    try:
        yield
    finally:
        for hog in hogs:
            hog.kill()
            hog.wait()


def one_start(env: dict[str, str], log: Path) -> dict[str, float | int]:
    """Start ``serve --workers 2``; the seconds to its first answer and to all workers up, and
    the workers killed meanwhile."""
    port = servers.free_port()
    url = f"http://127.0.0.1:{port}/healthz"
    started = time.monotonic()
    first: float | None = None
    with servers.server(servers.service_command(port, WORKERS), env, log) as process:
        while True:
            now = time.monotonic() - started
            if process.poll() is not None or now > START_LIMIT:
                raise BenchError(f"serve did not come up:\n{servers.tail(log)}")
            if first is None:
                with contextlib.suppress(httpx.TransportError):
                    if httpx.get(url, timeout=2, trust_env=False).status_code == 200:
                        first = now
            said = log.read_bytes()
            if first is not None and said.count(b"Application startup complete") >= WORKERS:
                up = now
                break
            time.sleep(0.05)
        time.sleep(SETTLE_SECONDS)
        said = log.read_bytes()
    return {
        "first_answer_s": round(first, 2),
        "all_up_s": round(up, 2),
        "killed": sum(said.count(mark) for mark in KILLED_MARKS),
    }


def measure_startup(database_url: str, rounds: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="outage-bench-start-") as folder:
        work = Path(folder)
        base = {
            **os.environ,
            "OUTAGE_DATABASE_URL": database_url,
            "OUTAGE_VAR_DIR": str(work / "var"),
        }
        servers.cli("db", "upgrade", env=base)
        runs: dict[str, list[dict[str, float | int]]] = {case: [] for case in CASES}
        for round_ in range(rounds):
            for case, how in CASES.items():
                env = dict(base)
                if how["healthcheck"] is not None:
                    env["OUTAGE_WORKER_HEALTHCHECK_SECONDS"] = str(how["healthcheck"])
                with busy_machine(bool(how["busy"])):
                    log = work / f"{case}-{round_}.log"
                    runs[case].append(one_start(env, log))
    return startup_json(runs)


def startup_json(runs: dict[str, list[dict[str, float | int]]]) -> dict[str, Any]:
    """Each case's median start, its workers killed (most in one start, and in all), and its
    first answer's ratio to the idle case's; the goal met or not."""
    found: dict[str, Any] = {
        "status": "ok",
        "rounds": len(runs["idle"]),
        "hogs_per_cpu": HOGS_PER_CPU,
    }
    for case, done in runs.items():
        found[case] = {
            "first_answer_s": statistics.median(r["first_answer_s"] for r in done),
            "all_up_s": statistics.median(r["all_up_s"] for r in done),
            "killed_max": max(r["killed"] for r in done),
            "killed_total": sum(r["killed"] for r in done),
            "runs": done,
        }
    idle = found["idle"]["first_answer_s"]
    for case in runs:
        found[case]["ratio_to_idle"] = round(found[case]["first_answer_s"] / idle, 2)
    shipped = found["busy"]
    found["meets_goal"] = shipped["first_answer_s"] <= GOAL_SECONDS and shipped["killed_max"] == 0
    return found


def startup_table(results: dict[str, dict[str, Any]]) -> str:
    """The start figures of each backend that measured them."""
    lines = []
    for backend, found in results.items():
        start = found.get("startup")
        if not start or start.get("status") != "ok":
            continue
        lines.append(
            f"{backend}: serve --workers {WORKERS} from launch, median of {start['rounds']} "
            f"start(s); busy = {start['hogs_per_cpu']} spinning processes per core"
        )
        lines.append(f"  {'case':<44}{'first answer':>14}{'all up':>10}{'killed':>8}{'vs idle':>9}")
        for case, label in LABELS.items():
            row = start[case]
            lines.append(
                f"  {label:<44}{row['first_answer_s']:>12.2f} s{row['all_up_s']:>8.2f} s"
                f"{row['killed_total']:>8}{row['ratio_to_idle']:>8.2f}×"
            )
        verdict = "met" if start["meets_goal"] else "MISSED"
        lines.append(
            f"  goal: busy, as shipped, first answer ≤ {GOAL_SECONDS:.0f} s and no worker "
            f"killed: {verdict}"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    options = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    options.add_argument("--rounds", type=int, default=3)
    options.add_argument(
        "--postgres-url", default="postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
    )
    given = options.parse_args()
    with servers.postgres_database(given.postgres_url) as url:
        print(startup_table({"postgres": {"startup": measure_startup(url, given.rounds)}}))
