"""The storm mix (issue 9): every kind of request on one event at once, one ``wrk`` per kind.

On a fresh database the service runs with ``STORM_WORKERS`` workers (two on PostgreSQL; one on
SQLite, whose one writer two workers would only queue for) and the escalation job every
``ESCALATION_SECONDS``. One event opens as in a typhoon: a warning the city HQ publishes, then
柯桥区 at level IV. Then, for the same time and all at once, one ``wrk`` process per kind, each
with its own connections:

* reports on the event from three counties and the city, at levels none to II;
* the city and the province commanders setting its level (IV, III, II), with a reason;
* four agencies acknowledging and completing its actions (a list made before the storm,
  walked in turn: the lowerings cancel and the rises reopen them as the storm goes on);
* an agency polling its actions;
* on a second event, warnings proposed, published and lifted in turn (one connection, so that
  each step may use the id the step before was answered).

Meanwhile a clock moves a few open actions a minute past their due time every ``CLOCK_SECONDS``
(the playbooks' shortest due time is 15 minutes), one row per statement, so that the escalation
job has work. Each kind gives requests/s, p99 and its answers by class; a 5xx of any kind, or an
escalation run that failed (the server's log), misses the goal. Needs ``wrk``: the warnings'
steps are a Lua state machine.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import tempfile
import threading
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final

import httpx
from sqlalchemy import select, update

from benchmarks import servers
from benchmarks.cases import held_actions
from benchmarks.load import BenchError, Poster
from benchmarks.storm_scripts import COUNTING, WARNING_STEPS, in_turn, lua_headers, lua_request
from models import Action
from service.config import Settings
from service.plan.duties import OPEN_STATES
from service.store.engine import make_engine

STORM_WORKERS: Final = {"sqlite": 1, "postgres": 2}
ESCALATION_SECONDS: Final = 1
CLOCK_SECONDS: Final = 0.5
AGENCIES: Final = ("power-company", "public-security", "grid-dispatch", "economy-it")
TOKENS: Final[dict[str, tuple[str, ...]]] = {
    "dispatcher": ("dispatcher",),
    "city": ("commander", "--region", "330600"),
    "province": ("commander", "--region", "330000"),
    **{code: ("agency", "--agency", code) for code in AGENCIES},
}
OBSERVED = "2026-07-20T14:05:00+08:00"


@dataclass(frozen=True)
class Kind:
    """One kind of request of the storm: its ``wrk`` script and connections."""

    name: str
    label: str
    connections: int
    script: str


def report(event_id: str, snapshot: dict[str, Any]) -> dict[str, Any]:
    return {
        "event_id": event_id,
        "observed_at": OBSERVED,
        "cause": "typhoon",
        "snapshots": [snapshot],
    }


def grid(region: str, load: int, lost: int) -> dict[str, Any]:
    scope = "city" if region == "330600" else "county"
    return {"scope": scope, "region": region, "load_mw": load, "load_lost_mw": lost}


def kinds(
    auth: dict[str, dict[str, str]], event_id: str, other_id: str, actions: list[tuple[str, str]]
) -> list[Kind]:
    """The storm's kinds of request; ``actions``: (agency, action id) on the event."""
    grids = [grid(c, 200, lost) for c in ("330603", "330604", "330681") for lost in (40, 90, 130)]
    grids += [grid("330600", 3000, lost) for lost in (300, 750, 1350, 1950)]
    reports = [
        lua_request("POST", "/api/v1/reports", auth["dispatcher"], report(event_id, g))
        for g in grids
    ]
    turns = [("province", "II"), ("city", "III"), ("province", "IV"), ("city", "IV")]
    turns += [("province", "III"), ("city", "II")]
    levels = [
        lua_request(
            "POST",
            f"/api/v1/events/{event_id}/level",
            auth[who],
            {"level": level, "reason": f"bench: {level}"},
        )
        for who, level in turns
    ]
    acts = [
        lua_request("POST", f"/api/v1/actions/{action}/{verb}", auth[agency], {"note": verb})
        for agency, action in actions
        for verb in ("ack", "complete")
    ]
    poll = f"/api/v1/agencies/{AGENCIES[0]}/actions?event_id={event_id}"
    proposal = {"area": ["330624", "330683"], "headline": "台风南移", "description": "bench"}
    propose = lua_request(
        "POST", f"/api/v1/events/{other_id}/warnings", auth["dispatcher"], proposal
    )
    steps = COUNTING + WARNING_STEPS % (propose, lua_headers(auth["city"], json_body=True))
    polls = [lua_request("GET", poll, auth[AGENCIES[0]])]
    return [
        Kind("reports", "POST /reports (4 grids, none to II)", 2, in_turn(reports)),
        Kind("level", "POST /events/{id}/level (IV to II)", 1, in_turn(levels)),
        Kind("act", f"POST /actions/{{id}}/ack, complete ({len(actions)})", 2, in_turn(acts)),
        Kind("poll", f"GET /agencies/{AGENCIES[0]}/actions", 1, in_turn(polls)),
        Kind("warnings", "POST /warnings…: propose, publish, lift", 1, steps),
    ]


