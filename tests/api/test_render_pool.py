"""The render pool (service.api.render_pool): the evaluation report's page and PDF drawn in
processes of their own say what they say when drawn here, a full pool refuses one more page 503
with Retry-After, a render process that dies breaks nothing after it, a Ctrl-C to the process
group leaves the render processes to their worker, and the app's shutdown ends them.

On SQLite only: the pool draws from data the flow has already read, whatever the database."""

from __future__ import annotations

import asyncio
import contextlib
import operator
import os
import re
import select
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from service.api.evaluation_report import evaluation_page, evaluation_pdf
from service.api.render_pool import RenderPool
from service.app import create_app
from service.config import Settings
from service.errors import Unavailable
from service.flows.context import AppContext
from service.flows.events.evaluation import evaluate_event
from service.plan.actor import Actor
from service.store.migrate import upgrade
from service.store.tokens import create_token
from tests.helpers import REPO, county, post, report

pytestmark = pytest.mark.process  # render processes

API = "/api/v1"
KEQIAO = "330603"
OBSERVER = Actor(id=uuid.uuid4(), name="观察员", role="observer")


@dataclass
class Pooled:
    """An app whose pool has one render process and lets none wait, with an event on it."""

    app: FastAPI
    context: AppContext
    pool: RenderPool
    client: httpx.AsyncClient
    observer: dict[str, str]
    event_id: str


@pytest.fixture
async def pooled(tmp_path: Path) -> AsyncIterator[Pooled]:
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'c.db'}",
        var_dir=tmp_path / "var",
        escalation_interval_seconds=0,
        delivery_interval_seconds=0,
        render_workers=1,
        render_queue=0,
    )
    await asyncio.to_thread(upgrade, settings)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        context: AppContext = app.state.context
        headers = {}
        async with context.sessions() as session:
            for role in ("dispatcher", "observer"):
                _row, token = await create_token(
                    session,
                    context.playbooks.agencies,
                    context.playbooks.grids,
                    role=role,
                    name=role,
                )
                headers[role] = {"Authorization": f"Bearer {token}"}
            await session.commit()
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            first = await post(client, headers["dispatcher"], report(county(KEQIAO, 200, 90)))
            yield Pooled(
                app,
                context,
                app.state.render_pool,
                client,
                headers["observer"],
                first["event_id"],
            )


def same_chart_id(page: str) -> str:
    """The page with its chart's id (pygal draws a random one each time) made the same."""
    found = re.search(r'id="chart-([0-9a-f-]{36})"', page)
    assert found, "the page has no chart"
    return page.replace(found[1], "the-chart")


