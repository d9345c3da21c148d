"""The write batch (service.store.batch), on SQLite and PostgreSQL: rows stored as the ORM stores
them, in one round trip, refused whole on a duplicate, split under PostgreSQL's parameter limit;
the five ways the old hidden queue lost or misordered rows, each now held; and the batch's own
three sharp edges, each now held: a row added after the block, an order other than the calls',
a server default overwritten with NULL."""

from __future__ import annotations

import inspect
import re
import subprocess
import sys
import textwrap
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager, nullcontext
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import aiosqlite
import pytest
from sqlalchemy import (
    BigInteger,
    Column,
    Computed,
    DateTime,
    Identity,
    Integer,
    MetaData,
    String,
    Table,
    func,
    select,
)
from sqlalchemy import event as sa_event
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from models import (
    Attestation,
    Base,
    EarlyWarning,
    Event,
    EventGrid,
    IdempotencyRecord,
    TimelineEntry,
)
from models.base import table_of
from service.flows.context import AppContext
from service.plan.actor import Actor
from service.store import bulk_insert, timeline
from service.store.batch import BatchClosed, WriteBatch
from service.store.tables import TABLES, describe_table
from tests.helpers import REPO, MakeToken

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


async def summaries(context: AppContext, event_id: uuid.UUID) -> list[str]:
    async with context.read_sessions() as session:
        return list(
            await session.scalars(
                select(TimelineEntry.summary)
                .where(TimelineEntry.event_id == event_id)
                .order_by(TimelineEntry.seq)
            )
        )


async def stored(context: AppContext, model: Any, key: Any) -> Any:
    async with context.read_sessions() as session:
        return await session.get(model, key)


@contextmanager
def statements_sent(context: AppContext) -> Iterator[list[str]]:
    sent: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        sent.append(statement)

    sa_event.listen(context.engine.sync_engine, "before_cursor_execute", count)
    try:
        yield sent
    finally:
        sa_event.remove(context.engine.sync_engine, "before_cursor_execute", count)


async def test_the_block_writes_the_batch_in_order_and_the_event_joins_the_session(
    context: AppContext,
) -> None:
    event = new_event()
    async with context.sessions() as session:
        async with WriteBatch(session) as batch:
            batch.add_object(event)
            for n in range(3):
                timeline.record(batch, event, "report", None, f"entry {n}", at=NOW)
            assert batch.holds(event)
        assert not batch.holds(event)
        # From here the session tracks the event like a loaded one: a change is an UPDATE.
        event.state = "warning"
        await session.commit()
    assert await summaries(context, event.id) == ["entry 0", "entry 1", "entry 2"]
    assert (await stored(context, Event, event.id)).state == "warning"


async def test_a_flow_reads_what_it_wrote_after_an_explicit_write(context: AppContext) -> None:
    event = new_event()
    async with context.sessions() as session:
        async with WriteBatch(session) as batch:
            batch.add_object(event)
            timeline.record(batch, event, "report", None, "first", at=NOW)
            await batch.write()
            found = await session.scalar(
                select(TimelineEntry.summary).where(TimelineEntry.event_id == event.id)
            )
            assert found == "first"
            timeline.record(batch, event, "report", None, "second", at=NOW)
        event_id = event.id
        await session.rollback()
    assert await stored(context, Event, event_id) is None