def prepare(url: str, auth: dict[str, dict[str, str]]) -> tuple[str, str, list[tuple[str, str]]]:
    """The event (a published warning, then 柯桥区 at IV), the second event (a proposed
    warning), and the agencies' actions on the first, up to level II's."""
    with httpx.Client(base_url=url, timeout=30, trust_env=False) as client:
        post = Poster(client, auth)
        area = {"headline": "台风登陆", "description": "bench"}
        warned = post("/api/v1/warnings", "dispatcher", {"area": ["330603", "330604"], **area})
        event_id = warned["event_id"]
        post(f"/api/v1/warnings/{warned['id']}/publish", "city", {})
        post("/api/v1/reports", "dispatcher", report(event_id, grid("330603", 151, 70)))
        other = post("/api/v1/warnings", "dispatcher", {"area": ["330624", "330683"], **area})
        # Level II's checklist, then back to IV: the agencies' list holds the items the storm's
        # rises reopen and its lowerings cancel.
        level = f"/api/v1/events/{event_id}/level"
        post(level, "province", {"level": "II", "reason": "bench: the storm's items"})
        post(level, "province", {"level": "IV", "reason": "bench: back to IV"})
        actions = []
        for agency in AGENCIES:
            held = held_actions(client, agency, auth[agency], event_id=event_id)
            actions += [(agency, a["id"]) for a in held]
    return event_id, other["event_id"], actions


def run_kinds(url: str, storm: list[Kind], seconds: int, work: Path) -> dict[str, dict[str, Any]]:
    """Every kind's ``wrk`` at once, for ``seconds``; what each measured."""
    running: dict[str, tuple[Kind, subprocess.Popen[str]]] = {}
    for kind in storm:
        script = work / f"storm-{kind.name}.lua"
        script.write_text(kind.script)
        command = ["wrk", "-t1", f"-c{kind.connections}", f"-d{seconds}s", "--timeout", "10s"]
        running[kind.name] = (
            kind,
            subprocess.Popen(
                [*command, "-s", str(script), url],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            ),
        )
    found: dict[str, dict[str, Any]] = {}
    for name, (kind, process) in running.items():
        out, err = process.communicate(timeout=seconds + 60)
        line = next((x for x in out.splitlines() if x.startswith("WRK_JSON ")), None)
        if process.returncode != 0 or line is None:
            raise BenchError(f"wrk ({name}) failed ({process.returncode}): {err.strip() or out}")
        found[name] = {"label": kind.label, "connections": kind.connections}
        found[name].update(kind_figures(json.loads(line.removeprefix("WRK_JSON "))))
    return found


def kind_figures(wrk: dict[str, int]) -> dict[str, Any]:
    """A kind's figures from what its ``wrk`` printed (durations in µs)."""
    seconds = wrk["us"] / 1e6
    return {
        "requests": wrk["requests"],
        "rps": round(wrk["requests"] / seconds, 1) if seconds else 0.0,
        "p50_ms": wrk["p50"] / 1000,
        "p99_ms": wrk["p99"] / 1000,
        "ok": wrk["ok"],
        "refused_4xx": wrk["refused"],
        "failed_5xx": wrk["failed"],
        "unavailable_503": wrk["unavailable"],
        "socket_errors": wrk["socket"],
    }


