"""``serve --workers 2`` as it ships, on SQLite: /metrics gives the service's totals whichever
worker answers (prometheus-client's multiprocess mode), and the log is one JSON line per request
with its id, from both workers; ``audit verify`` finds the chains the workers wrote whole.

Which worker accepts a connection is the kernel's choice, and it promises no spread. So each
worker is made to serve while the other is busy: the other is stopped (SIGSTOP) for the few
requests that must reach this one, then let go (SIGCONT). A stopped worker accepts nothing, so
those requests can only be the running worker's.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.helpers import cli, cli_tokens, county, report, serve, service_env

pytestmark = pytest.mark.process

REPORTS = 16
POSTED = {"route": "/api/v1/reports", "method": "POST", "status": "2xx"}


def totals(text: str) -> tuple[float, float]:
    """Reports received, and POST /api/v1/reports requests counted."""
    received = timed = -1.0
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "outage_reports_received_total":
                received = sample.value
            if sample.name == "outage_http_requests_total" and (sample.labels == POSTED):
                timed = sample.value
    return received, timed


async def post_apart(url: str, headers: dict[str, str]) -> list[str]:
    """Every report on a connection of its own, all at once; the request ids the answers echo."""

    async def one(minute: int) -> str:
        async with httpx.AsyncClient(base_url=url, timeout=30) as client:
            body = report(county("330603", 200, 10 + minute), minutes=minute)
            answer = await client.post("/api/v1/reports", json=body, headers=headers)
            assert answer.status_code == 201, answer.text
            return answer.headers["x-request-id"]

    return await asyncio.gather(*(one(minute) for minute in range(REPORTS)))


@contextmanager
def stopped(pid: int) -> Iterator[None]:
    """The worker ``pid`` stopped for the block: the other worker alone accepts connections.
    The supervisor replaces a worker silent for ``OUTAGE_WORKER_HEALTHCHECK_SECONDS``, so the
    block sends one request; were the worker replaced, its successor serves in its stead."""
    os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        with suppress(ProcessLookupError):
            os.kill(pid, signal.SIGCONT)


def alone(url: str, method: str, path: str, **kw: Any) -> httpx.Response:
    """One request on a connection of its own."""
    with httpx.Client(base_url=url, timeout=30, trust_env=False) as client:
        return client.request(method, path, **kw)


def test_metrics_and_logs_across_two_workers(tmp_path: Path) -> None:
    env = service_env(f"sqlite+aiosqlite:///{tmp_path / 'ops.db'}", tmp_path / "var")
    env["OUTAGE_ESCALATION_INTERVAL_SECONDS"] = "0"
    # No deliverer either: its tick is a write transaction each second, and a worker stopped
    # within one would hold SQLite's one writer lock while the other is asked to take a report.
    env["OUTAGE_DELIVERY_INTERVAL_SECONDS"] = "0"
    cli(env, "db", "upgrade")
    dispatcher = cli_tokens(env, {"城调": ["--role", "dispatcher"]})["城调"]
    with serve(env, workers=2, log=tmp_path / "serve.log", upgrade=False) as service:
        ids = asyncio.run(post_apart(service.url, dispatcher))
        workers = service.worker_pids()
        assert len(workers) == 2, workers
        # each worker takes a report while the other is stopped, so that both time requests
        for busy, minute in zip(workers, (REPORTS, REPORTS + 1), strict=True):
            body = report(county("330603", 200, 10 + minute), minutes=minute)
            with stopped(busy):
                answer = alone(
                    service.url, "POST", "/api/v1/reports", json=body, headers=dispatcher
                )
            assert answer.status_code == 201, answer.text
            ids.append(answer.headers["x-request-id"])
        # then each worker answers a scrape while the other is stopped, and some answer freely
        scrapes = []
        for busy in workers:
            with stopped(busy):
                scrapes.append(alone(service.url, "GET", "/metrics"))
        scrapes += [httpx.get(f"{service.url}/metrics", timeout=10) for _ in range(4)]
        files = sorted(p.name for p in (tmp_path / "var" / "metrics").iterdir())
        log = service.log_text()

    posted_total = REPORTS + 2
    assert all(s.status_code == 200 for s in scrapes)
    assert {totals(s.text) for s in scrapes} == {(posted_total, posted_total)}
    timed = {name.rsplit("_", 1)[1] for name in files if name.startswith("histogram_")}
    assert len(timed) >= 2, files  # two workers timed requests, and every scrape adds them up

    lines = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    posted = [x for x in lines if x.get("event") == "request" and x["path"] == "/api/v1/reports"]
    assert sorted(x["request_id"] for x in posted) == sorted(ids)
    assert all(x["status"] == 201 and x["duration_ms"] > 0 for x in posted)
    assert any(x["logger"].startswith("uvicorn") for x in lines)  # uvicorn's own lines too
    assert "哈希链全部完整" in cli(env, "audit", "verify")
