"""GET /healthz when the database does not answer: 503 with Retry-After, saying only that (the
endpoint needs no token, and the driver's words name files, hosts and users); the detail goes to
the log, once for the incident."""

from __future__ import annotations

import logging
from pathlib import Path

import httpx
import pytest

from service.app import create_app
from service.config import Settings
from tests.helpers import free_port


@pytest.mark.parametrize(
    ("url", "logged"),
    [
        ("sqlite+aiosqlite:///{missing}/coordinator.db", "unable to open database file"),
        ("postgresql+asyncpg://postgres@127.0.0.1:{port}/outage", "Connect call failed"),
    ],
    ids=["sqlite", "postgres"],
)
async def test_an_unreachable_database_is_503_without_its_detail(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, url: str, logged: str
) -> None:
    database_url = url.format(missing=tmp_path / "no-such-folder", port=free_port())
    app = create_app(Settings(database_url=database_url, escalation_interval_seconds=0))
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://test") as client,
    ):
        with caplog.at_level(logging.INFO, logger="service.store.trouble"):
            response = await client.get("/healthz")
            again = await client.get("/healthz")

    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json() == {
        "type": "about:blank",
        "title": "Database unreachable",
        "status": 503,
        "detail": "the database did not answer",
        "database": "unreachable",
    }
    assert response.headers["retry-after"] == "5"
    assert again.json() == response.json()
    assert [r.getMessage() for r in caplog.records].count(caplog.records[0].getMessage()) == 1
    assert len(caplog.records) == 1 and logged in caplog.text
