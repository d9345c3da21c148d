"""One uvicorn worker against two, on PostgreSQL (issue 9).

Two services run side by side, each on a fresh database of its own: ``serve --workers 1`` and
``serve --workers 2``. The same load drives each in turn, ``--rounds`` rounds alternating one
and two workers, after a warm-up of each; the ratio is the median of the rounds' two/one ratios
(``benchmarks.cases.paired_ratio``):

=========================================================  ====
endpoint                                                   goal
=========================================================  ====
POST /api/v1/classify (CPU only: no database)              1.3×
POST /api/v1/reports, spread over six events (no level)    1.0×
=========================================================  ====

The reports name six events, one per county, opened before the run: the bodies go out in turn,
so that concurrent reports mostly lock different events. They stay below every threshold (no
dispatch). Around each round the CPU time of the service's processes, of every PostgreSQL
server process on the machine and of the load generator is read from /proc: on a 2-core machine
shared by the three, their shares say what a second worker can still use.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any, Final

from benchmarks import servers
from benchmarks.cases import CLASSIFY, median_round, paired_ratio
from benchmarks.load import Load, Target, check, driver

WORKERS: Final = (1, 2)
COUNTIES: Final = ("330602", "330603", "330604", "330624", "330681", "330683")
GOALS: Final = {"classify": 1.3, "reports_six_events": 1.0}
LABELS: Final = {
    "classify": "POST /api/v1/classify",
    "reports_six_events": "POST /api/v1/reports (6 events, no level)",
}


def report(region: str, lost: int, event_id: str | None = None) -> dict[str, Any]:
    """A county report: 200 MW before the event, ``lost`` MW lost (below 40%: no level)."""
    snapshot = {"scope": "county", "region": region, "load_mw": 200, "load_lost_mw": lost}
    body: dict[str, Any] = {
        "observed_at": "2026-07-20T14:05:00+08:00",
        "cause": "typhoon",
        "snapshots": [snapshot],
    }
    return body | ({"event_id": event_id} if event_id else {})


def targets(url: str, auth: dict[str, str]) -> dict[str, Target]:
    """Open the six events on the service at ``url``; the targets that drive it."""
    events = [
        check(url, Target("POST", "/api/v1/reports", 201, report(c, 30), auth)).json()["event_id"]
        for c in COUNTIES
    ]
    bodies = tuple(
        report(county, lost, event_id)
        for lost in (40, 50, 60)
        for county, event_id in zip(COUNTIES, events, strict=True)
    )
    return {
        "classify": Target("POST", "/api/v1/classify", 200, CLASSIFY, auth, {"level": "IV"}),
        "reports_six_events": Target(
            "POST", "/api/v1/reports", 201, headers=auth, bodies=bodies, expect={"level": None}
        ),
    }


def cpu_shares(
    before: dict[str, float], after: dict[str, float], seconds: float
) -> dict[str, float]:
    """CPU used between two readings, in cores (1.0: one core busy the whole time)."""
    return {k: round((after[k] - before[k]) / seconds, 2) if seconds else 0.0 for k in after}


def scaling_json(
    name: str, loads: dict[int, list[Load]], cpu: dict[int, list[dict[str, float]]]
) -> dict[str, Any]:
    """One endpoint measured on one and on two workers: each side's median round with every
    round's req/s and the median CPU shares, and the median of the rounds' two/one ratios."""
    ratio = paired_ratio(loads[2], loads[1])

    def side(workers: int) -> dict[str, Any]:
        shares = {k: statistics.median(c[k] for c in cpu[workers]) for k in cpu[workers][0]}
        return {
            **median_round(loads[workers]).as_json(),
            "errors": sum(load.errors for load in loads[workers]),
            "rounds": [round(load.rps, 1) for load in loads[workers]],
            "cpu_cores": {k: round(v, 2) for k, v in shares.items()},
        }

    return {
        "name": name,
        "label": LABELS[name],
        "one_worker": side(1),
        "two_workers": side(2),
        "ratio": round(ratio, 3),
        "goal": GOALS[name],
        "meets_goal": ratio >= GOALS[name],
    }


def measure_scaling(database_urls: dict[int, str], args: argparse.Namespace) -> dict[str, Any]:
    """``database_urls``: a fresh database for each worker count."""
    drive = driver(args.generator)
    with (
        tempfile.TemporaryDirectory(prefix="outage-scaling-") as folder,
        contextlib.ExitStack() as running,
    ):
        work = Path(folder)
        base: dict[int, str] = {}
        pids: dict[int, int] = {}
        side_targets: dict[int, dict[str, Target]] = {}
        for workers in WORKERS:
            env = {
                **os.environ,
                "OUTAGE_DATABASE_URL": database_urls[workers],
                "OUTAGE_VAR_DIR": str(work / str(workers)),
            }
            started = servers.start_service(running, env, work / f"service-{workers}.log", workers)
            base[workers] = started.url
            pids[workers] = started.pid
            side_targets[workers] = targets(started.url, started.dispatcher)
        found = []
        for name in GOALS:
            loads: dict[int, list[Load]] = {w: [] for w in WORKERS}
            cpu: dict[int, list[dict[str, float]]] = {w: [] for w in WORKERS}
            for workers in WORKERS:
                if args.warmup > 0:
                    drive(base[workers], side_targets[workers][name], args, args.warmup)
            for _round in range(args.rounds):
                for workers in WORKERS:
                    before, start = servers.cpu_seconds(pids[workers]), time.monotonic()
                    loads[workers].append(
                        drive(base[workers], side_targets[workers][name], args, args.duration)
                    )
                    after = servers.cpu_seconds(pids[workers])
                    cpu[workers].append(cpu_shares(before, after, time.monotonic() - start))
            found.append(scaling_json(name, loads, cpu))
    return {"status": "ok", "pairs": found}
