"""New rows held back during a transaction and written together, in one round trip.

Taking a report in creates rows in five tables (event, report, snapshots, grids, timeline).
Sent one statement at a time through SQLAlchemy that is five round trips: on SQLite each costs
three hops to aiosqlite's worker thread (cursor, execute, close), on PostgreSQL a network round
trip, and each about as much CPU as the whole of a one-row insert. Rows queued here go instead:

* on PostgreSQL as one INSERT carrying the others as data-modifying CTEs (one round trip);
* on SQLite as one call on the connection's worker thread, one ``executemany`` per table.

SQLAlchemy still compiles every statement and converts every value with the column's own type
(``bind_processor``), so a row is stored exactly as the ORM would store it, and a database error
arrives as SQLAlchemy's own exception (``IntegrityError`` for a duplicate key).

Queued rows are written before the session runs any other statement, so a transaction always
reads its own writes, and at commit; a rollback drops them (``service.db.WriteBehindSession``).
Tables go in dependency order, parents first, and a table's rows in the order queued: the
timeline's sequence follows the order its entries were recorded.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache, lru_cache
from typing import Any, Final

from sqlalchemy import BindParameter, Dialect, Insert, Table, bindparam, insert, inspect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.orm import make_transient_to_detached

from models.base import Base

PENDING: Final = "writes.pending"
# PostgreSQL takes at most 32767 parameters in one statement; stay clear of it.
MAX_PARAMETERS: Final = 30_000

Row = dict[str, Any]
Processor = Callable[[Any], Any] | None
Part = tuple[Table, tuple[str, ...], list[Row]]  # an INSERT: table, columns, rows
Shape = tuple[tuple[str, tuple[str, ...], int], ...]  # table names, columns and row counts
Slot = tuple[int, int, str, Processor]  # a parameter: part, row, column, type processor


@dataclass
class Pending:
    """What a session has queued: rows by table, and new ORM objects to write as rows."""

    rows: dict[Table, list[Row]] = field(default_factory=dict)
    objects: list[Base] = field(default_factory=list)

    def groups(self, order: Sequence[Table]) -> list[tuple[Table, list[Row]]]:
        """The rows to write per table, tables in ``order``; objects are read as they stand now."""
        rows = {table: list(found) for table, found in self.rows.items()}
        for obj in self.objects:
            table, row = _row_of(obj)
            rows.setdefault(table, []).append(row)
        return [(table, rows[table]) for table in order if table in rows]


def queue(session: AsyncSession, table: Table, rows: Iterable[Row]) -> None:
    """Insert ``rows`` into ``table`` with the session's next write. Every row of a table in one
    transaction names the same columns, among them every column with a Python-side default."""
    rows = list(rows)
    if rows:
        _pending(session).rows.setdefault(table, []).extend(rows)


def queue_object(session: AsyncSession, obj: Base) -> None:
    """Insert the new ORM object ``obj`` with the session's next write, as its columns stand then.

    Written before another statement, it joins the session like a loaded object, and later
    changes become UPDATEs; written at commit, it stays outside the session, as the transaction
    ends there: a later transaction that changes it loads it again.
    """
    _pending(session).objects.append(obj)


def is_queued(session: AsyncSession, obj: Base) -> bool:
    """Whether ``obj`` waits in the queue: it is new and nothing has written it yet."""
    pending: Pending | None = session.info.get(PENDING)
    return pending is not None and any(o is obj for o in pending.objects)


def discard(session: AsyncSession) -> None:
    session.info.pop(PENDING, None)


async def write_pending(session: AsyncSession, *, attach: bool = True) -> None:
    """Write what the session has queued, if anything, in its transaction.

    Queued objects then join the session as if loaded, unless ``attach`` is false: at commit,
    where the transaction ends with the write and joining would cost more than the write.
    """
    pending: Pending | None = session.info.pop(PENDING, None)
    if pending is None:
        return
    groups = pending.groups(_table_order())
    if groups:
        connection = await session.connection()
        if connection.dialect.name == "sqlite":
            await _write_sqlite(connection, groups)
        else:
            await _write_ctes(connection, groups)
    if attach:
        for obj in pending.objects:
            make_transient_to_detached(obj)
            session.add(obj)


@cache
def _table_order() -> list[Table]:
    return list(Base.metadata.sorted_tables)


def _pending(session: AsyncSession) -> Pending:
    pending: Pending | None = session.info.get(PENDING)
    if pending is None:
        pending = session.info[PENDING] = Pending()
    return pending


def _row_of(obj: Base) -> tuple[Table, Row]:
    """``obj``'s table and column values. Columns never set are set to None first, so that the
    object, once written, has nothing unloaded (a lazy load would need I/O outside a greenlet)."""
    state = inspect(obj)
    row: Row = {}
    for attribute in state.mapper.column_attrs:
        if attribute.key not in state.dict:
            setattr(obj, attribute.key, None)
        for column in attribute.columns:
            row[column.key] = state.dict[attribute.key]
    return state.mapper.local_table, row  # type: ignore[return-value]


def _keys(table: Table, rows: list[Row]) -> tuple[str, ...]:
    keys = tuple(rows[0])
    if any(row.keys() != rows[0].keys() for row in rows):
        raise ValueError(f"rows queued for {table.name} name different columns")
    missing = _defaulted(table).difference(keys)
    if missing:
        # Filling them would take SQLAlchemy's execution context, which the SQLite path skips.
        raise ValueError(f"rows queued for {table.name} leave out {sorted(missing)}")
    return keys


@cache
def _defaulted(table: Table) -> frozenset[str]:
    """The columns with a Python-side default: queued rows must give them."""
    return frozenset(column.key for column in table.columns if column.default is not None)


async def _write_ctes(connection: AsyncConnection, groups: list[tuple[Table, list[Row]]]) -> None:
    """PostgreSQL: one INSERT with the other tables' INSERTs as CTEs; more than one only past
    ``MAX_PARAMETERS``. Foreign keys are checked at the end of the statement, so the order of the
    CTEs does not matter."""
    statement: list[Part] = []
    budget = 0
    for table, rows in groups:
        keys = _keys(table, rows)
        step = max(1, MAX_PARAMETERS // len(keys))
        for start in range(0, len(rows), step):
            chunk = rows[start : start + step]
            if statement and budget + len(keys) * len(chunk) > MAX_PARAMETERS:
                await _execute_ctes(connection, statement)
                statement, budget = [], 0
            statement.append((table, keys, chunk))
            budget += len(keys) * len(chunk)
    if statement:
        await _execute_ctes(connection, statement)


async def _execute_ctes(connection: AsyncConnection, parts: list[Part]) -> None:
    shape = tuple((table.name, keys, len(rows)) for table, keys, rows in parts)
    sql, slots = _cte_plan(connection.dialect, shape)
    params = tuple(
        p(parts[part][2][row][key]) if p else parts[part][2][row][key]
        for part, row, key, p in slots
    )
    await connection.exec_driver_sql(sql, params)


@lru_cache(maxsize=256)
def _cte_plan(dialect: Dialect, shape: Shape) -> tuple[str, list[Slot]]:
    """The SQL of the CTE statement for ``shape`` (table, columns and row count of each INSERT)
    and, in parameter order, where each parameter's value comes from and its type processor.

    Compiled here once per shape: SQLAlchemy caches no multi-row INSERT (it has no cache key),
    and compiling one costs several times what executing it does.
    """
    statements: list[Insert] = []
    origin: dict[str, tuple[int, int, str]] = {}
    for part, (name, keys, count) in enumerate(shape):
        table = Base.metadata.tables[name]
        values = []
        for row in range(count):
            binds = {}
            for key in keys:
                bind = f"w{part}_{row}_{len(origin)}"
                origin[bind] = (part, row, key)
                binds[key] = bindparam(bind, type_=table.c[key].type)
            values.append(binds)
        statements.append(insert(table).values(values))
    *ctes, last = statements
    combined = last.add_cte(*(s.cte(f"w{i}") for i, s in enumerate(ctes))) if ctes else last
    compiled = combined.compile(dialect=dialect)
    slots: list[Slot] = [
        (*origin[name], _processor(compiled.binds[name], dialect))
        for name in compiled.positiontup or []
    ]
    if len(slots) != len(origin):
        raise RuntimeError(f"the CTE statement for {shape} binds {len(slots)} of {len(origin)}")
    return str(compiled), slots


def _processor(bind: BindParameter[Any], dialect: Dialect) -> Processor:
    """What SQLAlchemy does to a value of ``bind``'s type before the driver gets it."""
    return bind.type.dialect_impl(dialect).bind_processor(dialect)


