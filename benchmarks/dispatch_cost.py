"""In process, no HTTP: what dispatching a level-I response's whole checklist costs.

On a migrated scratch database the service's own ``AppContext`` is opened; each run makes a fresh
event at level I (outside the measurement), then times ``service.flows.actions.dispatch.dispatch``
of every first-response and response item of level I that goes out at once (``immediate``: plan
4's later links wait for the one before them) to an event hitting one county, then the write
batch's write and the commit,
and counts the SQL statements sent in that time with a ``before_cursor_execute`` listener.
SQLite's count includes its ``BEGIN IMMEDIATE``, which asyncpg sends outside the cursor. The new
rows (actions, timeline) are written together by the write batch (``service.store.batch``): on
PostgreSQL that is one INSERT statement, counted; on SQLite one call on aiosqlite's worker
thread, below SQLAlchemy's cursor events, so not counted.
"""

from __future__ import annotations

import asyncio
import re
import statistics
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import event as sa_event

from benchmarks.load import BenchError
from models import Event
from service.app import open_context
from service.config import Settings
from service.flows.actions.dispatch import dispatch, response_items
from service.flows.context import AppContext
from service.plan.actor import Actor, Role
from service.plan.addressees import Scene
from service.plan.levels import Level
from service.playbooks.checklists import ChecklistItem
from service.store.batch import WriteBatch
from service.store.tokens import create_token

LEVEL: Level = "I"
LEAD_HQ = "330600"
# The event the measure dispatches to: hitting 柯桥区 alone.
SCENE = Scene(LEAD_HQ, ("330603",))
WARMUP_RUNS = 2
_TABLE = re.compile(r"\b(?:INTO|FROM|UPDATE)\s+\"?(\w+)", re.IGNORECASE)


def statement_kind(statement: str) -> str:
    """``INSERT actions``, ``SELECT actions``, ``BEGIN``: the verb and the first table named."""
    verb = statement.split(None, 1)[0].upper() if statement.strip() else "?"
    table = _TABLE.search(statement)
    return f"{verb} {table.group(1)}" if table else verb


def immediate(items: list[ChecklistItem]) -> list[ChecklistItem]:
    """The items that go out when the response starts, one action each at one county: no link
    waiting for another (``after``), no circumstance (``when``)."""
    return [item for item in items if item.after is None and item.when is None]


async def bench_token(context: AppContext, role: Role, **scope: str) -> str:
    """A new token, made in the database the measure runs on."""
    async with context.sessions() as session:
        _row, token = await create_token(
            session,
            context.playbooks.agencies,
            context.playbooks.grids,
            role=role,
            name="bench",
            **scope,
        )
        await session.commit()
    return token


async def bench_actor(context: AppContext, role: Role, **scope: str) -> Actor:
    """A new token's actor, made in the database the measure runs on."""
    return await context.tokens.verify(await bench_token(context, role, **scope))


async def _new_event(context: AppContext, now: datetime) -> Event:
    event = Event(
        id=uuid.uuid4(),
        state="response",
        response_level=LEVEL,
        leading_hq=LEAD_HQ,
        opened_at=now,
        updated_at=now,
        basis=[],
    )
    async with context.sessions() as session:
        session.add(event)
        await session.commit()
    return event


async def _measure(database_url: str, runs: int) -> dict[str, Any]:
    settings = Settings(
        database_url=database_url, token_cache_seconds=0, escalation_interval_seconds=0
    )
    context = open_context(settings)
    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    try:
        actor = await bench_actor(context, "commander", region=LEAD_HQ)
        items = immediate(response_items(context.playbooks, LEVEL))
        totals: list[float] = []
        commits: list[float] = []
        counts: list[int] = []
        kinds: list[str] = []
        for run in range(WARMUP_RUNS + runs):
            now = datetime.now(UTC)
            event = await _new_event(context, now)
            async with context.sessions() as session:
                session.add(event)
                statements.clear()
                sa_event.listen(context.engine.sync_engine, "before_cursor_execute", count)
                try:
                    start = time.perf_counter()
                    async with WriteBatch(session) as batch:
                        created = await dispatch(
                            session, batch, context.playbooks, event, items, actor, now, SCENE
                        )
                        dispatched = time.perf_counter()
                    await session.commit()
                    end = time.perf_counter()
                finally:
                    sa_event.remove(context.engine.sync_engine, "before_cursor_execute", count)
            if created != len(items):
                raise BenchError(f"dispatch created {created} actions of {len(items)} items")
            if run >= WARMUP_RUNS:
                totals.append((end - start) * 1000)
                commits.append((end - dispatched) * 1000)
                counts.append(len(statements))
                kinds = [statement_kind(s) for s in statements]
        return {
            "status": "ok",
            "level": LEVEL,
            "items": len(items),
            "runs": runs,
            "median_ms": round(statistics.median(totals), 2),
            "min_ms": round(min(totals), 2),
            "max_ms": round(max(totals), 2),
            "commit_median_ms": round(statistics.median(commits), 2),
            "statements": round(statistics.median(counts)),
            "statements_min": min(counts),
            "statements_max": max(counts),
            "statement_kinds": kinds,
        }
    finally:
        await context.close()


def measure_dispatch(database_url: str, runs: int) -> dict[str, Any]:
    """Time and statements of dispatching level I's checklist ``runs`` times on a migrated
    database (after ``WARMUP_RUNS`` unmeasured ones)."""
    return asyncio.run(_measure(database_url, runs))
