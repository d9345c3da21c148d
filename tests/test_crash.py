"""``kill -9`` of the server under load, then a restart on the same database: every report that
was answered 201 is there (issue 9; design § Concurrency: "a 201 is a promise", across a crash
or a restart).

The service runs as it ships (``db upgrade``, then ``serve``), on PostgreSQL with two workers
and on SQLite with one, in a process group of its own. Dispatchers of four counties post reports
on their events for ``LOAD_SECONDS``; then the whole group (supervisor and workers) is killed
with SIGKILL while requests are in flight. Those get no answer, and may or may not have been
stored; every report that was answered 201 before the kill must be listed under its event once
the service is started again, and the events must take reports again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.helpers import (
    SERVED_BACKENDS,
    SERVED_IDS,
    cli,
    cli_tokens,
    county,
    every_item,
    report,
    serve,
    served_database,
    service_env,
)

pytestmark = pytest.mark.process

LOAD_SECONDS = 2.0
COUNTIES = ["330603", "330604", "330624", "330681"]
# 200 MW grids losing 20–60%: below threshold, IV and (over 60%) III, so that some reports
# start or raise a response and dispatch its checklist while the server is killed.
LOSSES = [40, 70, 90, 110, 130]


@dataclass(frozen=True)
class Crash:
    env: dict[str, str]
    workers: int
    dispatcher: dict[str, str]
    work: Path


@pytest.fixture(params=SERVED_BACKENDS, ids=SERVED_IDS)
def crash(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Crash]:
    backend, workers = request.param
    with ExitStack() as stack:
        url = served_database(stack, backend, tmp_path, "outage_crash")
        env = service_env(url, tmp_path / "var", escalation_interval_seconds="1")
        cli(env, "db", "upgrade")
        token = cli_tokens(env, {"dispatcher": ["--role", "dispatcher"]})["dispatcher"]
        yield Crash(env, workers, token, tmp_path)


async def test_reports_answered_201_survive_kill_9(crash: Crash) -> None:
    accepted: dict[str, set[str]] = {}  # event id → ids of the reports answered 201
    unanswered: list[str] = []
    killed = False
    log = crash.work / "serve.log"

    async def dispatcher(client: httpx.AsyncClient, region: str) -> None:
        event_id: str | None = None
        turn = 0
        while not killed:
            turn += 1
            body = report(county(region, 200, LOSSES[turn % len(LOSSES)]), minutes=turn)
            if event_id is not None:
                body["event_id"] = event_id
            try:
                answer = await client.post("/api/v1/reports", json=body, headers=crash.dispatcher)
            except httpx.TransportError as exc:
                unanswered.append(type(exc).__name__)
                continue
            if answer.status_code in (409, 503) and "retry-after" in answer.headers:
                continue  # design § Concurrency: a conflict may be answered so; the client retries
            assert answer.status_code == 201, answer.text
            event_id = answer.json()["event_id"]
            accepted.setdefault(event_id, set()).add(answer.json()["report_id"])

    with serve(crash.env, crash.workers, log, upgrade=False) as first:  # the fixture upgraded
        async with httpx.AsyncClient(base_url=first.url, timeout=30) as client:
            load = asyncio.gather(*(dispatcher(client, region) for region in COUNTIES))
            await asyncio.sleep(LOAD_SECONDS)
            first.kill()
            killed = True
            await load
    stored = sum(len(ids) for ids in accepted.values())
    assert len(accepted) == len(COUNTIES) and stored >= 4 * len(COUNTIES), (
        f"too little load before the kill: {stored} reports on {len(accepted)} events"
    )

    with serve(crash.env, crash.workers, log) as second:
        async with httpx.AsyncClient(base_url=second.url, timeout=30) as client:
            lost: dict[str, int] = {}
            for event_id, ids in accepted.items():
                path = f"/api/v1/events/{event_id}/reports"
                listed = {r["id"] for r in await every_item(client, path, crash.dispatcher)}
                if missing := ids - listed:
                    lost[event_id] = len(missing)
            assert not lost, (
                f"{sum(lost.values())} of {stored} reports answered 201 are gone after kill -9 "
                f"and restart (per event: {lost}); {len(unanswered)} requests were cut off"
            )
            for n, event_id in enumerate(accepted):
                body = report(county(COUNTIES[n], 200, 30), minutes=10_000, event_id=event_id)
                again = await client.post("/api/v1/reports", json=body, headers=crash.dispatcher)
                assert again.status_code == 201, again.text
