"""What the write batch (service.store.batch) knows of each table, worked out once for every model
as this module is imported, and the rows it completes as the ORM would.

A column's Python-side ``default=`` fills a row or object that leaves it out, as the ORM would. A
column whose value only the database would give (a ``server_default`` without a Python-side
default, a computed column, a SQL-expression default) is refused here, by name
(``describe_table``). Honouring it would mean leaving it out of an object's INSERT and reading
the value back (RETURNING, or a SELECT per object): several round trips instead of one, or an
object left with an unloaded attribute that a lazy load outside a greenlet cannot fill. Sending
NULL over it stores what nobody meant. A column with both defaults gets the Python one, as it does
from the ORM.

The one value left to the database is an autoincrement key (``numbered``, the timeline's ``seq``):
rows leave it out, and the database numbers them in the order written.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final, cast

from sqlalchemy import Column, Table, inspect

# From the package, not models.base: importing it registers every table, which TABLES describes.
from models import Base

Row = dict[str, Any]


@dataclass(frozen=True, slots=True)
class TableDescription:
    """What the batch needs to know of a table, worked out once (``describe_table``)."""

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


def description_of(table: Table) -> TableDescription:
    """``table``'s description; a table that is not a model's is a ValueError."""
    try:
        return TABLES[table]
    except KeyError:
        raise ValueError(f"{table.name} is not a table of models.Base") from None


def with_defaults(defaults: tuple[Column[Any], ...], row: Row) -> Row:
    """``row`` with the Python-side default of each column it leaves out that has one; the
    others are left to the database (NULL, or the next number of an autoincrement key)."""
    missing = [c for c in defaults if c.key not in row]
    if not missing:
        return row
    return {**row, **{column.key: _default_of(column) for column in missing}}


def row_of(obj: Base) -> Row:
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
    (called as SQLAlchemy calls a context-free default), else None. ``describe_table`` refused
    every other kind at import."""
    default = column.default
    if default is None:
        return None
    if default.is_scalar:
        return default.arg  # type: ignore[attr-defined]
    return default.arg(None)  # type: ignore[attr-defined]
