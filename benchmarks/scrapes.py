"""What a flood of scrapes costs ``POST /api/v1/reports`` (/metrics's defences).

One service as it ships (``serve``, one uvicorn worker, /metrics needing no token: the worst
case, anyone may scrape), on a fresh database holding 100 events: ``benchmarks.scaling``'s six,
which the reports name in turn (below every threshold), and 94 more written straight into the
database. The same report load drives it in ``--rounds`` pairs of rounds: *quiet*, the reports
alone, and *flooded*, the reports while twenty scrape loops (``SCRAPERS`` connections in a
process of their own, each asking ``GET /metrics`` again as soon as it is answered) run
throughout. The ratio is the median over pairs of flooded ÷ quiet req/s
(``benchmarks.cases.paired_ratio``), with the median rounds' p50 beside it; goal: the flood
slows the reports by at most 10 % (ratio ≥ 0.9).

Shown besides: the scrapes the loops got answered per second, the size of one scrape and the
time its computation takes in the service (``outage_metrics_scrape_seconds``, the median of five
computations a second apart, before the rounds), goals under 50 KB and 20 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import multiprocessing
import os
import statistics
import tempfile
import time
import uuid
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any, Final

import httpx
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import create_async_engine

from benchmarks import servers
from benchmarks.alone import run_alone
from benchmarks.cases import median_round, paired_ratio
from benchmarks.load import BenchError, Load, Target, _drive_process, driver
from benchmarks.output import scrapes_table
from benchmarks.scaling import targets
from models import Event
from models.base import table_of
from service.plan.levels import LEVELS
from service.plan.lifecycle import STATES

SCRAPERS: Final = 20
EVENTS: Final = 100
GOAL: Final = 0.90  # flooded ÷ quiet req/s: at most 10 % slower
MAX_BYTES: Final = 50_000
MAX_SECONDS: Final = 0.020
NAME: Final = "reports_scraped"
LABEL: Final = "POST /api/v1/reports (6 events, no level)"
SCRAPE: Final = Target("GET", "/metrics", 200)


def add_events(database_url: str, count: int) -> None:
    """``count`` events in every state and level in turn, written as rows."""
    pairs = itertools.cycle([(s, level) for s in STATES for level in (*LEVELS, None)])

    async def write() -> None:
        engine = create_async_engine(database_url)
        try:
            async with engine.begin() as connection:
                rows = [
                    {"id": uuid.uuid4(), "state": state, "level": level}
                    for state, level in itertools.islice(pairs, count)
                ]
                await connection.execute(insert(table_of(Event)), rows)
        finally:
            await engine.dispose()

    asyncio.run(write())


def one_scrape(url: str, computations: int = 5) -> tuple[int, float]:
    """A scrape's size, and the median time of ``computations`` computations of it: each scrape
    a second after the one before is computed anew, and its text shows the time the computation
    before it took (``outage_metrics_scrape_seconds``)."""
    size, took = 0, []
    for n in range(computations + 1):
        time.sleep(1.1)
        text = httpx.get(f"{url}/metrics", timeout=30, trust_env=False).text
        size = len(text.encode())
        gauge = [x for x in text.splitlines() if x.startswith("outage_metrics_scrape_seconds")]
        if not gauge:
            raise BenchError("/metrics has no outage_metrics_scrape_seconds")
        if n:
            took.append(float(gauge[0].split()[-1]))
    return size, statistics.median(took)


def _noop() -> None:
    """Starts the pool's process ahead of the first flood."""


def measure_scrapes(database_url: str, args: argparse.Namespace) -> dict[str, Any]:
    drive = driver(args.generator)
    spawn = multiprocessing.get_context("spawn")
    with (
        tempfile.TemporaryDirectory(prefix="outage-scrapes-") as folder,
        contextlib.ExitStack() as running,
        ProcessPoolExecutor(max_workers=1, mp_context=spawn) as flood,
    ):
        flood.submit(_noop).result()
        work = Path(folder)
        env = {**os.environ, "OUTAGE_DATABASE_URL": database_url, "OUTAGE_VAR_DIR": str(work)}
        env.pop("OUTAGE_METRICS_TOKEN", None)
        started = servers.start_service(running, env, work / "service.log")
        reports = targets(started.url, started.dispatcher)["reports_six_events"]
        add_events(database_url, EVENTS - 6)
        size, computed = one_scrape(started.url)
        if args.warmup > 0:
            drive(started.url, reports, args, args.warmup)
        loads: dict[str, list[Load]] = {"quiet": [], "flooded": []}
        scrapes: list[tuple[list[float], int, float]] = []
        for _round in range(args.rounds):
            loads["quiet"].append(drive(started.url, reports, args, args.duration))
            # the loops start a moment before the reports and end a moment after them
            scraping = flood.submit(
                _drive_process, SCRAPE, started.url + SCRAPE.path, SCRAPERS, args.duration + 2
            )
            time.sleep(0.5)
            loads["flooded"].append(drive(started.url, reports, args, args.duration))
            scrapes.append(scraping.result())
    per_second = [len(latencies) / seconds for latencies, _errors, seconds in scrapes if seconds]
    errors = sum(errors for _latencies, errors, _seconds in scrapes)
    return {"status": "ok", "pairs": [scrapes_json(loads, per_second, errors, size, computed)]}


def scrapes_json(
    loads: dict[str, list[Load]],
    per_second: list[float],
    scrape_errors: int,
    size: int,
    computed: float,
) -> dict[str, Any]:
    """``loads``: the quiet and flooded rounds; ``per_second``: each flood's scrapes answered a
    second; ``size`` and ``computed``: one scrape's bytes and computing seconds."""
    ratio = paired_ratio(loads["flooded"], loads["quiet"])

    def side(name: str) -> dict[str, Any]:
        return {
            **median_round(loads[name]).as_json(),
            "errors": sum(load.errors for load in loads[name]),
            "rounds": [round(load.rps, 1) for load in loads[name]],
        }

    return {
        "name": NAME,
        "label": LABEL,
        "quiet": side("quiet"),
        "flooded": side("flooded"),
        "ratio": round(ratio, 3),
        "slowdown_percent": round((1 - ratio) * 100, 1),
        "scrapers": SCRAPERS,
        "scrapes_per_second": round(statistics.median(per_second), 1) if per_second else 0.0,
        "scrape_errors": scrape_errors,
        "scrape_bytes": size,
        "scrape_ms": round(computed * 1000, 2),
        "events": EVENTS,
        "goal": GOAL,
        "meets_goal": ratio >= GOAL and size < MAX_BYTES and computed < MAX_SECONDS,
    }


def main(argv: list[str] | None = None) -> int:
    """This measure alone: ``python -m benchmarks.scrapes`` takes ``make bench``'s options
    (``--backends``, ``--rounds``, ``--duration`` …) and prints its table."""
    return run_alone(
        argv,
        __doc__.split("\n")[0],
        "scrapes",
        ("scrapes",),
        lambda urls, args, _work: measure_scrapes(urls["scrapes"], args),
        scrapes_table,
    )


if __name__ == "__main__":
    raise SystemExit(main())
