"""Queued rows (service.writes): read back in their transaction, stored as the ORM stores them,
dropped on rollback, refused whole on a duplicate, split under PostgreSQL's parameter limit."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import event as sa_event
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from models import Event, EventGrid, IdempotencyRecord, TimelineEntry
from models.base import table_of
from service.flows.context import AppContext
from service.plan.actor import Actor
from service.store import batch as writes
from service.store import timeline
from tests.helpers import MakeToken

NOW = datetime(2026, 7, 20, 6, 0, 0, 123456, tzinfo=UTC)
SHANGHAI = timezone(timedelta(hours=8))


def new_event(**columns: Any) -> Event:
    values: dict[str, Any] = {
        "id": uuid.uuid4(),
        "state": "monitoring",
        "drill": False,
        "opened_at": NOW,
        "updated_at": NOW,
        "basis": [],
    }
    return Event(**{**values, **columns})


def grid_row(event_id: uuid.UUID, region: str) -> dict[str, Any]:
    return {
        "event_id": event_id,
        "region": region,
        "scope": "county",
        "load_mw": Decimal("151.0"),
        "load_lost_mw": Decimal("60.4"),
        "customers": 120_000,
        "customers_out": None,
        "observed_at": NOW.astimezone(SHANGHAI),
        "peak_load_lost_mw": Decimal("60.400001"),
        "peak_customers_out": None,
    }


async def actor_of(make_token: MakeToken, context: AppContext) -> Actor:
    headers = await make_token("dispatcher")
    return await context.tokens.verify(headers["Authorization"].removeprefix("Bearer "))


async def test_a_transaction_reads_what_it_queued(context: AppContext) -> None:
    event = new_event()
    async with context.sessions() as session:
        writes.queue_object(session, event)
        for n in range(3):
            timeline.record(session, event.id, "note", None, f"entry {n}", at=NOW)
        assert writes.is_queued(session, event)
        found = list(
            await session.scalars(
                select(TimelineEntry.summary)
                .where(TimelineEntry.event_id == event.id)
                .order_by(TimelineEntry.seq)
            )
        )
        assert found == ["entry 0", "entry 1", "entry 2"]
        assert not writes.is_queued(session, event)
        # From here the session tracks the event like a loaded one: a change is an UPDATE.
        event.state = "warning"
        await session.commit()
    async with context.sessions() as session:
        assert await session.scalar(select(Event.state).where(Event.id == event.id)) == "warning"


async def test_queued_rows_are_stored_as_the_orm_stores_them(context: AppContext) -> None:
    columns = {
        "etr": NOW.astimezone(SHANGHAI) + timedelta(hours=3),
        "level": "IV",
        "basis": [{"metric": "load", "value": "0.4", "note": "越城区"}],
    }
    by_orm, queued = new_event(**columns), new_event(**columns)
    async with context.sessions() as session:
        session.add(by_orm)
        await session.flush()
        writes.queue_object(session, queued)
        session.add(EventGrid(**grid_row(by_orm.id, "330602")))
        writes.queue(session, table_of(EventGrid), [grid_row(queued.id, "330602")])
        await session.commit()
    ids = [by_orm.id, queued.id]
    async with context.read_sessions() as session:
        events = {e.id: e for e in await session.scalars(select(Event).where(Event.id.in_(ids)))}
        grids = {
            g.event_id: g
            for g in await session.scalars(select(EventGrid).where(EventGrid.event_id.in_(ids)))
        }
    skip = {"id", "event_id"}
    for model, rows in ((Event, events), (EventGrid, grids)):
        names = [c.key for c in table_of(model).columns if c.key not in skip]
        stored = [{n: getattr(rows[key], n) for n in names} for key in (by_orm.id, queued.id)]
        assert stored[0] == stored[1]
    assert grids[queued.id].peak_load_lost_mw == Decimal("60.400001")
    assert events[queued.id].etr == columns["etr"]
    assert events[queued.id].etr.tzinfo == UTC


async def test_a_rollback_drops_the_queue(context: AppContext) -> None:
    event = new_event()
    async with context.sessions() as session:
        writes.queue_object(session, event)
        timeline.record(session, event.id, "note", None, "never written", at=NOW)
        await session.rollback()
        await session.commit()
    async with context.sessions() as session:
        assert await session.get(Event, event.id) is None
        assert await session.scalar(select(func.count()).select_from(TimelineEntry)) == 0


async def test_a_duplicate_refuses_the_whole_transaction(
    context: AppContext, make_token: MakeToken
) -> None:
    actor = await actor_of(make_token, context)
    record = {
        "token_id": actor.id,
        "key": "k-1",
        "request_hash": "0" * 64,
        "status": 201,
        "response": {"ok": True},
        "created_at": NOW,
    }
    table = table_of(IdempotencyRecord)
    event = new_event()
    async with context.sessions() as session:
        writes.queue_object(session, event)
        writes.queue(session, table, [record, record])
        with pytest.raises(IntegrityError):
            await session.commit()
        await session.rollback()
    async with context.sessions() as session:
        assert await session.get(Event, event.id) is None
        assert await session.scalar(select(func.count()).select_from(table)) == 0


async def test_rows_beyond_the_parameter_limit_are_split(
    context: AppContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(writes, "MAX_PARAMETERS", 50)  # 6 timeline rows of 8 columns a statement
    event = new_event()
    async with context.sessions() as session:
        writes.queue_object(session, event)
        for n in range(40):
            timeline.record(session, event.id, "note", None, f"entry {n}", at=NOW)
        await session.commit()
    async with context.sessions() as session:
        found = list(
            await session.scalars(
                select(TimelineEntry.summary)
                .where(TimelineEntry.event_id == event.id)
                .order_by(TimelineEntry.seq)
            )
        )
    assert found == [f"entry {n}" for n in range(40)]


async def test_one_insert_statement_for_a_new_event_on_postgresql(context: AppContext) -> None:
    if context.settings.is_sqlite:
        pytest.skip("on SQLite the rows go in one worker-thread call, below the cursor events")
    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    event = new_event()
    async with context.sessions() as session:
        writes.queue_object(session, event)
        writes.queue(session, table_of(EventGrid), [grid_row(event.id, "330603")])
        timeline.record(session, event.id, "note", None, "one", at=NOW)
        sa_event.listen(context.engine.sync_engine, "before_cursor_execute", count)
        try:
            await session.commit()
        finally:
            sa_event.remove(context.engine.sync_engine, "before_cursor_execute", count)
    inserts = [s for s in statements if "INSERT" in s]
    assert len(inserts) == 1, statements
    assert inserts[0].lstrip().startswith("WITH")


@pytest.mark.parametrize(
    ("rows", "reason"),
    [
        ([{"region": "330602"}, {"scope": "county"}], "name different columns"),
        ([{"key": "k", "token_id": uuid.uuid4()}], "leave out ['created_at']"),
    ],
)
async def test_malformed_rows_are_a_programming_error(
    context: AppContext, rows: list[dict[str, Any]], reason: str
) -> None:
    table = table_of(EventGrid if "region" in rows[0] or "scope" in rows[0] else IdempotencyRecord)
    async with context.sessions() as session:
        writes.queue(session, table, rows)
        with pytest.raises(ValueError, match=reason.replace("[", r"\[").replace("]", r"\]")):
            await session.commit()


SENDS_SQL = {
    "execute": lambda s, e: s.execute(select(Event.id).where(Event.id == e.id)),
    "scalar": lambda s, e: s.scalar(select(Event.id).where(Event.id == e.id)),
    "scalars": lambda s, e: s.scalars(select(Event.id).where(Event.id == e.id)),
    "get": lambda s, e: s.get(Event, e.id),
    "get_one": lambda s, e: s.get_one(Event, e.id),
    "stream": lambda s, e: s.stream(select(Event.id).where(Event.id == e.id)),
    "stream_scalars": lambda s, e: s.stream_scalars(select(Event.id).where(Event.id == e.id)),
    "flush": lambda s, e: s.flush(),
}


@pytest.mark.parametrize("method", sorted(SENDS_SQL))
async def test_every_statement_goes_after_the_queue(context: AppContext, method: str) -> None:
    event = new_event()
    async with context.sessions() as session:
        writes.queue_object(session, event)
        result = await SENDS_SQL[method](session, event)
        assert not writes.is_queued(session, event)
        if method.startswith("stream"):
            assert [row async for row in result]
            await result.close()
        elif method in ("execute", "scalars"):
            assert list(result)
        elif method != "flush":
            assert result is not None
        await session.rollback()
