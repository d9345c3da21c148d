"""The SQL a write batch (service.store.batch) sends: the changes of rows already stored
(``Change``: an UPDATE of one row by its key), then its runs, each a table and its rows in call
order, as few statements as the database allows.

* PostgreSQL: one INSERT carrying the changes' UPDATEs and the other tables' INSERTs as
  data-modifying CTEs, more than one only past ``MAX_PARAMETERS`` (``write_ctes``);
* SQLite: every change's UPDATE, then every run's INSERT, in one call on aiosqlite's worker
  thread, one ``executemany`` each (``write_sqlite``).

Each statement is compiled by SQLAlchemy once per shape and cached here, and each value goes
through its column type's ``bind_processor``, as the ORM would send it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator, Sequence
from functools import lru_cache
from typing import Any, Final

from sqlalchemy import (
    BindParameter,
    Dialect,
    Insert,
    Table,
    Update,
    and_,
    bindparam,
    insert,
    update,
)
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection

from models import Base
from service.store.tables import Row

# PostgreSQL takes at most 32767 parameters in one statement; stay clear of it.
MAX_PARAMETERS: Final = 30_000

Processor = Callable[[Any], Any] | None
Part = tuple[Table, tuple[str, ...], list[Row]]  # an INSERT: table, columns, rows
# A change of one stored row: its table, the columns set, the key's columns, and the values of
# both (the row's new values and its key).
Change = tuple[Table, tuple[str, ...], tuple[str, ...], Row]
# per part: "insert" or "update", table name, columns (an UPDATE's set columns, then its key's)
# and row count
Shape = tuple[tuple[str, str, tuple[str, ...], int], ...]
Slot = tuple[int, int, str, Processor]  # a parameter: part, row, column, type processor


async def write_ctes(
    connection: AsyncConnection,
    groups: list[tuple[Table, list[Row]]],
    changes: Sequence[Change] = (),
) -> None:
    """PostgreSQL: one INSERT with the changes' UPDATEs and the other tables' INSERTs as CTEs;
    more than one only past ``MAX_PARAMETERS`` (the changes go with the first)."""
    updates: list[Part] = [
        (table, (*keys, *key_columns), [values]) for table, keys, key_columns, values in changes
    ]
    kinds = ["update"] * len(updates)
    # the changes go with the first statement (alone when the batch inserts nothing)
    for parts in list(_statements(groups)) or [[]]:
        await _execute_ctes(connection, updates + parts, kinds + ["insert"] * len(parts))
        updates, kinds = [], []


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


async def _execute_ctes(connection: AsyncConnection, parts: list[Part], kinds: list[str]) -> None:
    if not parts:
        return
    shape = tuple(
        (kind, table.name, keys, len(rows))
        for kind, (table, keys, rows) in zip(kinds, parts, strict=True)
    )
    sql, slots = _cte_plan(connection.dialect, shape)
    params = tuple(
        p(parts[part][2][row][key]) if p else parts[part][2][row][key]
        for part, row, key, p in slots
    )
    await connection.exec_driver_sql(sql, params)


@lru_cache(maxsize=256)
def _cte_plan(dialect: Dialect, shape: Shape) -> tuple[str, list[Slot]]:
    """The SQL of the CTE statement for ``shape`` (kind, table, columns and row count of each
    UPDATE and INSERT) and, in parameter order, where each parameter's value comes from and its
    type processor. An UPDATE's columns are those it sets, then its key's (the last ones it
    names: one row each, by its primary key).

    Compiled here once per shape: SQLAlchemy caches no multi-row INSERT (it has no cache key),
    and compiling one costs several times what executing it does.
    """
    statements: list[Insert | Update] = []
    origin: dict[str, tuple[int, int, str]] = {}
    for part, (kind, name, keys, count) in enumerate(shape):
        table = Base.metadata.tables[name]
        if kind == "update":
            statements.append(_update_of(table, keys, part, origin))
            continue
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


def _update_of(
    table: Table, keys: tuple[str, ...], part: int, origin: dict[str, tuple[int, int, str]]
) -> Update:
    """One row's UPDATE: ``keys`` the columns set, then the primary key's (its WHERE)."""
    key_columns = [c.key for c in table.primary_key.columns]
    sets = keys[: len(keys) - len(key_columns)]
    binds = {}
    for key in keys:
        bind = f"u{part}_{len(origin)}"
        origin[bind] = (part, 0, key)
        binds[key] = bindparam(bind, type_=table.c[key].type)
    return (
        update(table)
        .where(and_(*(table.c[key] == binds[key] for key in key_columns)))
        .values({key: binds[key] for key in sets})
    )


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


@lru_cache(maxsize=64)
def _update_plan(
    dialect: Dialect, table: Table, keys: tuple[str, ...]
) -> tuple[str, list[tuple[str, Processor]]]:
    """One row's UPDATE (``keys``: the columns set, then the key's) and, in parameter order,
    each column and its type processor."""
    origin: dict[str, tuple[int, int, str]] = {}
    compiled = _update_of(table, keys, 0, origin).compile(dialect=dialect)
    names = compiled.positiontup or []
    if len(names) != len(keys):
        raise RuntimeError(f"the UPDATE of {table.name} binds {names}, not {keys}")
    return str(compiled), [
        (origin[name][2], _processor(compiled.binds[name], dialect)) for name in names
    ]


async def write_sqlite(
    connection: AsyncConnection,
    groups: list[tuple[Table, list[Row]]],
    changes: Sequence[Change] = (),
) -> None:
    """SQLite: every change's UPDATE, then every run's INSERT, in one call on aiosqlite's worker
    thread, in call order.

    aiosqlite runs a connection's calls on its own thread, one hop each, and offers no public
    way to run several statements in one hop; its ``_execute`` is what its own methods use (and
    SQLAlchemy's aiosqlite dialect reaches into the same internals). aiosqlite is pinned in the
    lock file, and tests/store/test_batch.py fails loudly if these internals change.
    """
    dialect = connection.dialect
    work: list[tuple[str, list[tuple[Any, ...]]]] = []
    for table, keys, key_columns, values in changes:
        sql, processors = _update_plan(dialect, table, (*keys, *key_columns))
        work.append(
            (sql, [tuple(p(values[name]) if p else values[name] for name, p in processors)])
        )
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
