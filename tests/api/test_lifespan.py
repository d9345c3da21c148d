"""A worker that stops lets the job run under way finish, and says nothing of it as an error."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

import pytest

import service.app
from service.app import create_app
from service.config import Settings
from service.flows.actions.escalation import Chased
from service.store.migrate import upgrade


async def test_stopping_waits_for_the_escalation_run_under_way(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'c.db'}",
        var_dir=tmp_path / "var",
        escalation_interval_seconds=60,  # the first run is at once
        delivery_interval_seconds=0,
    )
    await asyncio.to_thread(upgrade, settings)
    started, finished = asyncio.Event(), asyncio.Event()

    async def slow_pass(*_args: Any) -> Chased:
        started.set()
        await asyncio.sleep(0.2)  # a pass still going when the worker is told to stop
        finished.set()
        return Chased(0, 0)

    monkeypatch.setattr(service.app, "escalate_overdue", slow_pass)
    app = create_app(settings)
    with caplog.at_level(logging.INFO):
        async with app.router.lifespan_context(app):
            await asyncio.wait_for(started.wait(), 10)
        assert finished.is_set()
        await asyncio.sleep(0)  # the scheduler's callback for the ended run
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not errors, [r.getMessage() for r in errors]
