"""``make bench``: the service against a bare FastAPI app, on SQLite and on PostgreSQL.

For each backend the service is migrated, given a dispatcher and an agency token and started as
it ships (``outage-coordinator serve``, one uvicorn worker); ``benchmarks.bare_app`` runs beside
it with one uvicorn worker on the same kind of database. One load generator drives both, one
endpoint at a time, with the same connections and duration, in ``--rounds`` rounds that alternate
service and bare app (so that a slow spell of a shared machine falls on both). Each side's
median round is shown; the ratio is the median over rounds of the two sides' ratio in the same
round:

=====================================================  ==================  ===================
service                                                bare app            goal (p99 ÷ floor's)
=====================================================  ==================  ===================
POST /api/v1/reports, below every threshold, by grid   POST /join-by-grid  0.6× (PG 0.5×), ≤ 2
POST /api/v1/reports, below every threshold, event_id  POST /join          0.6× (PG 0.5×), ≤ 2
POST /api/v1/reports at IV                             POST /join          none
POST /api/v1/classify                                  POST /echo          0.7×, ≤ 4
GET /api/v1/agencies/power-company/actions → 304       GET /rows/{id}      0.8×
=====================================================  ==================  ===================

The reports join the one open event of 柯桥区 (one outage, one event), which the preparation
opened at IV, by their grid or by its ``event_id``: every report locks that event, merges its
figures into the event's grid, reclassifies and records itself, all the writers of one event
taking turns on it, as in a storm. Their floors are the bare app's ``POST /join``: lock one
shared event's row, update it, insert the report, commit, with every writer waiting its turn on
the row as the service's do; and ``POST /join-by-grid``, which first finds the event by the
grid. The below-threshold ones (151 MW, 30 MW lost) are held to the goal; the level-IV one (60.4
MW lost) reaches the level the response already has, so it dispatches nothing new, and is shown
for information. What dispatching costs is measured in process (below).
The poll is an agency sending back the ETag of its action list (``If-None-Match``), every answer
a 304; it runs first, while the agency holds one event's actions (the ETag aggregates over the
agency's rows, which the report runs multiply). A response with another status is an error.

The situation board (``benchmarks.board``): its page, its poll answered 304 and its poll
answered anew, each over 20 connections (the viewers) against the bare app's ``GET
/page/{size}`` at the board's own size, goal 0.5×; run before the report pairs, while the board
holds still.

The public page (``benchmarks.public``): the page and its revalidation (304), each over 20
connections (citizens) against the bare app's ``GET /static/{size}``, the same bytes from memory
with no database, goal 0.8×; run before the report pairs, with the IV event's area and an
approved release on the page.

Besides, in process and with no HTTP (``benchmarks.dispatch_cost``): the time and the SQL
statements to dispatch a level-I response's whole checklist, the median of ``--dispatch-runs``;
and a report's new rows written one statement per table against the write batch
(``benchmarks.batch_cost``), the medians of ``--batch-runs``.

Then, each on fresh databases of its own, after the pairs' servers have stopped: the storm mix
(``benchmarks.storm``: every kind of request on one event at once for ``--storm-duration``
seconds, one wrk per kind; per kind req/s, p99 and answers by class; goal: no 5xx and no failed
escalation run), on both backends; and on PostgreSQL one uvicorn worker against two for classify
and for reports spread over six events (``benchmarks.scaling``: goals 1.3× and 1.0×, with the CPU
each round took from the service, PostgreSQL, the load generator and the whole machine).
Last, on each backend, what /metrics and the JSON request log cost on classifications and on
reports: the service as it ships against the same with both off, side by side
(``benchmarks.observability``, goal ≤ 10%);
and what twenty /metrics scrape loops cost the same reports, alone against flooded in alternating
rounds (``benchmarks.scrapes``, goal ≥ 0.9×, with a scrape's size and computing time).
On PostgreSQL, how soon ``serve --workers 2`` answers on a machine kept busy, against the same
start on the machine as it is, and the workers uvicorn's health check killed meanwhile
(``benchmarks.startup``, ``--startup-rounds`` starts per case; goal: first answer within 10 s,
none killed). Last, on each backend, the growth table (``benchmarks.growth``): a database filled
in ``--growth-steps`` and, per step, the latency of a report, an agency's poll (200 and 304), a
board update, a timeline page, an evaluation and ``audit verify``; goal: the largest step within
1.5× the smallest.

The tables show requests/s, p99 latency, the service/bare ratio and the service's peak RSS
(VmHWM, summed over its processes); the same figures go to ``benchmarks/results/latest.json``.
The load generator is ``wrk`` (Debian: ``apt-get install wrk``) when it is on the PATH, else a
built-in one (asyncio + httpx in a pool of processes). On this 2-core machine the built-in one
costs far more CPU per request than wrk and may saturate before the bare app does, which lifts
the ratios: prefer wrk for figures to compare. PostgreSQL is found at ``--postgres-url``
(default ``OUTAGE_TEST_DATABASE_URL`` or the local server); the run makes fresh databases there
and drops them after, and skips that backend with a message when the server is unreachable.

    .venv/bin/python -m benchmarks.run --duration 5 --rounds 5 --concurrency 8
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any

from benchmarks import servers
from benchmarks.batch_cost import measure_batch
from benchmarks.board import prepare_board
from benchmarks.cases import AGENCY, Pair, pair_json, prepare
from benchmarks.delivery import DATABASES, measure_delivery
from benchmarks.dispatch_cost import measure_dispatch
from benchmarks.growth import growth_table, measure_growth
from benchmarks.heavy_pages import heavy_pages_table, measure_heavy_pages
from benchmarks.load import BenchError, Load, check, driver
from benchmarks.observability import SIDES, measure_observability
from benchmarks.options import parse
from benchmarks.output import (
    batch_table,
    delivery_table,
    dispatch_table,
    missed_goals,
    observability_table,
    scaling_table,
    scrapes_table,
    storm_table,
    table,
)
from benchmarks.public import prepare_public
from benchmarks.scaling import WORKERS, measure_scaling
from benchmarks.scrapes import measure_scrapes
from benchmarks.servers import PG_UNREACHABLE, ROOT
from benchmarks.startup import measure_startup, startup_table
from benchmarks.storm import measure_storm as storm_mix

# The measures after the pairs, each a part of a backend's results of its own.
EXTRA = (
    "storm",
    "scaling",
    "observability",
    "delivery",
    "scrapes",
    "startup",
    "heavy_pages",
    "growth",
)


def bench_backend(
    name: str, urls: dict[str, str], work: Path, args: argparse.Namespace
) -> dict[str, Any]:
    """``urls``: the databases of the service, the bare app and the in-process measures."""
    found: dict[str, Any] = {"status": "ok"}
    in_process = {
        "dispatch": (args.dispatch_runs, measure_dispatch),
        "batch": (args.batch_runs, measure_batch),
    }
    if any(runs > 0 for runs, _measure in in_process.values()):
        servers.cli("db", "upgrade", env={**os.environ, "OUTAGE_DATABASE_URL": urls["dispatch"]})
    for key, (runs, measure_in_process) in in_process.items():
        if runs <= 0:
            continue
        try:
            found[key] = measure_in_process(urls["dispatch"], runs)
        except Exception as exc:  # reported; the HTTP part still runs
            found[key] = {"status": "failed", "reason": f"{type(exc).__name__}: {exc}"}
    env = {**os.environ, "OUTAGE_DATABASE_URL": urls["service"], "OUTAGE_VAR_DIR": str(work)}
    servers.cli("db", "upgrade", env=env)
    tokens = {
        "dispatcher": servers.new_token(env, "dispatcher"),
        "agency": servers.new_token(env, "agency", "--agency", AGENCY),
        "observer": servers.new_token(env, "observer"),
        "commander": servers.new_token(env, "commander", "--region", "330600"),
    }
    service_port, bare_port = servers.free_port(), servers.free_port()
    base = {
        "service": f"http://127.0.0.1:{service_port}",
        "bare": f"http://127.0.0.1:{bare_port}",
    }
    logs = {side: work / f"{name}-{side}.log" for side in base}
    bare_env = {**os.environ, "BENCH_DATABASE_URL": urls["bare"]}
    try:
        with contextlib.ExitStack() as running:
            service = running.enter_context(
                servers.server(servers.service_command(service_port), env, logs["service"])
            )
            bare = running.enter_context(
                servers.server(servers.bare_command(bare_port), bare_env, logs["bare"])
            )
            servers.wait_ready(base["service"] + "/healthz", service, logs["service"])
            servers.wait_ready(base["bare"] + "/ready", bare, logs["bare"])
            pairs, found["poll_agency_actions"] = prepare(base, tokens)
            # the release the public page shows is made before the board reads its version
            public_pairs, found["public"] = prepare_public(base, tokens)
            board_pairs, found["board"] = prepare_board(base, tokens["observer"])
            pairs += board_pairs + public_pairs
            measured = measure(base, pairs, args)
            found["pairs"] = [pair_json(pair, measured[pair.name], name) for pair in pairs]
            found["service_peak_rss_kib"] = servers.peak_rss_kib(service.pid)
            found["bare_peak_rss_kib"] = servers.peak_rss_kib(bare.pid)
    except BenchError as exc:  # the dispatch figures above still stand
        return {**found, "status": "failed", "reason": str(exc)}
    return found


def measure(
    base: dict[str, str], pairs: list[Pair], args: argparse.Namespace
) -> dict[str, dict[str, list[Load]]]:
    """Drive each pair's two sides in ``args.rounds`` alternating rounds (service, bare, service,
    …), so that a slow spell of this shared machine falls on both; a bare target shared by two
    pairs is measured once. The pairs marked ``before_writes`` go first."""
    drive = driver(args.generator)
    bare_runs: dict[str, list[Load]] = {}
    measured: dict[str, dict[str, list[Load]]] = {}
    for pair in sorted(pairs, key=lambda p: not p.before_writes):
        load = args if pair.connections is None else _with(args, concurrency=pair.connections)
        sides = {"service": pair.service, "bare": pair.bare}
        bare = pair.bare
        bare_key = json.dumps(
            [bare.method, bare.path, bare.body, bare.status, dict(bare.headers), pair.connections]
        )
        runs: dict[str, list[Load]] = {"service": []}
        if bare_key in bare_runs:
            del sides["bare"]
        else:
            runs["bare"] = bare_runs[bare_key] = []
        for side, target in sides.items():
            check(base[side], target)
            if args.warmup > 0:
                drive(base[side], target, load, args.warmup)
        for _round in range(args.rounds):
            for side, target in sides.items():
                runs[side].append(drive(base[side], target, load, args.duration))
        measured[pair.name] = {"service": runs["service"], "bare": bare_runs[bare_key]}
    return measured


def _with(args: argparse.Namespace, **changed: Any) -> argparse.Namespace:
    return argparse.Namespace(**{**vars(args), **changed})


def bench_sqlite(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="outage-bench-") as folder:
        work = Path(folder)
        urls = {side: f"sqlite+aiosqlite:///{work / side}.db" for side in ("service", "bare")}
        urls["dispatch"] = f"sqlite+aiosqlite:///{work / 'dispatch'}.db"
        found = bench_backend("sqlite", urls, work, args)
        if args.delivery_messages > 0:
            delivery = {s: f"sqlite+aiosqlite:///{work / s}.db" for s in DATABASES}
            found["delivery"] = guarded(lambda: measure_delivery(delivery, work, args))
        if args.storm_duration > 0:
            storm_url = f"sqlite+aiosqlite:///{work / 'storm'}.db"
            found["storm"] = guarded(lambda: measure_storm("sqlite", storm_url, args))
        if args.observability:
            sides = {side: f"sqlite+aiosqlite:///{work / side}-obs.db" for side in SIDES}
            found["observability"] = guarded(lambda: measure_observability(sides, args))
        if args.scrapes:
            scraped = f"sqlite+aiosqlite:///{work / 'scrapes'}.db"
            found["scrapes"] = guarded(lambda: measure_scrapes(scraped, args))
        if args.heavy_pages_rounds > 0:
            heavy = f"sqlite+aiosqlite:///{work / 'heavy'}.db"
            found["heavy_pages"] = guarded(
                lambda: measure_heavy_pages(heavy, args.heavy_pages_rounds)
            )
        if args.growth_samples > 0:
            grown = f"sqlite+aiosqlite:///{work / 'growth'}.db"
            found["growth"] = guarded(lambda: measure_growth(grown, args))
        return found


def bench_postgres(args: argparse.Namespace) -> dict[str, Any]:
    with contextlib.ExitStack() as stack:
        try:
            shared = stack.enter_context(servers.postgres_database(args.postgres_url))
            dispatch = stack.enter_context(servers.postgres_database(args.postgres_url))
            storm = stack.enter_context(servers.postgres_database(args.postgres_url))
            scaling = {
                w: stack.enter_context(servers.postgres_database(args.postgres_url))
                for w in WORKERS
            }
            observed = {
                side: stack.enter_context(servers.postgres_database(args.postgres_url))
                for side in SIDES
            }
            delivery = {
                s: stack.enter_context(servers.postgres_database(args.postgres_url))
                for s in (DATABASES if args.delivery_messages > 0 else ())
            }
            scraped = stack.enter_context(servers.postgres_database(args.postgres_url))
            grown = (
                stack.enter_context(servers.postgres_database(args.postgres_url))
                if args.growth_samples > 0
                else None
            )
            started = (
                stack.enter_context(servers.postgres_database(args.postgres_url))
                if args.startup_rounds > 0
                else None
            )
            heavy = (
                stack.enter_context(servers.postgres_database(args.postgres_url))
                if args.heavy_pages_rounds > 0
                else None
            )
        except PG_UNREACHABLE as exc:
            return {"status": "skipped", "reason": f"PostgreSQL unreachable: {exc}"}
        work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="outage-bench-")))
        # One database for both apps: the bare app's one table stands beside the service's.
        urls = {"service": shared, "bare": shared, "dispatch": dispatch}
        found = bench_backend("postgres", urls, work, args)
        if delivery:
            found["delivery"] = guarded(lambda: measure_delivery(delivery, work, args))
        if args.storm_duration > 0:
            found["storm"] = guarded(lambda: measure_storm("postgres", storm, args))
        if args.scaling:
            found["scaling"] = guarded(lambda: measure_scaling(scaling, args))
        if args.observability:
            found["observability"] = guarded(lambda: measure_observability(observed, args))
        if args.scrapes:
            found["scrapes"] = guarded(lambda: measure_scrapes(scraped, args))
        if started is not None:
            found["startup"] = guarded(lambda: measure_startup(started, args.startup_rounds))
        if heavy is not None:
            found["heavy_pages"] = guarded(
                lambda: measure_heavy_pages(heavy, args.heavy_pages_rounds)
            )
        if grown is not None:
            found["growth"] = guarded(lambda: measure_growth(grown, args))
        return found
    raise AssertionError("unreachable")  # mypy: ExitStack may swallow exceptions


def guarded(measure: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """A further measure's figures, or why it failed (what was measured before still stands)."""
    try:
        return measure()
    except BenchError as exc:
        return {"status": "failed", "reason": str(exc)}


