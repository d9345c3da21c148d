"""One measure run alone (``python -m benchmarks.scrapes`` …), with ``make bench``'s options:
for each of ``--backends``, fresh databases, the measure, and its table printed."""

from __future__ import annotations

import argparse
import contextlib
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from benchmarks import servers
from benchmarks.load import BenchError
from benchmarks.options import parse

Measure = Callable[[dict[str, str], argparse.Namespace, Path], dict[str, Any]]
Table = Callable[[dict[str, dict[str, Any]]], str]


def run_alone(
    argv: list[str] | None,
    description: str,
    key: str,
    names: Sequence[str],
    measure: Measure,
    table: Table,
) -> int:
    """``measure`` on each backend of ``--backends``, given a fresh database per name of
    ``names`` (SQLite files in a temporary folder, or scratch PostgreSQL databases dropped after)
    and a folder of its own; the results under ``key``, printed by ``table``. Exit status 0 when
    every backend's measure came out, else 2, each failure's reason on stderr."""
    args = parse(argv, description)
    results: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="outage-bench-") as folder:
        work = Path(folder)
        for backend in (b.strip() for b in args.backends.split(",") if b.strip()):
            with contextlib.ExitStack() as stack:
                urls = {
                    name: f"sqlite+aiosqlite:///{work / f'{backend}-{name}'}.db"
                    if backend == "sqlite"
                    else stack.enter_context(servers.postgres_database(args.postgres_url))
                    for name in names
                }
                try:
                    found = measure(urls, args, work / backend)
                except BenchError as exc:
                    found = {"status": "failed", "reason": str(exc)}
                results[backend] = {key: found}
    print(table(results))
    for backend, found in results.items():
        if found[key]["status"] == "failed":
            print(f"{backend} failed:\n{found[key]['reason']}", file=sys.stderr)
    return 0 if all(r[key]["status"] == "ok" for r in results.values()) else 2
