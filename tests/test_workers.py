"""Two uvicorn workers at once, on SQLite and PostgreSQL: concurrent reports on one event lose
nothing that was acknowledged with a 201."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from models import EventGrid, Report, TimelineEntry
from service.config import Settings
from service.flows.context import AppContext
from tests.helpers import MakeToken, county, report, serve, service_env

pytestmark = pytest.mark.process


@pytest.fixture
def two_workers(settings: Settings, context: AppContext, tmp_path: Path) -> Iterator[str]:
    """``serve --workers 2`` on the test's own (migrated) database; its URL."""
    env = service_env(settings.database_url, settings.var_dir, escalation_interval_seconds="0")
    with serve(env, workers=2, log=tmp_path / "serve.log", upgrade=False) as service:
        yield service.url


async def test_concurrent_reports_across_two_workers(
    two_workers: str, make_token: MakeToken, context: AppContext
) -> None:
    dispatcher = await make_token("dispatcher")
    async with httpx.AsyncClient(base_url=two_workers, timeout=30) as client:
        first = await client.post(
            "/api/v1/reports", json=report(county("330603", 200, 10)), headers=dispatcher
        )
        assert first.status_code == 201
        event_id = first.json()["event_id"]
        bodies = [
            report(county("330603", 200, 10 + 2 * minute), minutes=minute, event_id=event_id)
            for minute in range(1, 41)
        ]
        answers = await asyncio.gather(
            *(client.post("/api/v1/reports", json=b, headers=dispatcher) for b in bodies)
        )
    assert sorted({a.status_code for a in answers}) == [201]
    async with context.sessions() as session:
        reports = await session.scalar(select(func.count()).select_from(Report))
        grid = await session.scalar(select(EventGrid).where(EventGrid.region == "330603"))
        started = await session.scalar(
            select(func.count())
            .select_from(TimelineEntry)
            .where(TimelineEntry.kind == "response_started")
        )
    assert reports == 41
    assert grid is not None and grid.load_lost_mw == 90  # the latest observation wins
    assert grid.peak_load_lost_mw == 90
    # 40% (level IV) is reached at minute 35: the response starts once, whatever the order
    assert started == 1