def measure_storm(backend: str, database_url: str, args: argparse.Namespace) -> dict[str, Any]:
    if args.generator != "wrk":
        return {"status": "skipped", "reason": "the storm mix needs wrk (apt-get install wrk)"}
    return storm_mix(backend, database_url, args.storm_duration)


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
    args = parse(argv, __doc__.split("\n")[0])
    signal.signal(signal.SIGTERM, _terminate)
    runners = {"sqlite": bench_sqlite, "postgres": bench_postgres}
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    if unknown := set(backends) - set(runners):
        raise SystemExit(f"unknown backend(s): {', '.join(sorted(unknown))}")
    generator = "wrk" if args.generator == "wrk" else f"asyncio+httpx ×{args.client_processes}"
    print(
        f"load: {generator}, {args.concurrency} connections, {args.rounds} round(s) of "
        f"{args.duration} s per endpoint after {args.warmup} s warm-up, service and bare app "
        f"alternating; req/s of the median round, ratio the median of the rounds' ratios; "
        f"{os.cpu_count()} CPUs",
        flush=True,
    )
    before = os.getloadavg()
    results: dict[str, dict[str, Any]] = {}
    for backend in backends:
        print(f"{backend}: running …", flush=True)
        try:
            results[backend] = runners[backend](args)
        except BenchError as exc:
            results[backend] = {"status": "failed", "reason": str(exc)}
    print(table(results))
    if dispatched := dispatch_table(results):
        print("\n" + dispatched)
    if batch := batch_table(results):
        print("\n" + batch)
    if delivered := delivery_table(results):
        print("\n" + delivered)
    if storm := storm_table(results):
        print("\n" + storm)
    if scaling := scaling_table(results):
        print("\n" + scaling)
    if observability := observability_table(results):
        print("\n" + observability)
    if scraped := scrapes_table(results):
        print("\n" + scraped)
    if startup := startup_table(results):
        print("\n" + startup)
    if heavy_pages := heavy_pages_table(results):
        print("\n" + heavy_pages)
    if grown := growth_table(results):
        print("\n" + grown)
    for backend, found in results.items():
        for part in (found, *(found.get(name, {}) for name in EXTRA)):
            if part.get("status") == "failed":
                print(f"\n{backend} failed:\n{part['reason']}", file=sys.stderr)
    report = {
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "source": source_version(),
        "settings": {
            "generator": args.generator,
            "concurrency": args.concurrency,
            "duration_s": args.duration,
            "rounds": args.rounds,
            "warmup_s": args.warmup,
            "wrk_threads": args.threads,
            "client_processes": args.client_processes,
            "dispatch_runs": args.dispatch_runs,
            "batch_runs": args.batch_runs,
            "storm_duration_s": args.storm_duration,
            "delivery_messages": args.delivery_messages,
            "scaling": args.scaling,
            "observability": args.observability,
            "scrapes": args.scrapes,
            "startup_rounds": args.startup_rounds,
            "heavy_pages_rounds": args.heavy_pages_rounds,
            "growth_steps": args.growth_steps,
            "growth_samples": args.growth_samples,
            "outage_env": {
                k: v
                for k, v in os.environ.items()
                if k.startswith("OUTAGE_") and "URL" not in k and "TOKEN" not in k
            },
        },
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            # others' work on a shared machine shows here, and in the scaling's "machine" CPU
            "loadavg_before": before,
            "loadavg_after": os.getloadavg(),
        },
        "backends": results,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    print(
        f"load average (1, 5, 15 min) before {_loads(before)}, after {_loads(os.getloadavg())}; "
        f"results: {args.output}"
    )
    parts = [
        p
        for r in results.values()
        for p in (
            r,
            *(r.get(k) for k in EXTRA),
        )
        if p
    ]
    if any(p["status"] == "failed" for p in parts):
        return 2
    if missed := missed_goals(results):
        print(f"goals missed: {', '.join(missed)}")
    return 1 if args.check and missed else 0


def _loads(averages: tuple[float, float, float]) -> str:
    return "/".join(f"{x:.1f}" for x in averages)


if __name__ == "__main__":
    raise SystemExit(main())
