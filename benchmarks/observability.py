"""What /metrics and the JSON request logs cost on ``POST /api/v1/classify`` and on
``POST /api/v1/reports``.

Two services side by side, each on a fresh database of its own and with one uvicorn worker:
*observed*, as it ships (every request timed for /metrics, one JSON log line per request written
to its log file), and *quiet*, with ``OUTAGE_METRICS=false`` and ``OUTAGE_REQUEST_LOG=false``.
Classifications, then the same report mix (``benchmarks.scaling``'s: reports spread over six
events, below every threshold), drive each in turn, ``--rounds`` rounds alternating, after a
warm-up of each.

Two figures, each the median over rounds of observed against quiet in the same round: req/s
(``benchmarks.cases.paired_ratio``) and the service's CPU time per request (its process's user +
system time over the round ÷ the requests it answered). The goal, a cost of at most 10%, is
judged on the CPU per request: it is what the two features add to each request, and on a shared
machine it moves far less with what else runs than req/s does (which is shown beside it). After
the rounds the observed service's /metrics must count every report it took.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import tempfile
from pathlib import Path
from typing import Any, Final

import httpx

from benchmarks import servers
from benchmarks.alone import run_alone
from benchmarks.cases import median_round, paired_ratio
from benchmarks.load import BenchError, Driver, Load, Target, driver
from benchmarks.output import observability_table
from benchmarks.scaling import targets

SIDES: Final = {
    "observed": {},
    "quiet": {"OUTAGE_METRICS": "false", "OUTAGE_REQUEST_LOG": "false"},
}
GOAL: Final = 1.10  # CPU per request, observed ÷ quiet
# What is driven, by benchmarks.scaling's target name: the name and label of its figures.
ENDPOINTS: Final = {
    "classify": ("classify_observed", "POST /api/v1/classify"),
    "reports_six_events": ("reports_observed", "POST /api/v1/reports (6 events, no level)"),
}
NAME, LABEL = ENDPOINTS["reports_six_events"]


def observability_json(
    loads: dict[str, list[Load]],
    cpu: dict[str, list[float]],
    received: float | None,
    name: str = NAME,
    label: str = LABEL,
) -> dict[str, Any]:
    """``cpu``: per side, each round's service CPU milliseconds per request; ``received``: the
    reports /metrics counted (None: the endpoint stores none)."""
    ratio = paired_ratio(loads["observed"], loads["quiet"])
    cpu_ratio = statistics.median(
        on / off for on, off in zip(cpu["observed"], cpu["quiet"], strict=True) if off
    )

    def side(name: str) -> dict[str, Any]:
        return {
            **median_round(loads[name]).as_json(),
            "errors": sum(load.errors for load in loads[name]),
            "rounds": [round(load.rps, 1) for load in loads[name]],
            "cpu_ms_per_request": round(statistics.median(cpu[name]), 3),
            "cpu_rounds": [round(ms, 3) for ms in cpu[name]],
        }

    return {
        "name": name,
        "label": label,
        "observed": side("observed"),
        "quiet": side("quiet"),
        "ratio": round(ratio, 3),
        "cpu_ratio": round(cpu_ratio, 3),
        "cost_percent": round((cpu_ratio - 1) * 100, 1),
        "reports_counted": received,
        "goal": GOAL,
        "meets_goal": cpu_ratio <= GOAL,
    }


def reports_received(url: str) -> float:
    """``outage_reports_received_total`` as the service's /metrics says it."""
    for line in httpx.get(f"{url}/metrics", timeout=30).text.splitlines():
        if line.startswith("outage_reports_received_total "):
            return float(line.split()[1])
    raise BenchError("/metrics has no outage_reports_received_total")


def measure_observability(
    database_urls: dict[str, str], args: argparse.Namespace
) -> dict[str, Any]:
    """``database_urls``: a fresh database for each side (``SIDES``)."""
    drive = driver(args.generator)
    with (
        tempfile.TemporaryDirectory(prefix="outage-observability-") as folder,
        contextlib.ExitStack() as running,
    ):
        work = Path(folder)
        base: dict[str, str] = {}
        pids: dict[str, int] = {}
        side_targets: dict[str, dict[str, Target]] = {}
        for side, settings in SIDES.items():
            env = {
                **os.environ,
                "OUTAGE_DATABASE_URL": database_urls[side],
                "OUTAGE_VAR_DIR": str(work / side),
                **settings,
            }
            started = servers.start_service(running, env, work / f"service-{side}.log")
            base[side] = started.url
            pids[side] = started.pid
            side_targets[side] = targets(started.url, started.dispatcher)
        pairs = []
        for endpoint, (name, label) in ENDPOINTS.items():
            loads, cpu = _rounds(
                drive, base, pids, {side: side_targets[side][endpoint] for side in SIDES}, args
            )
            received = None
            if endpoint == "reports_six_events":
                received = reports_received(base["observed"])
                taken = sum(load.requests - load.errors for load in loads["observed"])
                if received < taken:
                    raise BenchError(
                        f"/metrics counted {received:.0f} reports; the rounds alone took {taken}"
                    )
            pairs.append(observability_json(loads, cpu, received, name, label))
    return {"status": "ok", "pairs": pairs}


def _rounds(
    drive: Driver,
    base: dict[str, str],
    pids: dict[str, int],
    side_targets: dict[str, Target],
    args: argparse.Namespace,
) -> tuple[dict[str, list[Load]], dict[str, list[float]]]:
    """Each side driven in ``args.rounds`` alternating rounds after a warm-up: the loads, and
    each round's service CPU milliseconds per request."""
    loads: dict[str, list[Load]] = {side: [] for side in SIDES}
    cpu: dict[str, list[float]] = {side: [] for side in SIDES}
    for side in SIDES:
        if args.warmup > 0:
            drive(base[side], side_targets[side], args, args.warmup)
    for _round in range(args.rounds):
        for side in SIDES:
            before = servers.cpu_seconds(pids[side])["service"]
            load = drive(base[side], side_targets[side], args, args.duration)
            used = servers.cpu_seconds(pids[side])["service"] - before
            loads[side].append(load)
            cpu[side].append(used * 1000 / load.requests if load.requests else 0.0)
    return loads, cpu


def main(argv: list[str] | None = None) -> int:
    """This measure alone: ``python -m benchmarks.observability`` takes ``make bench``'s
    options (``--backends``, ``--rounds``, ``--duration`` …) and prints its table."""
    return run_alone(
        argv,
        __doc__.split("\n")[0],
        "observability",
        tuple(SIDES),
        lambda urls, args, _work: measure_observability(urls, args),
        observability_table,
    )


if __name__ == "__main__":
    raise SystemExit(main())
