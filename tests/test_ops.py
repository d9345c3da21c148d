"""``serve --workers 2`` as it ships, on SQLite: /metrics gives the service's totals whichever
worker answers (prometheus-client's multiprocess mode), and the log is one JSON line per request
with its id, from both workers; ``audit verify`` finds the chains the workers wrote whole."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.helpers import cli, cli_tokens, county, report, serve, service_env

REPORTS = 16
POSTED = {"route": "/api/v1/reports", "method": "POST", "status": "2xx"}


def totals(text: str) -> tuple[float, float]:
    """Reports received, and POST /api/v1/reports requests timed."""
    received = timed = -1.0
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "outage_reports_received_total":
                received = sample.value
            if sample.name == "outage_http_request_duration_seconds_count" and (
                sample.labels == POSTED
            ):
                timed = sample.value
    return received, timed


async def post_apart(url: str, headers: dict[str, str]) -> list[str]:
    """Every report on a connection of its own, all at once, so that both workers take some;
    the request ids the answers echo."""

    async def one(minute: int) -> str:
        async with httpx.AsyncClient(base_url=url, timeout=30) as client:
            body = report(county("330603", 200, 10 + minute), minutes=minute)
            answer = await client.post("/api/v1/reports", json=body, headers=headers)
            assert answer.status_code == 201, answer.text
            return answer.headers["x-request-id"]

    return await asyncio.gather(*(one(minute) for minute in range(REPORTS)))


def test_metrics_and_logs_across_two_workers(tmp_path: Path) -> None:
    env = service_env(f"sqlite+aiosqlite:///{tmp_path / 'ops.db'}", tmp_path / "var")
    env["OUTAGE_ESCALATION_INTERVAL_SECONDS"] = "0"
    cli(env, "db", "upgrade")
    dispatcher = cli_tokens(env, {"城调": ["--role", "dispatcher"]})["城调"]
    with serve(env, workers=2, log=tmp_path / "serve.log", upgrade=False) as service:
        ids = asyncio.run(post_apart(service.url, dispatcher))
        scrapes = [httpx.get(f"{service.url}/metrics", timeout=10) for _ in range(6)]
        files = sorted(p.name for p in (tmp_path / "var" / "metrics").iterdir())
        log = service.log_text()

    assert all(s.status_code == 200 for s in scrapes)
    assert {totals(s.text) for s in scrapes} == {(REPORTS, REPORTS)}
    workers = {name.rsplit("_", 1)[1] for name in files if name.startswith("histogram_")}
    assert len(workers) == 2, files  # both workers timed requests, and every scrape adds them up

    lines = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    posted = [x for x in lines if x.get("event") == "request" and x["path"] == "/api/v1/reports"]
    assert sorted(x["request_id"] for x in posted) == sorted(ids)
    assert all(x["status"] == 201 and x["duration_ms"] > 0 for x in posted)
    assert any(x["logger"].startswith("uvicorn") for x in lines)  # uvicorn's own lines too
    assert "every hash chain holds" in cli(env, "audit", "verify")
