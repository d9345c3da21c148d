"""A transaction's new rows, held by the flow and written together in one round trip.

Taking a report in creates rows in up to seven tables (event, report, snapshots, grids, actions,
timeline, idempotency). Sent one statement at a time through SQLAlchemy that is as many round
trips: on SQLite each costs three hops to aiosqlite's worker thread, on PostgreSQL a network round
trip, and each about as much CPU as the whole of a one-row insert. A ``WriteBatch`` collects them
instead, and ``write()`` sends:

* on PostgreSQL one INSERT carrying the others as data-modifying CTEs (one round trip);
* on SQLite one call on the connection's worker thread, one ``executemany`` per run of a table.

SQLAlchemy still compiles every statement and converts every value with the column's own type
(``bind_processor``), so a row is stored exactly as the ORM would store it, and a database error
arrives as SQLAlchemy's own exception (``IntegrityError`` for a duplicate key).

The batch is an object the flow holds and writes; the session knows nothing of it::

    async with WriteBatch(session) as batch:   # joins the transaction, or begins one
        ... batch.add(table, rows); batch.add_object(event) ...
    await session.commit()                      # the block wrote the batch on its way out

Rules a reader can rely on:

* Rows go in in the order they were added, across tables and objects (the timeline's ``seq``
  follows it). Consecutive adds for one table are one run (``Run``: one ``executemany`` on
  SQLite, one VALUES list on PostgreSQL); a table coming back after another starts a new run.
  Inside one PostgreSQL statement there is no order across tables to keep, and a table's runs
  are one INSERT (``_statements`` says why).
* Add a parent before its children: SQLite checks each foreign key as the row goes in.
  ``write()`` flushes the session first, so rows the ORM was told about (``session.add``) are
  in before the batch's rows and may be their parents.
* A batch takes rows only inside its block: an add before it or after it ended raises
  ``BatchClosed``, a programming error, rather than the row being lost.
* A batch belongs to the transaction (or savepoint) that was innermost when it was opened.
  Writing it after that ended (committed, rolled back, ``reset()``) raises ``BatchClosed``
  instead of putting its rows into another transaction; leaving the block with an exception
  discards them.
* A column's Python-side ``default=`` fills a row or object that leaves it out, as the ORM
  would. A column whose value only the database would give (a ``server_default`` without a
  Python-side default, a computed column, a SQL-expression default) is refused as this module
  is imported, by name (``describe``). Honouring it would mean leaving it out of an object's
  INSERT and reading the value back (RETURNING, or a SELECT per object): several round trips
  instead of one, or an object left with an unloaded attribute that a lazy load outside a
  greenlet cannot fill. Sending NULL over it stores what nobody meant. A column with both
  defaults gets the Python one, as it does from the ORM.
* The one value left to the database is an autoincrement key (``numbered``, the timeline's
  ``seq``): rows leave it out, and the database numbers them in the order written. An object
  of such a table must come with its key.
* Reading back what the batch holds needs ``await batch.write()`` first; ``holds(obj)`` says
  whether a new object is still waiting (e.g. an event not written yet has no actions to read).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from types import TracebackType
from typing import Any, Final, NoReturn, cast

from sqlalchemy import BindParameter, Column, Dialect, Insert, Table, bindparam, insert, inspect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.orm import SessionTransaction, make_transient_to_detached

# From the package, not models.base: importing it registers every table, which TABLES describes.
from models import Base

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


@dataclass(frozen=True, slots=True)
class TableDescription:
    """What the batch needs to know of a table, worked out once (``describe``)."""

    defaults: tuple[Column[Any], ...]  # the columns with a Python-side default
    columns: frozenset[str]  # every column: what an object's row names
    numbered: str | None  # the autoincrement key the database numbers, if any


def describe_table(table: Table) -> TableDescription:
    """``table`` as the batch writes it; a column whose value only the database would give
    when left out (a server default with no Python one, a computed column, a SQL default) is
    refused, naming it: the batch reads nothing back (the module docstring says why)."""
    numbered = table.autoincrement_column
    for column in table.columns:
        default = column.default
        if default is not None and not (default.is_scalar or default.is_callable):
            raise RuntimeError(f"{column} has a default a write batch cannot compute")
        if column.server_default is not None and default is None and column is not numbered:
            raise RuntimeError(
                f"{column} has a server default and no Python-side one: a write batch would "
                "store NULL over it; give it a default= of the same value"
            )
    return TableDescription(
        defaults=tuple(c for c in table.columns if c.default is not None),
        columns=frozenset(c.key for c in table.columns),
        numbered=numbered.key if numbered is not None else None,
    )


# At import: a model the batch cannot write stops the service here, not at its first write.
TABLES: Final = {table: describe_table(table) for table in Base.metadata.sorted_tables}


# A run: consecutive adds for one table, written as one INSERT of many rows (the batching). Rows
# as added, objects read when written. A plain tuple, as a flow adds one row at a time.
Run = tuple[Table, list[Row | Base]]


class WriteBatch:
    """New rows and new ORM objects of one transaction, written by ``write()`` in one round trip.

    Use it as ``async with WriteBatch(session) as batch``: entering binds it to the session's
    innermost transaction (beginning one if none has begun), leaving writes it, or discards it
    when the block raised. A batch serves one block.
    """

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self._runs: list[Run] = []
        self._objects: list[Base] = []
        self._columns: dict[Table, frozenset[str]] = {}  # what each table's rows name
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
        """Insert ``rows`` into ``table`` at the next ``write()``, after what was added before.
        A column left out gets its Python-side default; the rows of a table must otherwise name
        the same columns."""
        if self._ended or self._transaction is None:
            self._refuse()
        defaults = _description(table).defaults
        named = self._columns.get(table)
        entries: list[Row | Base] = []
        for row in rows:
            completed = _completed(defaults, row)
            if named is None:
                named = self._columns[table] = frozenset(completed)
            elif completed.keys() != named:
                raise ValueError(f"rows for {table.name} name different columns")
            entries.append(completed)
        if entries:
            self._extend(table, entries)

    def add_object(self, obj: Base) -> None:
        """Insert the new ORM object ``obj`` at the next ``write()``, after what was added
        before, with its attributes as they stand then; it joins the session afterwards, so
        later changes become UPDATEs."""
        if self._ended or self._transaction is None:
            self._refuse()
        state = inspect(obj)
        table = cast(Table, state.mapper.local_table)
        description = _description(table)
        if description.numbered is not None:
            key = state.mapper.get_property_by_column(table.c[description.numbered]).key
            if state.dict.get(key) is None:
                raise ValueError(
                    f"{table.name}.{description.numbered} is numbered by the database, and a "
                    "write batch reads nothing back: set it, or add the row with add()"
                )
        if self._columns.setdefault(table, description.columns) != description.columns:
            raise ValueError(f"rows for {table.name} name different columns")
        entries: list[Row | Base] = [obj]
        self._extend(table, entries)
        self._objects.append(obj)

    def holds(self, obj: Base) -> bool:
        """Whether ``obj`` waits in the batch: it is new and not written yet."""
        return any(o is obj for o in self._objects)

    def discard(self) -> None:
        """Forget everything added and not written."""
        self._runs.clear()
        self._objects.clear()
        self._columns.clear()

    async def write(self) -> None:
        """Flush the session, then insert what the batch holds, in its transaction."""
        if not self._runs or self._transaction is None:  # nothing is added outside the block
            return
        if not self._transaction.is_active or _innermost(self.session) is not self._transaction:
            self.discard()
            raise BatchClosed("the transaction this batch belongs to has ended; nothing written")
        if self.session.new or self.session.dirty or self.session.deleted:
            await self.session.flush()
        runs, objects = self._runs, self._objects
        self._runs, self._objects, self._columns = [], [], {}
        groups = [
            (table, [e if isinstance(e, dict) else _row_of(e) for e in entries])
            for table, entries in runs
        ]
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

    def _extend(self, table: Table, entries: list[Row | Base]) -> None:
        if self._runs and self._runs[-1][0] is table:
            self._runs[-1][1].extend(entries)
        else:
            self._runs.append((table, entries))


def _innermost(session: AsyncSession) -> SessionTransaction | None:
    sync = session.sync_session
    return sync.get_nested_transaction() or sync.get_transaction()


def _description(table: Table) -> TableDescription:
    try:
        return TABLES[table]
    except KeyError:
        raise ValueError(f"{table.name} is not a table of models.Base") from None


def _completed(defaults: tuple[Column[Any], ...], row: Row) -> Row:
    """``row`` with the Python-side default of each column it leaves out that has one; the
    others are left to the database (NULL, or the next number of an autoincrement key)."""
    missing = [c for c in defaults if c.key not in row]
    if not missing:
        return row
    return {**row, **{column.key: _default_of(column) for column in missing}}


def _row_of(obj: Base) -> Row:
    """``obj``'s column values. Columns never set get their default (or None) on the object
    first, so that once written it has nothing unloaded (a lazy load would need I/O outside a
    greenlet)."""
    state = inspect(obj)
    row: Row = {}
    for column in state.mapper.local_table.columns:
        key = state.mapper.get_property_by_column(column).key
        if key not in state.dict:
            setattr(obj, key, _default_of(cast(Column[Any], column)))
        row[column.key] = state.dict[key]
    return row


def _default_of(column: Column[Any]) -> Any:
    """What the ORM would insert for ``column`` left unset: its scalar or callable ``default``
    (called as SQLAlchemy calls a context-free default), else None. ``describe`` refused every
    other kind at import."""
    default = column.default
    if default is None:
        return None
    if default.is_scalar:
        return default.arg  # type: ignore[attr-defined]
    return default.arg(None)  # type: ignore[attr-defined]


async def _write_ctes(connection: AsyncConnection, groups: list[tuple[Table, list[Row]]]) -> None:
    """PostgreSQL: one INSERT with the other tables' INSERTs as CTEs; more than one only past
    ``MAX_PARAMETERS``."""
    for parts in _statements(groups):
        await _execute_ctes(connection, parts)


def _statements(groups: list[tuple[Table, list[Row]]]) -> Iterator[list[Part]]:
    """The runs as statements of at most ``MAX_PARAMETERS`` parameters, in call order, with one
    INSERT per table in each.

    PostgreSQL runs a statement's data-modifying CTEs in an order of its own (the main INSERT
    first, then the CTEs last to first) and checks foreign keys at the statement's end. Inside
    one statement there is no order across tables to keep, but two INSERTs into one table would
    number their rows (the timeline's ``seq``) in reverse: a table's runs there are one INSERT,
    with their rows in call order. Statements go in call order.
    """
    parts: dict[Table, Part] = {}
    budget = 0
    for table, rows in groups:
        width = len(rows[0])
        done = 0
        while done < len(rows):
            room = (MAX_PARAMETERS - budget) // width
            if room < 1 and parts:
                yield list(parts.values())
                parts, budget = {}, 0
                continue
            take = max(room, 1)  # a row wider than the limit goes in a statement of its own
            chunk = rows if done == 0 and take >= len(rows) else rows[done : done + take]
            part = parts.get(table)
            if part is None:
                part = parts[table] = (table, tuple(rows[0]), [])
            part[2].extend(chunk)
            budget += width * len(chunk)
            done += len(chunk)
    if parts:
        yield list(parts.values())


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
    """SQLite: every run's INSERT in one call on aiosqlite's worker thread, in call order.

    aiosqlite runs a connection's calls on its own thread, one hop each, and offers no public
    way to run several statements in one hop; its ``_execute`` is what its own methods use (and
    SQLAlchemy's aiosqlite dialect reaches into the same internals). aiosqlite is pinned in the
    lock file, and tests/store/test_batch.py fails loudly if these internals change.
    """
    dialect = connection.dialect
    work: list[tuple[str, list[tuple[Any, ...]]]] = []
    for table, rows in groups:
        sql, processors = _insert_plan(dialect, table, tuple(rows[0]))
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
