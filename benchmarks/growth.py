"""How the hot paths grow with the database (issue 20 item 5): the growth table.

One database per backend is filled in steps (``--growth-steps``, each ``actions:entries:open``:
the actions and timeline entries the database holds in all, and the events open;
``benchmarks.growth_fill`` writes the filler events through the service's own store). Before the
first step, two probe events are opened over HTTP by level-IV reports: one on 柯桥区, which the
measured reports join, and one on 越城区, whose timeline and evaluation are read and which
nothing writes to afterwards, so that its own size is the same at every step. At each step the
service (``serve``, one worker, its escalation job and deliverer off, in a process of its own
that the filler's objects do not burden) is asked, one request at a time, in ``--growth-samples``
rounds after two unmeasured ones, each round asking every operation once in turn (a slow spell of
a shared machine falls on all of them alike):

=====================================================  =========================================
operation                                              goal (largest step ÷ smallest, median)
=====================================================  =========================================
POST /api/v1/reports (joins the open event)            flat: ≤ 1.5×
GET /api/v1/agencies/power-company/actions?limit=50    flat: ≤ 1.5×
… with If-None-Match → 304                             flat: ≤ 1.5×
GET /board/updates (200, rendered anew)                flat: ≤ 1.5×
… with If-None-Match → 304                             flat: ≤ 1.5×
GET /api/v1/events/{id}/timeline (first page)          the event's own size only: ≤ 1.5×
GET /api/v1/events/{id}/evaluation                     the event's own size only: ≤ 1.5×
audit verify (every chain), per 10 k entries           linear in the entries: ≤ 1.5× per 10 k
=====================================================  =========================================

The agency's poll is its first page, the newest 50 actions (the poll's default page). The growth
factor is the largest step's median over the smallest step's, measured in one run. ``make bench``
runs small steps; the province scale of the issue is::

    .venv/bin/python -m benchmarks.growth \\
        --growth-steps 1000:10000:5,10000:100000:50,100000:1000000:50
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, Final

import httpx

from benchmarks import servers
from benchmarks.alone import run_alone
from benchmarks.board import COOKIE, sign_in
from benchmarks.cases import AGENCY, POLL, QUIET, RESPONSE
from benchmarks.dispatch_cost import bench_actor, bench_token
from benchmarks.growth_fill import CITY_HQ, Filled, Filler, Step, parse_steps
from benchmarks.load import BenchError
from benchmarks.scaling import report as county_report
from models.base import utcnow
from service.config import Settings
from service.flows.context import open_context
from service.store.migrate import upgrade

GOAL: Final = 1.5
WARMUP: Final = 2
PER_ENTRIES: Final = 10_000  # audit verify is shown per this many entries
AUDIT_RUNS: Final = 3  # runs of audit verify per step (their median) …
AUDIT_RUNS_UP_TO: Final = 200_000  # … up to this many entries; one run beyond
LABEL: Final = 60  # the width of the table's first column
POLL_PAGE: Final = f"{POLL}?limit=50"  # the poll's first page, at its default size
# (name, label): in the table's order.
OPERATIONS: Final = (
    ("report", "POST /api/v1/reports (joins the event)"),
    ("poll_200", f"GET {POLL_PAGE} (200)"),
    ("poll_304", f"GET {POLL_PAGE} (304)"),
    ("board_update", "GET /board/updates (200, rendered anew)"),
    ("board_poll", "GET /board/updates (304)"),
    ("timeline_page", "GET /api/v1/events/{id}/timeline (100)"),
    ("evaluation", "GET /api/v1/events/{id}/evaluation"),
    ("audit_verify", "audit verify, per 10 k entries"),
)
EVALUATED_COUNTY: Final = "330602"  # 越城区: the event read, never written to after

Request = Callable[[], Awaitable[httpx.Response]]


def summary(samples: list[float]) -> dict[str, float]:
    """Median and p95 (nearest rank) of ``samples``, in ms."""
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, max(0, round(0.95 * len(ordered)) - 1))]
    return {"median_ms": round(statistics.median(ordered), 3), "p95_ms": round(p95, 3)}


async def in_turn(runs: dict[str, tuple[Request, int]], samples: int) -> dict[str, Any]:
    """Each operation's median and p95 over ``samples`` rounds, after ``WARMUP`` unmeasured
    ones, and its last answer's size. A round asks each request once, in turn: a slow spell of
    this shared machine then costs every operation a few samples alike, instead of all the
    samples of whichever ran through it. Every answer must have its operation's status."""
    found: dict[str, list[float]] = {name: [] for name in runs}
    sizes: dict[str, int] = {}
    for n in range(WARMUP + samples):
        for name, (request, status) in runs.items():
            start = time.perf_counter()
            answer = await request()
            elapsed = (time.perf_counter() - start) * 1000
            if answer.status_code != status:
                raise BenchError(
                    f"{answer.request.method} {answer.request.url.path}: {answer.status_code} "
                    f"(expected {status}): {answer.text[:300]}"
                )
            if n >= WARMUP:
                found[name].append(elapsed)
            sizes[name] = len(answer.content)
    return {name: {**summary(found[name]), "bytes": sizes[name]} for name in runs}