@lru_cache(maxsize=64)
def _insert_plan(
    dialect: Dialect, table: Table, keys: tuple[str, ...]
) -> tuple[str, list[tuple[str, Processor]]]:
    """The one-row INSERT's SQL and, in parameter order, each column and its type processor."""
    compiled = insert(table).compile(dialect=dialect, column_keys=list(keys))
    names = compiled.positiontup or []
    if sorted(names) != sorted(keys):
        raise RuntimeError(f"the INSERT into {table.name} binds {names}, not {sorted(keys)}")
    return str(compiled), [(name, _processor(compiled.binds[name], dialect)) for name in names]


async def _write_sqlite(connection: AsyncConnection, groups: list[tuple[Table, list[Row]]]) -> None:
    """SQLite: every INSERT in one call on aiosqlite's worker thread.

    aiosqlite runs a connection's calls on its own thread, one hop each. It offers no public way
    to run several statements in one hop; ``_execute`` is what its own methods use, and
    SQLAlchemy's aiosqlite dialect reaches into the same internals to set the isolation level.
    """
    dialect = connection.dialect
    work: list[tuple[str, list[tuple[Any, ...]]]] = []
    for table, rows in groups:
        sql, processors = _insert_plan(dialect, table, _keys(table, rows))
        work.append(
            (
                sql,
                [tuple(p(row[name]) if p else row[name] for name, p in processors) for row in rows],
            )
        )
    raw = await connection.get_raw_connection()
    driver = raw.driver_connection
    await driver._execute(_run_all, driver._conn, work)  # type: ignore[union-attr]


def _run_all(db: sqlite3.Connection, work: list[tuple[str, list[tuple[Any, ...]]]]) -> None:
    """On the worker thread: each statement with all its rows."""
    for sql, params in work:
        try:
            db.executemany(sql, params)
        except sqlite3.Error as exc:
            raise DBAPIError.instance(sql, params, exc, sqlite3.Error) from exc
