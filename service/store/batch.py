"""A transaction's new rows, held by the flow and written together in one round trip.

Taking a report in creates rows in up to seven tables (event, report, snapshots, grids, actions,
timeline, idempotency). Sent one statement at a time through SQLAlchemy that is as many round
trips: on SQLite each costs three hops to aiosqlite's worker thread, on PostgreSQL a network round
trip, and each about as much CPU as the whole of a one-row insert. A ``WriteBatch`` collects them
instead, and ``write()`` sends:

* on PostgreSQL one INSERT carrying the others as data-modifying CTEs (one round trip);
* on SQLite one call on the connection's worker thread, one ``executemany`` per table.

SQLAlchemy still compiles every statement and converts every value with the column's own type
(``bind_processor``), so a row is stored exactly as the ORM would store it, and a database error
arrives as SQLAlchemy's own exception (``IntegrityError`` for a duplicate key).

The batch is an object the flow holds and writes; the session knows nothing of it::

    async with WriteBatch(session) as batch:   # joins the transaction, or begins one
        ... batch.add(table, rows); batch.add_object(event) ...
    await session.commit()                      # the block wrote the batch on its way out

Rules a reader can rely on:

* ``write()`` flushes the session first, so rows the ORM was told about (``session.add``) are
  in before the batch's rows and may be their parents. A new row whose parent is in the batch
  goes in the batch too (``add_object``): tables are written parents first.
* A batch takes rows only inside its block: an add before it or after it ended raises
  ``BatchClosed``, a programming error, rather than the row being lost.
* A batch belongs to the transaction (or savepoint) that was innermost when it was opened.
  Writing it after that ended (committed, rolled back, ``reset()``) raises ``BatchClosed``
  instead of putting its rows into another transaction; leaving the block with an exception
  discards them.
* A column's Python-side ``default=`` fills a row or object that leaves it out, as the ORM
  would.
* Rows of a table are written in the order added (the timeline's sequence follows it).
* Reading back what the batch holds needs ``await batch.write()`` first; ``holds(obj)`` says
  whether a new object is still waiting (e.g. an event not written yet has no actions to read).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Sequence
from functools import cache, lru_cache
from types import TracebackType
from typing import Any, Final, NoReturn, cast

from sqlalchemy import BindParameter, Column, Dialect, Insert, Table, bindparam, insert, inspect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.orm import SessionTransaction, make_transient_to_detached

from models.base import Base

# PostgreSQL takes at most 32767 parameters in one statement; stay clear of it.
MAX_PARAMETERS: Final = 30_000

Row = dict[str, Any]
Processor = Callable[[Any], Any] | None
Part = tuple[Table, tuple[str, ...], list[Row]]  # an INSERT: table, columns, rows
Shape = tuple[tuple[str, tuple[str, ...], int], ...]  # table names, columns and row counts
Slot = tuple[int, int, str, Processor]  # a parameter: part, row, column, type processor


class BatchClosed(RuntimeError):
    """The batch takes nothing more: its block has ended (or not begun), or the transaction it
    belongs to ended before it was written. A programming error, not the client's."""


class WriteBatch:
    """New rows and new ORM objects of one transaction, written by ``write()`` in one round trip.

    Use it as ``async with WriteBatch(session) as batch``: entering binds it to the session's
    innermost transaction (beginning one if none has begun), leaving writes it, or discards it
    when the block raised. A batch serves one block.
    """

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self._rows: dict[Table, list[Row]] = {}
        self._objects: list[Base] = []
        self._transaction: SessionTransaction | None = None
        self._ended = False

    async def __aenter__(self) -> WriteBatch:
        if self._ended:
            raise BatchClosed("this batch's block has ended; open a new WriteBatch")
        sync = self.session.sync_session
        # Beginning a session's transaction sends nothing (the connection comes with the first
        # statement), so the synchronous call is safe here and spares a hop through a greenlet.
        self._transaction = _innermost(self.session) or sync.begin()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        try:
            if exc_type is None:
                await self.write()
            else:
                self.discard()
        finally:
            self._ended = True

    def add(self, table: Table, rows: Iterable[Row]) -> None:
        """Insert ``rows`` into ``table`` at the next ``write()``. A column left out gets its
        Python-side default; the rows of a table must otherwise name the same columns."""
        if self._ended or self._transaction is None:
            self._refuse()
        self._rows.setdefault(table, []).extend(rows)

    def add_object(self, obj: Base) -> None:
        """Insert the new ORM object ``obj`` at the next ``write()``, with its attributes as they
        stand then; it joins the session afterwards, so later changes become UPDATEs."""
        if self._ended or self._transaction is None:
            self._refuse()
        self._objects.append(obj)

    def holds(self, obj: Base) -> bool:
        """Whether ``obj`` waits in the batch: it is new and not written yet."""
        return any(o is obj for o in self._objects)

    def discard(self) -> None:
        """Forget everything added and not written."""
        self._rows.clear()
        self._objects.clear()

    async def write(self) -> None:
        """Flush the session, then insert what the batch holds, in its transaction."""
        if (not self._rows and not self._objects) or self._transaction is None:
            return  # nothing is added outside the block
        if not self._transaction.is_active or _innermost(self.session) is not self._transaction:
            self.discard()
            raise BatchClosed("the transaction this batch belongs to has ended; nothing written")
        if self.session.new or self.session.dirty or self.session.deleted:
            await self.session.flush()
        objects, self._objects = self._objects, []
        groups = _groups(self._rows, objects)
        self._rows = {}
        connection = await self.session.connection()
        if connection.dialect.name == "sqlite":
            await _write_sqlite(connection, groups)
        else:
            await _write_ctes(connection, groups)
        for obj in objects:
            make_transient_to_detached(obj)
            self.session.add(obj)

    def _refuse(self) -> NoReturn:
        raise BatchClosed(
            "a batch takes rows only inside `async with WriteBatch(session)`; "
            "this one's block " + ("has ended" if self._ended else "has not begun")
        )