class Probes:
    """The served service, its tokens and the two probe events; each operation's request."""

    def __init__(self, client: httpx.AsyncClient, tokens: dict[str, str]) -> None:
        self.client = client
        self.auth = {role: {"Authorization": f"Bearer {t}"} for role, t in tokens.items()}
        self.board = {"Cookie": f"{COOKIE}={sign_in(str(client.base_url), tokens['observer'])}"}
        self.evaluated = ""

    async def open_events(self) -> None:
        """The reports' event on 柯桥区 and the read event on 越城区, each at level IV."""
        for body in (RESPONSE, county_report(EVALUATED_COUNTY, 90)):
            answer = await self.client.post(
                "/api/v1/reports", json=body, headers=self.auth["dispatcher"]
            )
            if answer.status_code != 201 or answer.json().get("level") != "IV":
                raise BenchError(f"opening a probe event: {answer.status_code} {answer.text[:300]}")
            self.evaluated = answer.json()["event_id"]

    async def measure(self, samples: int) -> dict[str, Any]:
        get, post = self.client.get, self.client.post
        agency, reader = self.auth["agency"], self.auth["observer"]
        listing = await get(POLL_PAGE, headers=agency)
        unchanged = {**agency, "If-None-Match": listing.headers.get("etag", "")}
        event = f"/api/v1/events/{self.evaluated}"
        board_tag = {"If-None-Match": ""}

        async def board_update() -> httpx.Response:
            answer = await get("/board/updates", headers=self.board)
            board_tag["If-None-Match"] = answer.headers.get("etag", "")
            return answer

        runs: dict[str, tuple[Request, int]] = {
            "poll_200": (lambda: get(POLL_PAGE, headers=agency), 200),
            "poll_304": (lambda: get(POLL_PAGE, headers=unchanged), 304),
            "board_update": (board_update, 200),
            # the version just answered: what every other viewer's poll gets until a change
            "board_poll": (lambda: get("/board/updates", headers=self.board | board_tag), 304),
            "timeline_page": (lambda: get(f"{event}/timeline?limit=100", headers=reader), 200),
            "evaluation": (lambda: get(f"{event}/evaluation", headers=reader), 200),
            # Each report adds to its own event, never to the one whose timeline is read; and it
            # moves the board's version, so the next round's board update is rendered anew, as
            # the first viewer's after a change is (the same version is served from memory).
            "report": (
                lambda: post("/api/v1/reports", json=QUIET, headers=self.auth["dispatcher"]),
                201,
            ),
        }
        return await in_turn(runs, samples)


def audit_per_entries(database_url: str, runs: int) -> dict[str, float]:
    """``audit verify`` over every chain, ms per ``PER_ENTRIES`` entries: the CLI's flow, each
    run in a process of its own (``benchmarks.growth_audit``) that times the flow alone, without
    the interpreter's start, and with none of the filler's objects in its memory."""
    per: list[float] = []
    for _run in range(runs):
        done = subprocess.run(
            [sys.executable, "-m", "benchmarks.growth_audit", database_url],
            cwd=servers.ROOT,
            capture_output=True,
            text=True,
            timeout=3600,
        )
        if done.returncode != 0:
            raise BenchError(f"audit verify: {done.stdout.strip()} {done.stderr.strip()[-500:]}")
        found = json.loads(done.stdout)
        per.append(found["ms"] * PER_ENTRIES / max(found["entries"], 1))
    return summary(per)