async def test_rows_are_stored_as_the_orm_stores_them(context: AppContext) -> None:
    columns = {
        "etr": NOW.astimezone(SHANGHAI) + timedelta(hours=3),
        "level": "IV",
        "basis": [{"metric": "load", "value": "0.4", "note": "越城区"}],
    }
    by_orm, batched = new_event(**columns), new_event(**columns)
    async with context.sessions() as session:
        session.add(by_orm)
        session.add(EventGrid(**grid_row(by_orm.id, "330602")))
        async with WriteBatch(session) as batch:
            batch.add_object(batched)
            batch.add(table_of(EventGrid), [grid_row(batched.id, "330602")])
        await session.commit()
    ids = [by_orm.id, batched.id]
    async with context.read_sessions() as session:
        events = {e.id: e for e in await session.scalars(select(Event).where(Event.id.in_(ids)))}
        grids = {
            g.event_id: g
            for g in await session.scalars(select(EventGrid).where(EventGrid.event_id.in_(ids)))
        }
    skip = {"id", "event_id"}
    for model, rows in ((Event, events), (EventGrid, grids)):
        names = [c.key for c in table_of(model).columns if c.key not in skip]
        values = [{n: getattr(rows[key], n) for n in names} for key in ids]
        assert values[0] == values[1]
    assert grids[batched.id].peak_load_lost_mw == Decimal("60.400001")
    assert events[batched.id].etr == columns["etr"]
    assert events[batched.id].etr.tzinfo == UTC


async def test_an_exception_in_the_block_writes_nothing(context: AppContext) -> None:
    event = new_event()
    async with context.sessions() as session:
        with pytest.raises(LookupError):
            async with WriteBatch(session) as batch:
                batch.add_object(event)
                timeline.record(batch, event, "report", None, "never written", at=NOW)
                raise LookupError("refused")
        await session.commit()
    assert await stored(context, Event, event.id) is None
    assert await summaries(context, event.id) == []


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
        with pytest.raises(IntegrityError):
            async with WriteBatch(session) as batch:
                batch.add_object(event)
                batch.add(table, [record, record])
        await session.rollback()
    assert await stored(context, Event, event.id) is None
    async with context.read_sessions() as session:
        assert await session.scalar(select(func.count()).select_from(table)) == 0


