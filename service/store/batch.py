"""A transaction's new rows, held by the flow and written together in one round trip.

Taking a report in creates rows in up to seven tables (event, report, snapshots, grids, actions,
timeline, idempotency). Sent one statement at a time through SQLAlchemy that is as many round
trips: on SQLite each costs three hops to aiosqlite's worker thread, on PostgreSQL a network round
trip, and each about as much CPU as the whole of a one-row insert. A ``WriteBatch`` collects them
instead, and ``write()`` sends (service.store.bulk_insert writes the SQL):

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
  are one INSERT (bulk_insert's ``_statements`` says why).
* Add a parent before its children: SQLite checks each foreign key as the row goes in.
  ``write()`` flushes the session first, so rows the ORM was told about (``session.add``) are
  in before the batch's rows and may be their parents.
* The changed columns of objects already stored (the event a report moves) go in with the
  batch's rows, not by the flush: an UPDATE among the CTEs on PostgreSQL, before the INSERTs in
  the one call on SQLite (``_take_changes``). An object with a relationship changed or a column
  not loaded is left to the flush.
* A batch takes rows only inside its block: an add before it or after it ended raises
  ``BatchClosed``, a programming error, rather than the row being lost.
* A batch belongs to the transaction (or savepoint) that was innermost when it was opened.
  Writing it after that ended (committed, rolled back, ``reset()``) raises ``BatchClosed``
  instead of putting its rows into another transaction; leaving the block with an exception
  discards them.
* A column's Python-side ``default=`` fills a row or object that leaves it out, as the ORM
  would. A column whose value only the database would give (a ``server_default`` without a
  Python-side default, a computed column, a SQL-expression default) is refused as this module
  is imported, by name (service.store.tables describes every model then, and says why).
* The one value left to the database is an autoincrement key (``numbered``, the timeline's
  ``seq``): rows leave it out, and the database numbers them in the order written. An object
  of such a table must come with its key.
* Reading back what the batch holds needs ``await batch.write()`` first; ``holds(obj)`` says
  whether a new object is still waiting (e.g. an event not written yet has no actions to read).
"""

from __future__ import annotations

from collections.abc import Iterable
from types import TracebackType
from typing import NoReturn, cast

from sqlalchemy import Table, inspect
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import (
    ColumnProperty,
    SessionTransaction,
    make_transient,
    make_transient_to_detached,
)

from models import Base
from service.store.bulk_insert import Change, write_ctes, write_sqlite
from service.store.tables import Row, description_of, row_of, with_defaults


class BatchClosed(RuntimeError):
    """The batch takes nothing more: its block has ended (or not begun), or the transaction it
    belongs to ended before it was written. A programming error, not the client's."""


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
        defaults = description_of(table).defaults
        named = self._columns.get(table)
        entries: list[Row | Base] = []
        for row in rows:
            completed = with_defaults(defaults, row)
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
        description = description_of(table)
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
        changes = _take_changes(self.session)
        if self.session.new or self.session.dirty or self.session.deleted:
            await self.session.flush()
        runs, objects = self._runs, self._objects
        self._runs, self._objects, self._columns = [], [], {}
        groups = [
            (table, [e if isinstance(e, dict) else row_of(e) for e in entries])
            for table, entries in runs
        ]
        connection = await self.session.connection()
        if connection.dialect.name == "sqlite":
            await write_sqlite(connection, groups, changes)
        else:
            await write_ctes(connection, groups, changes)
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


def _take_changes(session: AsyncSession) -> list[Change]:
    """The changed columns of the session's stored objects, as UPDATEs for the batch's statement,
    each object then put back in the session as though loaded with its new values (so that the
    session's flush does not write them again). Left to the flush: an object with a relationship
    changed or a column not loaded, and anything new or deleted.

    An event's row changes with every report (its level, figures, timeline head); written by
    the session it is a statement and a round trip of its own while the event's lock is held.
    """
    changes: list[Change] = []
    for obj in list(session.sync_session.dirty):
        state = inspect(obj)
        mapper = state.mapper
        if state.deleted or not state.unloaded.isdisjoint(mapper.column_attrs.keys()):
            continue
        values: Row = {}
        for attribute in state.attrs:
            history = attribute.history
            if not history.added:
                continue
            prop = mapper.get_property(attribute.key)
            if not isinstance(prop, ColumnProperty) or len(prop.columns) != 1:
                values = {}
                break
            values[prop.columns[0].key] = history.added[0]
        else:
            if not values:
                continue
            table = cast(Table, mapper.local_table)
            key_columns = tuple(c.key for c in mapper.primary_key)  # the identity's order
            if any(key in values for key in key_columns):
                continue  # a key changed: the flush knows how
            changes.append(
                (
                    table,
                    tuple(values),
                    key_columns,
                    {**values, **dict(zip(key_columns, state.identity or (), strict=True))},
                )
            )
            # Public API only: as the batch does for its new objects, the object leaves the
            # session, is made detached with its present values as loaded, and comes back.
            make_transient(obj)
            make_transient_to_detached(obj)
            session.add(obj)
    return changes


def _innermost(session: AsyncSession) -> SessionTransaction | None:
    sync = session.sync_session
    return sync.get_nested_transaction() or sync.get_transaction()