async def _measure(
    database_url: str, steps: list[Step], samples: int, work: Path
) -> dict[str, Any]:
    settings = Settings(database_url=database_url, token_cache_seconds=0)
    context = open_context(settings)
    try:
        tokens = {
            "dispatcher": await bench_token(context, "dispatcher"),
            "agency": await bench_token(context, "agency", agency=AGENCY),
            "observer": await bench_token(context, "observer"),
        }
        commander = await bench_actor(context, "commander", region=CITY_HQ)
        env = {
            **os.environ,
            "OUTAGE_DATABASE_URL": database_url,
            "OUTAGE_VAR_DIR": str(work),
            # the filler's open events hold overdue duties: no job may write while measured
            "OUTAGE_ESCALATION_INTERVAL_SECONDS": "0",
            "OUTAGE_DELIVERY_INTERVAL_SECONDS": "0",
        }
        port, log = servers.free_port(), work / "growth-service.log"
        with servers.server(servers.service_command(port), env, log) as service:
            url = f"http://127.0.0.1:{port}"
            servers.wait_ready(url + "/healthz", service, log)
            async with httpx.AsyncClient(base_url=url, timeout=600, trust_env=False) as client:
                probes = Probes(client, tokens)
                await probes.open_events()
                filler = Filler(context, commander, utcnow())
                found = []
                for step in steps:
                    start = time.perf_counter()
                    held = await filler.fill_to(step)
                    filled_s = time.perf_counter() - start
                    load = os.getloadavg()[0]  # what else ran shows here
                    operations = await probes.measure(samples)
                    runs = min(AUDIT_RUNS, samples) if held.entries <= AUDIT_RUNS_UP_TO else 1
                    operations["audit_verify"] = audit_per_entries(database_url, runs)
                    found.append(
                        {
                            "step": step.label,
                            "holds": _holds(held),
                            "fill_seconds": round(filled_s, 1),
                            "loadavg": round(load, 1),
                            "operations": operations,
                        }
                    )
    finally:
        await context.close()
    return {"status": "ok", "samples": samples, "steps": found, "growth": growth(found)}


def _holds(held: Filled) -> dict[str, int]:
    return {
        "events": held.events,
        "open_events": held.open_events,
        "actions": held.actions,
        "entries": held.entries,
    }


def growth(steps: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Each operation's growth factor, the largest step's median over the smallest step's
    (judged), and over the smallest step with as many open events as the largest (``history``:
    what the closed events' pile alone costs; None when no other step has as many)."""
    open_events = steps[-1]["holds"]["open_events"]
    same = [s for s in steps[:-1] if s["holds"]["open_events"] == open_events]
    found = {}
    for name, _label in OPERATIONS:
        last = steps[-1]["operations"][name]["median_ms"]
        factor = _ratio(last, steps[0]["operations"][name]["median_ms"])
        history = _ratio(last, same[0]["operations"][name]["median_ms"]) if same else None
        found[name] = {
            "factor": round(factor, 2),
            "history": None if history is None else round(history, 2),
            "goal": GOAL,
            "meets_goal": factor <= GOAL,
        }
    return found


def _ratio(last: float, first: float) -> float:
    return last / first if first else 0.0


def measure_growth(database_url: str, args: argparse.Namespace) -> dict[str, Any]:
    """The growth table's figures on an empty database, migrated here."""
    upgrade(Settings(database_url=database_url))
    steps = parse_steps(args.growth_steps)
    with tempfile.TemporaryDirectory(prefix="outage-growth-") as folder:
        return asyncio.run(_measure(database_url, steps, args.growth_samples, Path(folder)))


def growth_table(results: dict[str, dict[str, Any]]) -> str:
    """Per backend: each operation's median (p95) at each step, its growth factor and goal."""
    lines = []
    for backend, found in results.items():
        part = found.get("growth")
        if not part:
            continue
        if part["status"] != "ok":
            lines.append(f"growth {backend}: {part['status']}: {part['reason'].splitlines()[0]}")
            continue
        steps = part["steps"]
        lines.append(
            f"growth {backend}: median (p95) ms over {part['samples']} rounds per step, each "
            f"asking every operation once; factor = largest step ÷ smallest (goal ≤ {GOAL}×); "
            "history = largest ÷ the first step with as many open events"
        )
        lines.append(
            f"{'':<{LABEL}}" + "".join(f"{s['step']:>22}" for s in steps) + "  factor  history"
        )
        for name, label in OPERATIONS:
            cells = "".join(_cell(s["operations"][name]) for s in steps)
            factor = part["growth"][name]
            verdict = "ok" if factor["meets_goal"] else "MISSED"
            history = "" if factor["history"] is None else f"{factor['history']:>7.2f}×"
            lines.append(f"{label:<{LABEL}}{cells}{factor['factor']:>7.2f}× {history} {verdict}")
        sizes = ", ".join(
            f"{s['step']} {s['operations']['poll_200']['bytes'] / 1024:.0f} KiB" for s in steps
        )
        lines.append(f"the agency's first page (200): {sizes}")
        fills = ", ".join(
            f"{s['step']} in {s['fill_seconds']} s (load average {s['loadavg']})" for s in steps
        )
        lines.append(f"filled: {fills}")
    return "\n".join(lines)


def _cell(figures: dict[str, float]) -> str:
    return f"{figures['median_ms']:>12.2f} ({figures['p95_ms']:>7.2f})"


def main(argv: list[str] | None = None) -> int:
    """The growth table alone, on a scratch database of each backend."""
    return run_alone(
        argv,
        __doc__.split("\n")[0],
        "growth",
        ("growth",),
        lambda urls, args, _work: measure_growth(urls["growth"], args),
        growth_table,
    )


if __name__ == "__main__":
    raise SystemExit(main())