async def test_rows_beyond_the_parameter_limit_are_split(
    context: AppContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a statement takes at most 4 timeline rows (11 columns each) beside the event
    monkeypatch.setattr(bulk_insert, "MAX_PARAMETERS", 50)
    event = new_event()
    async with context.sessions() as session:
        async with WriteBatch(session) as batch:
            batch.add_object(event)
            for n in range(40):
                timeline.record(batch, event, "report", None, f"entry {n}", at=NOW)
        await session.commit()
    assert await summaries(context, event.id) == [f"entry {n}" for n in range(40)]


async def test_one_insert_statement_for_a_new_event_on_postgresql(context: AppContext) -> None:
    if context.settings.is_sqlite:
        pytest.skip("on SQLite the rows go in one worker-thread call, below the cursor events")
    event = new_event()
    async with context.sessions() as session:
        with statements_sent(context) as sent:
            async with WriteBatch(session) as batch:
                batch.add_object(event)
                batch.add(table_of(EventGrid), [grid_row(event.id, "330603")])
                timeline.record(batch, event, "report", None, "one", at=NOW)
            await session.commit()
    inserts = [s for s in sent if "INSERT" in s]
    assert len(inserts) == 1, sent
    assert inserts[0].lstrip().startswith("WITH")


async def opened_event(context: AppContext) -> Event:
    """A new event stored with its first timeline entry, "opened"."""
    event = new_event()
    async with context.sessions() as session:
        async with WriteBatch(session) as batch:
            batch.add_object(event)
            timeline.record(batch, event, "report", None, "opened", at=NOW)
        await session.commit()
    return event


async def test_a_stored_objects_changes_go_in_the_batchs_statement(context: AppContext) -> None:
    """A loaded event changed in the transaction (its level, its timeline head) is updated by
    the batch's one statement, not a statement of its own before it, and stands as written."""
    event = await opened_event(context)
    async with context.sessions() as session:
        loaded = await session.get(Event, event.id)
        assert loaded is not None
        with statements_sent(context) as sent:
            async with WriteBatch(session) as batch:
                loaded.level = "IV"
                loaded.basis = [{"clause": "1.5"}]
                timeline.record(batch, loaded, "report", None, "raised", at=NOW)
            assert not session.dirty  # written: nothing left for the flush
            await session.commit()
    assert not any(s.lstrip().startswith("UPDATE") for s in sent), sent
    if not context.settings.is_sqlite:  # SQLite's go below the cursor events, in one call
        assert len(sent) == 1 and "UPDATE events" in sent[0] and "INSERT" in sent[0], sent
    found = await stored(context, Event, event.id)
    assert (found.level, found.basis, found.timeline_seq) == ("IV", [{"clause": "1.5"}], 2)
    assert found.timeline_hash == loaded.timeline_hash
    assert await summaries(context, event.id) == ["opened", "raised"]


async def test_an_object_with_a_column_not_loaded_is_left_to_the_flush(
    context: AppContext,
) -> None:
    event = await opened_event(context)
    async with context.sessions() as session:
        loaded = await session.get(Event, event.id)
        assert loaded is not None
        session.expire(loaded, ["basis"])
        with statements_sent(context) as sent:
            async with WriteBatch(session) as batch:
                loaded.level = "III"
                batch.add(table_of(EventGrid), [grid_row(event.id, "330603")])
            await session.commit()
    assert any(s.lstrip().startswith("UPDATE events") for s in sent), sent
    assert (await stored(context, Event, event.id)).level == "III"


async def test_rows_of_a_table_naming_different_columns_are_a_programming_error(
    context: AppContext,
) -> None:
    event = new_event()
    rows = [grid_row(event.id, "330602"), {"event_id": event.id, "region": "330603"}]
    async with context.sessions() as session:
        with pytest.raises(ValueError, match="name different columns"):
            async with WriteBatch(session) as batch:
                batch.add_object(event)
                batch.add(table_of(EventGrid), rows)
        await session.rollback()


# --- the five ways the hidden queue lost or misordered rows ---------------------------------------


async def test_1_inside_session_begin_the_rows_are_committed(context: AppContext) -> None:
    """``async with session.begin()`` used to commit and drop the queued rows."""
    event = new_event()
    async with context.sessions() as session, session.begin(), WriteBatch(session) as batch:
        batch.add_object(event)
        timeline.record(batch, event, "report", None, "kept", at=NOW)
    assert (await stored(context, Event, event.id)) is not None
    assert await summaries(context, event.id) == ["kept"]


async def test_1_a_batch_left_unwritten_past_its_transaction_refuses_to_write(
    context: AppContext,
) -> None:
    """Written after the ``begin()`` block committed, the rows would land in a transaction of
    their own: the batch refuses, loudly, and writes nothing."""
    event = new_event()
    async with context.sessions() as session:
        async with session.begin():
            batch = await WriteBatch(session).__aenter__()
            batch.add_object(event)
        with pytest.raises(BatchClosed):
            await batch.write()
        await session.commit()
    assert await stored(context, Event, event.id) is None


async def test_2_rows_of_a_rolled_back_savepoint_are_not_committed(context: AppContext) -> None:
    """Rows queued inside a rolled-back ``begin_nested()`` used to be committed anyway."""
    kept, dropped, late = new_event(), new_event(), new_event()
    async with context.sessions() as session:
        async with WriteBatch(session) as outer:
            outer.add_object(kept)
        savepoint = await session.begin_nested()
        async with WriteBatch(session) as inner:
            inner.add_object(dropped)
            timeline.record(inner, dropped, "report", None, "in the savepoint", at=NOW)
        unwritten = await WriteBatch(session).__aenter__()
        unwritten.add_object(late)
        await savepoint.rollback()
        with pytest.raises(BatchClosed):
            await unwritten.write()
        await session.commit()
    assert (await stored(context, Event, kept.id)) is not None
    assert await stored(context, Event, dropped.id) is None
    assert await stored(context, Event, late.id) is None
    assert await summaries(context, dropped.id) == []


async def test_3_reset_does_not_carry_rows_into_the_next_transaction(context: AppContext) -> None:
    """``reset()`` used to carry the queue into the next transaction."""
    event, other = new_event(), new_event()
    async with context.sessions() as session:
        batch = await WriteBatch(session).__aenter__()
        batch.add_object(event)
        await session.reset()
        async with WriteBatch(session) as next_batch:
            next_batch.add_object(other)
        await session.commit()
        with pytest.raises(BatchClosed):
            await batch.write()
    assert await stored(context, Event, event.id) is None
    assert (await stored(context, Event, other.id)) is not None


async def test_4_a_batch_child_of_a_session_added_parent_keeps_its_foreign_key(
    context: AppContext, make_token: MakeToken
) -> None:
    """A queued child of a ``session.add``ed parent used to fail its foreign key at commit."""
    actor = await actor_of(make_token, context)
    event = new_event()
    async with context.sessions() as session:
        session.add(event)  # the parent, through the unit of work
        async with WriteBatch(session) as batch:
            timeline.record(batch, event, "report", None, "child", at=NOW)
            batch.add_object(
                Attestation(
                    id=uuid.uuid4(),
                    event_id=event.id,
                    condition="grid_stable",
                    evidence="主网架恢复",
                    actor_id=actor.id,
                    actor=actor.label,
                    at=NOW,
                )
            )
        await session.commit()
    assert await summaries(context, event.id) == ["child"]


async def test_5_python_side_defaults_are_applied(
    context: AppContext, make_token: MakeToken
) -> None:
    """A column's Python ``default=`` used to be ignored (stored NULL)."""
    actor = await actor_of(make_token, context)
    event = Event(
        id=uuid.uuid4(), state="monitoring", opened_at=NOW, updated_at=NOW
    )  # no drill, basis
    warning = EarlyWarning(  # no id, state or proposed_at
        area=["330603"], headline="台风", description="预计跳闸", proposed_by=actor.id
    )
    before = datetime.now(UTC)
    async with context.sessions() as session:
        async with WriteBatch(session) as batch:
            batch.add_object(event)
            warning.event_id = event.id
            batch.add_object(warning)
            batch.add(  # no at (default utcnow) nor data (default dict)
                table_of(TimelineEntry),
                [
                    {
                        "event_id": event.id,
                        "event_seq": 1,
                        "kind": "report",
                        "actor": "system",
                        "summary": "s",
                        "hash": "0" * 64,  # what timeline.record computes, beside the point here
                    }
                ],
            )
        await session.commit()
    assert isinstance(warning.id, uuid.UUID)
    row = await stored(context, Event, event.id)
    assert (row.drill, row.basis) == (False, [])
    saved = await stored(context, EarlyWarning, warning.id)
    assert saved.state == "proposed"
    assert saved.proposed_at >= before
    async with context.read_sessions() as session:
        entry = await session.scalar(
            select(TimelineEntry).where(TimelineEntry.event_id == event.id)
        )
    assert entry is not None
    assert entry.data == {}
    assert entry.at >= before


def test_the_private_aiosqlite_api_the_sqlite_path_uses_is_still_there() -> None:
    """The SQLite path runs its inserts in one hop through aiosqlite's ``Connection._execute``
    on ``Connection._conn`` (no public API does that). aiosqlite is pinned in the lock file;
    should an upgrade move either, this fails before the service does."""
    execute = getattr(aiosqlite.Connection, "_execute", None)
    assert execute is not None and inspect.iscoroutinefunction(execute)
    assert list(inspect.signature(execute).parameters)[:2] == ["self", "fn"]
    assert "_conn" in inspect.getsource(aiosqlite.Connection.__init__)


# --- the batch's three sharp edges ----------------------------------------------------------------


def attestation_of(event: Event, actor: Actor) -> Attestation:
    return Attestation(
        id=uuid.uuid4(),
        event_id=event.id,
        condition="grid_stable",
        evidence="主网架恢复",
        actor_id=actor.id,
        actor=actor.label,
        at=NOW,
    )


def add_one(batch: WriteBatch, adder: str, event: Event) -> None:
    if adder == "add":
        batch.add(table_of(EventGrid), [grid_row(event.id, "330602")])
    else:
        batch.add_object(new_event())


@pytest.mark.parametrize("adder", ["add", "add_object"])
@pytest.mark.parametrize("ending", ["written", "discarded"])
async def test_adding_after_the_block_ended_raises_instead_of_dropping_the_row(
    context: AppContext, adder: str, ending: str
) -> None:
    event = new_event()
    async with context.sessions() as session:
        with pytest.raises(LookupError) if ending == "discarded" else nullcontext():
            async with WriteBatch(session) as batch:
                batch.add_object(event)
                if ending == "discarded":
                    raise LookupError("refused")
        with pytest.raises(BatchClosed, match="block has ended"):
            add_one(batch, adder, event)
        with pytest.raises(BatchClosed, match="block has ended"):
            async with batch:
                pass
        await session.commit()
    async with context.read_sessions() as session:
        grids = await session.scalar(select(func.count()).select_from(table_of(EventGrid)))
        events = await session.scalar(select(func.count()).select_from(table_of(Event)))
    assert (grids, events) == (0, 1 if ending == "written" else 0)


@pytest.mark.parametrize("adder", ["add", "add_object"])
async def test_adding_before_the_block_began_raises(context: AppContext, adder: str) -> None:
    async with context.sessions() as session:
        with pytest.raises(BatchClosed, match="has not begun"):
            add_one(WriteBatch(session), adder, new_event())


INSERT_INTO = re.compile(r'INSERT INTO "?(\w+)', re.IGNORECASE)


@asynccontextmanager
async def tables_inserted_into(session: AsyncSession) -> AsyncIterator[list[str]]:
    """The tables the database inserts rows into, in the order it runs the INSERTs: SQLite's own
    trace (the batch's one worker-thread call is below SQLAlchemy's events), PostgreSQL's
    statements as sent. A table's consecutive INSERTs are shown once."""
    sent: list[str] = []
    connection = await session.connection()
    if connection.dialect.name == "sqlite":
        driver = (await connection.get_raw_connection()).driver_connection
        assert isinstance(driver, aiosqlite.Connection)
        await driver.set_trace_callback(sent.append)
    else:

        def sending(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
            sent.append(statement)

        sa_event.listen(connection.sync_engine, "before_cursor_execute", sending)
    tables: list[str] = []
    try:
        yield tables
    finally:
        if connection.dialect.name == "sqlite":
            await driver.set_trace_callback(None)
        else:
            sa_event.remove(connection.sync_engine, "before_cursor_execute", sending)
        for statement in sent:
            found = INSERT_INTO.search(statement)
            if found and (not tables or tables[-1] != found.group(1)):
                tables.append(found.group(1))


async def test_interleaved_adds_reach_the_database_in_call_order(
    context: AppContext, make_token: MakeToken, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Objects and rows of several tables, interleaved, go in as they were added: never grouped
    by table, objects never after rows. On PostgreSQL one statement has no order across tables
    (its foreign keys are checked at its end), so each row is made a statement of its own here,
    and the statements' order is the one seen."""
    monkeypatch.setattr(bulk_insert, "MAX_PARAMETERS", 1)
    actor = await actor_of(make_token, context)
    first, second = new_event(), new_event()
    async with context.sessions() as session:
        async with WriteBatch(session) as batch, tables_inserted_into(session) as tables:
            batch.add_object(first)
            timeline.record(batch, first, "report", None, "first", at=NOW)
            batch.add_object(attestation_of(first, actor))
            batch.add(table_of(EventGrid), [grid_row(first.id, "330602")])
            batch.add_object(second)
            timeline.record(batch, second, "report", None, "second", at=NOW)
            await batch.write()
        await session.commit()
    assert tables == ["events", "timeline", "attestations", "event_grids", "events", "timeline"]
    assert await summaries(context, second.id) == ["second"]


async def test_a_table_coming_back_after_another_keeps_its_rows_in_call_order(
    context: AppContext, make_token: MakeToken
) -> None:
    """The timeline's rows, separated by other tables' rows, are numbered in the order added.
    On PostgreSQL they go in one statement, where two INSERTs into the timeline would be run
    last first: the batch makes them one."""
    actor = await actor_of(make_token, context)
    event = new_event()
    async with context.sessions() as session:
        with statements_sent(context) as sent:
            async with WriteBatch(session) as batch:
                batch.add_object(event)
                timeline.record(batch, event, "report", None, "1", at=NOW)
                batch.add_object(attestation_of(event, actor))
                timeline.record(batch, event, "report", None, "2", at=NOW)
                batch.add(table_of(EventGrid), [grid_row(event.id, "330602")])
                timeline.record(batch, event, "report", None, "3", at=NOW)
        await session.commit()
    assert await summaries(context, event.id) == ["1", "2", "3"]
    if not context.settings.is_sqlite:
        assert len([s for s in sent if "INSERT" in s]) == 1, sent


@pytest.mark.parametrize(
    ("column", "refused"),
    [
        (Column("state", String(10), server_default="new"), "scratch.state has a server default"),
        (Column("state", String(10), default="new", server_default="new"), None),
        (Column("total", Integer, Computed("1 + 1")), "scratch.total has a server default"),
        (Column("at", DateTime, default=func.now()), "scratch.at has a default a write batch"),
        (Column("seq", BigInteger, Identity(), primary_key=True), None),
    ],
    ids=["server-default", "both-defaults", "computed", "sql-default", "identity-key"],
)
def test_a_column_only_the_database_fills_is_refused_naming_it(
    column: Column[Any], refused: str | None
) -> None:
    key = [] if column.primary_key else [Column("id", String(36), primary_key=True)]
    table = Table("scratch", MetaData(), *key, column)
    if refused is None:
        description = describe_table(table)
        assert description.numbered == ("seq" if column.primary_key else None)
    else:
        with pytest.raises(RuntimeError, match=re.escape(refused)):
            describe_table(table)


@pytest.mark.process
def test_a_model_with_a_server_default_alone_stops_the_import() -> None:
    """The check runs as service.store.tables is imported (the batch imports it), over every
    model: the service does not start, rather than a first write storing NULL where the database
    had a default."""
    model = textwrap.dedent(
        """
        import uuid
        from sqlalchemy import String
        from sqlalchemy.orm import Mapped, mapped_column
        from models import Base

        class Scratch(Base):
            __tablename__ = "scratch"
            id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
            state: Mapped[str] = mapped_column(String(10), server_default="new")

        import service.store.tables
        """
    )
    run = subprocess.run(
        [sys.executable, "-c", model], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 1
    assert "RuntimeError: scratch.state has a server default and no Python-side one" in run.stderr


async def test_every_default_the_database_holds_is_one_the_batch_writes(
    context: AppContext,
) -> None:
    """The import check reads the models; the database's defaults come from the migrations. Each
    column with a default in the migrated schema is a table's numbered key, or has a Python-side
    default in its model that the batch sends instead (as the ORM does): none is overwritten."""
    async with context.sessions() as session:
        connection = await session.connection()
        defaults = await connection.run_sync(
            lambda sync: {
                (name, column["name"])
                for name in Base.metadata.tables
                for column in sa_inspect(sync).get_columns(name)
                if column.get("default") is not None
            }
        )
    assert ("events", "timeline_seq") in defaults
    for name, column in sorted(defaults):
        table = Base.metadata.tables[name]
        description = TABLES[table]
        assert column == description.numbered or table.c[column].default is not None, column


async def test_an_object_of_a_numbered_table_needs_its_key(context: AppContext) -> None:
    """The timeline's ``seq`` is the database's to number, and the batch reads nothing back: an
    entry as an object, without it, is refused (it would go in as NULL)."""
    event = new_event()
    entry = TimelineEntry(
        event_id=event.id, event_seq=1, kind="report", actor="system", summary="s", hash="0" * 64
    )
    async with context.sessions() as session:
        async with WriteBatch(session) as batch:
            batch.add_object(event)
            with pytest.raises(ValueError, match=r"timeline\.seq is numbered by the database"):
                batch.add_object(entry)
        await session.commit()
    assert (await stored(context, Event, event.id)) is not None