def storm_verdict(kinds_found: dict[str, dict[str, Any]], failed_runs: int) -> bool:
    """The goal: no 5xx of any kind (a 503 included), no socket error, no failed escalation."""
    return failed_runs == 0 and all(
        k["failed_5xx"] == 0 and k["socket_errors"] == 0 for k in kinds_found.values()
    )


class Clock(threading.Thread):
    """Moves up to three open, unescalated actions of ``events`` a minute past due every
    ``CLOCK_SECONDS``, each in a statement and transaction of its own (one row lock, taken
    while holding none: the clock takes part in no deadlock)."""

    def __init__(self, database_url: str, events: list[str]) -> None:
        super().__init__(daemon=True)
        self.database_url = database_url
        self.events = [uuid.UUID(e) for e in events]
        self.stopped = threading.Event()
        self.moved = 0

    def run(self) -> None:
        asyncio.run(self._tick())

    async def _tick(self) -> None:
        engine = make_engine(Settings(database_url=self.database_url))
        try:
            while not self.stopped.is_set():
                now = datetime.now(UTC)
                still_open = (
                    Action.state.in_(OPEN_STATES),
                    Action.escalated_at.is_(None),
                    Action.due_at > now,
                )
                async with engine.begin() as connection:
                    due = list(
                        await connection.scalars(
                            select(Action.id)
                            .where(Action.event_id.in_(self.events), *still_open)
                            .limit(3)
                        )
                    )
                for action_id in due:
                    async with engine.begin() as connection:
                        moved = await connection.execute(
                            update(Action)
                            .where(Action.id == action_id, *still_open)
                            .values(due_at=now - timedelta(minutes=1))
                        )
                        self.moved += moved.rowcount
                await asyncio.to_thread(self.stopped.wait, CLOCK_SECONDS)
        finally:
            await engine.dispose()


def escalated(url: str, auth: dict[str, str], events: list[str]) -> int:
    """How many ``action_overdue`` entries the events' timelines hold."""
    total = 0
    with httpx.Client(base_url=url, timeout=30, trust_env=False) as client:
        for event_id in events:
            params: dict[str, Any] = {"limit": 200}
            while True:
                page = client.get(
                    f"/api/v1/events/{event_id}/timeline", params=params, headers=auth
                )
                body = page.json()
                total += sum(1 for e in body["items"] if e["kind"] == "action_overdue")
                if not body.get("next"):
                    break
                params = {"limit": 200, "cursor": body["next"]}
    return total


def measure_storm(backend: str, database_url: str, seconds: int) -> dict[str, Any]:
    """The storm mix on a fresh, empty database at ``database_url``."""
    workers = STORM_WORKERS[backend]
    with tempfile.TemporaryDirectory(prefix="outage-storm-") as folder:
        work = Path(folder)
        env = {
            **os.environ,
            "OUTAGE_DATABASE_URL": database_url,
            "OUTAGE_VAR_DIR": str(work),
            "OUTAGE_ESCALATION_INTERVAL_SECONDS": str(ESCALATION_SECONDS),
        }
        servers.cli("db", "upgrade", env=env)
        auth = servers.new_tokens(env, TOKENS)
        port = servers.free_port()
        log = work / "storm-service.log"
        command = servers.service_command(port, workers)
        with servers.server(command, env, log) as service:
            url = f"http://127.0.0.1:{port}"
            servers.wait_ready(url + "/healthz", service, log)
            event_id, other_id, actions = prepare(url, auth)
            clock = Clock(database_url, [event_id, other_id])
            clock.start()
            try:
                found = run_kinds(url, kinds(auth, event_id, other_id, actions), seconds, work)
            finally:
                clock.stopped.set()
                clock.join()
            overdue = escalated(url, auth["dispatcher"], [event_id, other_id])
            failed_runs = log.read_text(errors="replace").count("raised an exception")
    return {
        "status": "ok",
        "workers": workers,
        "seconds": seconds,
        "escalation_interval_s": ESCALATION_SECONDS,
        "kinds": found,
        "moved_past_due": clock.moved,
        "escalated": overdue,
        "escalation_failed_runs": failed_runs,
        "meets_goal": storm_verdict(found, failed_runs),
    }