def _innermost(session: AsyncSession) -> SessionTransaction | None:
    sync = session.sync_session
    return sync.get_nested_transaction() or sync.get_transaction()


def _groups(rows: dict[Table, list[Row]], objects: list[Base]) -> list[tuple[Table, list[Row]]]:
    """The rows to write per table, parents first; objects are read as they stand now."""
    by_table = {table: [_completed(table, row) for row in found] for table, found in rows.items()}
    for obj in objects:
        table, row = _row_of(obj)
        by_table.setdefault(table, []).append(row)
    return [(table, by_table[table]) for table in _table_order() if by_table.get(table)]


@cache
def _table_order() -> list[Table]:
    return list(Base.metadata.sorted_tables)


def _completed(table: Table, row: Row) -> Row:
    """``row`` with the Python-side default of each column it leaves out that has one; the
    others are left to the database (NULL, or the next number of an autoincrement key)."""
    missing = [c for c in _defaulted(table) if c.key not in row]
    if not missing:
        return row
    return {**row, **{column.key: _default_of(column) for column in missing}}


@cache
def _defaulted(table: Table) -> tuple[Column[Any], ...]:
    return tuple(column for column in table.columns if column.default is not None)


def _row_of(obj: Base) -> tuple[Table, Row]:
    """``obj``'s table and column values. Columns never set get their default (or None) on the
    object first, so that once written it has nothing unloaded (a lazy load would need I/O
    outside a greenlet)."""
    state = inspect(obj)
    table = cast(Table, state.mapper.local_table)
    row: Row = {}
    for column in table.columns:
        key = state.mapper.get_property_by_column(column).key
        if key not in state.dict:
            setattr(obj, key, _default_of(column))
        row[column.key] = state.dict[key]
    return table, row


def _default_of(column: Column[Any]) -> Any:
    """What the ORM would insert for ``column`` left unset: its scalar or callable ``default``
    (called as SQLAlchemy calls a context-free default), else None."""
    default = column.default
    if default is None:
        return None
    if default.is_scalar:
        return default.arg  # type: ignore[attr-defined]
    if default.is_callable:
        return default.arg(None)  # type: ignore[attr-defined]
    raise ValueError(f"{column} has a default a write batch cannot compute; give it a value")


def _keys(table: Table, rows: list[Row]) -> tuple[str, ...]:
    keys = tuple(rows[0])
    if any(row.keys() != rows[0].keys() for row in rows):
        raise ValueError(f"rows for {table.name} name different columns")
    return keys


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

    aiosqlite runs a connection's calls on its own thread, one hop each, and offers no public
    way to run several statements in one hop; its ``_execute`` is what its own methods use (and
    SQLAlchemy's aiosqlite dialect reaches into the same internals). aiosqlite is pinned in the
    lock file, and tests/store/test_batch.py fails loudly if these internals change.
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


def _run_all(db: sqlite3.Connection, work: Sequence[tuple[str, list[tuple[Any, ...]]]]) -> None:
    """On the worker thread: each statement with all its rows."""
    for sql, params in work:
        try:
            db.executemany(sql, params)
        except sqlite3.Error as exc:
            raise DBAPIError.instance(sql, params, exc, sqlite3.Error) from exc
