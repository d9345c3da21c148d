"""``make bench``'s command line: ``python -m benchmarks.run --help`` lists every option."""

from __future__ import annotations

import argparse
import os
import shutil
from pathlib import Path

from benchmarks.servers import ROOT

RESULTS = ROOT / "benchmarks" / "results" / "latest.json"
# Small enough for make bench; the province scale is in benchmarks/README.md (growth table).
GROWTH_STEPS = "1000:10000:5,5000:50000:25"
DEFAULT_PG = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"


def parse(argv: list[str] | None, description: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run", description=description)
    parser.add_argument("--duration", type=int, default=2, help="seconds per round (2)")
    parser.add_argument(
        "--rounds", type=int, default=5, help="alternating rounds per endpoint; medians shown (5)"
    )
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
        help="a server where scratch databases may be made",
    )
    parser.add_argument(
        "--dispatch-runs", type=int, default=20, help="in-process dispatch runs (20; 0: none)"
    )
    parser.add_argument(
        "--batch-runs",
        type=int,
        default=30,
        help="in-process runs of a report's writes, one INSERT per table vs batched (30; 0: none)",
    )
    parser.add_argument(
        "--storm-duration",
        type=int,
        default=10,
        help="seconds of the storm mix on each backend (10; 0: none; needs wrk)",
    )
    parser.add_argument(
        "--scaling",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="on PostgreSQL, one worker against two for classify and reports (default: on)",
    )
    parser.add_argument(
        "--observability",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="on each backend, reports with /metrics and the JSON request log on against off "
        "(default: on)",
    )
    parser.add_argument(
        "--startup-rounds",
        type=int,
        default=3,
        help="on PostgreSQL, starts of serve --workers 2 per case, idle and busy machine (3; 0: "
        "none)",
    )
    parser.add_argument(
        "--heavy-pages-rounds",
        type=int,
        default=2,
        help="on each backend, rounds of /healthz alone and beside six evaluation PDFs (2; 0: "
        "none)",
    )
    parser.add_argument(
        "--scrapes",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="on each backend, reports alone against reports beside twenty /metrics scrape "
        "loops (default: on)",
    )
    parser.add_argument(
        "--delivery-messages",
        type=int,
        default=1000,
        help="notices per round of the webhook delivery measure (1000; 0: no delivery measures)",
    )
    parser.add_argument(
        "--growth-steps",
        default=GROWTH_STEPS,
        help="the growth table's steps, each actions:entries:open events, the database's totals "
        f"({GROWTH_STEPS})",
    )
    parser.add_argument(
        "--growth-samples",
        type=int,
        default=20,
        help="rounds per step of the growth table, each asking every operation once (20; 0: no "
        "growth table)",
    )
    parser.add_argument("--output", type=Path, default=RESULTS, help="JSON results file")
    parser.add_argument("--check", action="store_true", help="exit 1 when a goal is missed")
    args = parser.parse_args(argv)
    if args.generator == "auto":
        args.generator = "wrk" if shutil.which("wrk") else "python"
    if args.generator == "wrk" and not shutil.which("wrk"):
        parser.error("wrk is not on the PATH (Debian: apt-get install wrk)")
    if args.concurrency < 1 or args.duration <= 0 or args.rounds < 1:
        parser.error("--concurrency, --duration and --rounds must be positive")
    return args