def pdf_text(pdf: bytes, folder: Path, name: str) -> str:
    path = folder / f"{name}.pdf"
    path.write_bytes(pdf)
    done = subprocess.run(["pdftotext", "-layout", path, "-"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout


async def test_the_page_and_the_pdf_drawn_in_the_pool_say_what_they_say_drawn_here(
    pooled: Pooled, tmp_path: Path
) -> None:
    report_read = await evaluate_event(pooled.context, OBSERVER, uuid.UUID(pooled.event_id))
    levels = pooled.context.playbooks.rules.levels
    pages = {}
    for locale in ("zh", "en"):  # the language crosses to the process with the report
        here = evaluation_page(report_read, levels, "/fonts/f.woff2", locale)
        pages[locale] = await pooled.pool.run(
            evaluation_page, report_read, levels, "/fonts/f.woff2", locale
        )
        assert same_chart_id(pages[locale]) == same_chart_id(here)
    assert pages["zh"] != pages["en"]
    pdf = await pooled.pool.run(evaluation_pdf, report_read, levels, "zh")
    assert pdf.startswith(b"%PDF-")
    printed_here = evaluation_pdf(report_read, levels, "zh")
    assert pdf_text(pdf, tmp_path, "pool") == pdf_text(printed_here, tmp_path, "here")


async def test_the_routes_draw_in_the_pool(pooled: Pooled) -> None:
    event = f"{API}/events/{pooled.event_id}/evaluation"
    page = await pooled.client.get(f"{event}.html", headers=pooled.observer)
    assert page.status_code == 200, page.text
    assert "柯桥区" in page.text
    pdf = await pooled.client.get(f"{event}.pdf", headers=pooled.observer)
    assert pdf.status_code == 200, pdf.text
    assert pdf.content.startswith(b"%PDF-")
    assert pooled.pool.in_hand == 0


async def test_a_full_pool_answers_503_with_retry_after(pooled: Pooled) -> None:
    busy = asyncio.create_task(pooled.pool.run(time.sleep, 3))
    await wait_for(lambda: pooled.pool.in_hand == 1)
    event = f"{API}/events/{pooled.event_id}/evaluation"
    for suffix, language, said in (
        (".pdf", "en", "as many pages and PDFs as this worker takes are being drawn (1)"),
        (".html", "zh-CN", "正在生成的页面和 PDF 已达上限（1 份）"),
    ):
        headers = {**pooled.observer, "Accept-Language": language}
        refused = await pooled.client.get(f"{event}{suffix}", headers=headers)
        assert refused.status_code == 503, refused.text
        assert refused.headers["content-type"] == "application/problem+json"
        assert int(refused.headers["Retry-After"]) >= 1
        assert said in refused.json()["detail"]
    await busy
    assert pooled.pool.in_hand == 0
    page = await pooled.client.get(f"{event}.html", headers=pooled.observer)
    assert page.status_code == 200


async def test_a_render_waits_for_a_place_and_one_more_is_refused() -> None:
    pool = RenderPool(workers=1, queue=1)
    try:
        first = asyncio.create_task(pool.run(time.sleep, 1.5))
        second = asyncio.create_task(pool.run(operator.add, 2, 3))
        await wait_for(lambda: pool.in_hand == 2)
        with pytest.raises(Unavailable) as refused:
            await pool.run(operator.add, 1, 1)
        assert refused.value.retry_after >= 1
        await first
        assert await second == 5  # it waited for the one process
        assert pool.in_hand == 0
        # the time of the renders done now says when to come back: 1.5 s and nearly 0
        assert pool.retry_after() == 1
    finally:
        await pool.close()


async def test_a_request_given_up_keeps_its_place_until_its_drawing_ends() -> None:
    pool = RenderPool(workers=1, queue=0)
    try:
        given_up = asyncio.create_task(pool.run(time.sleep, 1.5))
        await wait_for(lambda: pool.in_hand == 1)
        await asyncio.sleep(0.3)  # the process has it by now
        given_up.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await given_up
        assert pool.in_hand == 1  # still drawing
        await wait_for(lambda: pool.in_hand == 0)
        assert await pool.run(operator.add, 2, 2) == 4
    finally:
        await pool.close()


async def test_a_render_process_that_dies_is_replaced() -> None:
    pool = RenderPool(workers=1, queue=0)
    try:
        with pytest.raises(Unavailable):
            await pool.run(os._exit, 1)  # as an out-of-memory kill would end it
        assert pool.in_hand == 0
        assert await pool.run(operator.add, 2, 3) == 5
    finally:
        await pool.close()


async def test_a_ctrl_c_to_the_process_group_leaves_the_render_processes_to_their_worker() -> None:
    pool = RenderPool(workers=1, queue=0)
    try:
        pid = await pool.run(os.getpid)
        os.kill(pid, signal.SIGINT)
        os.kill(pid, signal.SIGTERM)
        await asyncio.sleep(0.3)
        assert await pool.run(os.getpid) == pid
        assert await pool.run(os.nice, 0) > 0  # drawing yields to requests
    finally:
        await pool.close()
    assert not running(pid)


# A worker that draws one page, says its render process's id, and waits to be killed.
WORKER = """
import asyncio, os
from service.api.render_pool import RenderPool

async def main():
    # held for the worker's life, as the app holds its pool: an executor collected as garbage
    # shuts its processes down, which is no worker's death
    pool = RenderPool(1, 0)
    print(await pool.run(os.getpid), flush=True)
    await asyncio.sleep(120)

asyncio.run(main())
"""


def test_a_render_process_ends_when_its_worker_is_killed() -> None:
    command = [sys.executable, "-c", WORKER]
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True, cwd=REPO) as worker:
        try:
            assert worker.stdout is not None
            said, _, _ = select.select([worker.stdout], [], [], 60)
            assert said, "the worker drew nothing within a minute"
            pid = int(worker.stdout.readline())
            assert running(pid)
        finally:
            worker.kill()  # no shutdown: as kill -9 ends a worker
    deadline = time.monotonic() + 30
    while running(pid):
        assert time.monotonic() < deadline, "the render process outlived its worker"
        time.sleep(0.05)


async def test_the_apps_shutdown_ends_its_render_processes(tmp_path: Path) -> None:
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'c.db'}",
        var_dir=tmp_path / "var",
        escalation_interval_seconds=0,
        delivery_interval_seconds=0,
        render_workers=2,
    )
    await asyncio.to_thread(upgrade, settings)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        pool: RenderPool = app.state.render_pool
        pids = set(await asyncio.gather(*(pool.run(slow_pid, 0.5) for _ in range(2))))
        assert len(pids) == 2 and all(running(pid) for pid in pids)
    assert not any(running(pid) for pid in pids)
    with pytest.raises(Unavailable):
        await pool.run(os.getpid)
    assert pool.in_hand == 0


def slow_pid(seconds: float) -> int:
    """This process's id, after ``seconds`` (two at once land in two processes)."""
    time.sleep(seconds)
    return os.getpid()


def running(pid: int) -> bool:
    """The process is there and not a zombie."""
    with contextlib.suppress(FileNotFoundError):
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        return state != "Z"
    return False


async def wait_for(condition: Any, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "not within the time"
        await asyncio.sleep(0.02)
