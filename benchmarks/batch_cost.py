"""In process, no HTTP: a report's new rows written one statement per table, against the write
batch (``service.store.batch.WriteBatch``) writing them in one round trip.

Two shapes, the rows of a real report as the service writes them: below every threshold (event,
report, snapshot, grid and two timeline entries: five tables) and at level IV (the same plus the
checklist's actions and the dispatch's timeline entry). The one-at-a-time side sends one Core
``INSERT`` per table, parents first, with every row of the table (SQLAlchemy's own multi-row
path): the least the unit of work could do. Each run commits; the two sides alternate run by run,
so that a slow spell of this shared machine falls on both, and each side's median is reported
with the ratio of the medians.
"""

from __future__ import annotations

import asyncio
import statistics
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Table, insert
from sqlalchemy.ext.asyncio import AsyncSession

from benchmarks.dispatch_cost import bench_actor
from models import Action, Event, EventGrid, Report, ReportSnapshot, TimelineEntry
from models.base import table_of
from service.app import open_context
from service.config import Settings
from service.flows.actions.dispatch import response_items
from service.plan.chain import entry_hash
from service.store.batch import WriteBatch

WARMUP_RUNS = 3
Rows = list[tuple[Table, list[dict[str, Any]]]]


def report_rows(actor_id: uuid.UUID, actions: int, version: str) -> Rows:
    """The new rows of one report on a new event, parents first; ``actions`` dispatched."""
    now = datetime.now(UTC)
    event_id, report_id = uuid.uuid4(), uuid.uuid4()
    event: dict[str, Any] = {
        "id": event_id,
        "state": "response" if actions else "monitoring",
        "level": "IV" if actions else None,
        "peak_level": "IV" if actions else None,
        "response_level": "IV" if actions else None,
        "leading_hq": "330603" if actions else None,
        "drill": False,
        "opened_at": now,
        "updated_at": now,
        "closed_at": None,
        "etr": None,
        "basis": [],
    }
    figures = {"load_mw": Decimal("151"), "load_lost_mw": Decimal("20.5"), "customers": None}
    snapshot = {"report_id": report_id, "event_id": event_id, "observed_at": now}
    snapshot |= {"scope": "county", "region": "330603", "customers_out": None, **figures}
    grid = {"event_id": event_id, "region": "330603", "scope": "county", "observed_at": now}
    grid |= {"customers_out": None, "peak_load_lost_mw": Decimal("20.5"), **figures}
    grid["peak_customers_out"] = None
    report = {
        "id": report_id,
        "event_id": event_id,
        "observed_at": now,
        "received_at": now,
        "cause": "typhoon",
        "etr": None,
        "note": None,
        "level": event["level"],
        "basis": [],
        "actor_id": actor_id,
    }
    entry = {"event_id": event_id, "at": now, "actor_id": actor_id, "actor": "bench"}
    entry |= {"clause": "4", "data": {}}
    kinds = ["event_opened", "report"] + (["actions_dispatched"] if actions else [])
    timeline: list[dict[str, Any]] = []
    for seq, kind in enumerate(kinds, start=1):
        row = {**entry, "event_seq": seq, "kind": kind, "summary": kind}
        row["prev_hash"] = timeline[-1]["hash"] if timeline else None
        row["hash"] = entry_hash(row["prev_hash"], row)
        timeline.append(row)
    rows: Rows = [
        (table_of(Event), [event]),
        (table_of(Report), [report]),
        (table_of(ReportSnapshot), [snapshot]),
        (table_of(EventGrid), [grid]),
    ]
    if actions:
        action = {"event_id": event_id, "agency": "power-company", "phase": "response"}
        action |= {"level": "IV", "clause": "5.2.3", "title": "t", "detail": "d"}
        action |= {"state": "pending", "playbook_version": version, "dispatched_at": now}
        action |= {"due_at": now, "updated_at": now}
        rows.append(
            (
                table_of(Action),
                [{**action, "id": uuid.uuid4(), "key": f"k{n}"} for n in range(actions)],
            )
        )
    rows.append((table_of(TimelineEntry), timeline))
    return rows


async def one_statement_per_table(session: AsyncSession, rows: Rows) -> None:
    for table, found in rows:
        await session.execute(insert(table), found)


async def batched(session: AsyncSession, rows: Rows) -> None:
    async with WriteBatch(session) as batch:
        for table, found in rows:
            batch.add(table, found)


async def _measure(database_url: str, runs: int) -> dict[str, Any]:
    settings = Settings(
        database_url=database_url, token_cache_seconds=0, escalation_interval_seconds=0
    )
    context = open_context(settings)
    sides: dict[str, Callable[[AsyncSession, Rows], Any]] = {
        "one_per_table": one_statement_per_table,
        "batched": batched,
    }
    try:
        actor = (await bench_actor(context, "dispatcher")).id
        iv_actions = len(response_items(context.playbooks, "IV"))
        version = context.playbooks.checklists.version
        found: dict[str, Any] = {"status": "ok", "runs": runs}
        for shape, actions in (("below_threshold", 0), ("level_iv", iv_actions)):
            times: dict[str, list[float]] = {side: [] for side in sides}
            for run in range(WARMUP_RUNS + runs):
                for side, write in sides.items():
                    rows = report_rows(actor, actions, version)
                    async with context.sessions() as session:
                        start = time.perf_counter()
                        await write(session, rows)
                        await session.commit()
                        took = (time.perf_counter() - start) * 1000
                    if run >= WARMUP_RUNS:
                        times[side].append(took)
            medians = {side: statistics.median(t) for side, t in times.items()}
            found[shape] = {
                "tables": len(report_rows(actor, actions, version)),
                "rows": sum(len(r) for _t, r in report_rows(actor, actions, version)),
                **{f"{side}_median_ms": round(m, 3) for side, m in medians.items()},
                "speedup": round(medians["one_per_table"] / medians["batched"], 2),
            }
        return found
    finally:
        await context.close()


def measure_batch(database_url: str, runs: int) -> dict[str, Any]:
    """Median write-and-commit time of a report's rows, one statement per table against the
    write batch, ``runs`` times each (after ``WARMUP_RUNS`` unmeasured ones)."""
    return asyncio.run(_measure(database_url, runs))
