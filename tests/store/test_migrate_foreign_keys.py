"""A migration that rebuilds a table keeps the rows that hang from it, on SQLite and PostgreSQL:
0015 rebuilds ``outbox`` on SQLite (batch mode: copy, drop, rename), and a delivery of a notice
there is survives its upgrade and its downgrade. On SQLite a migration that leaves a row whose
parent is gone is refused, and the database stays at its revision."""

from __future__ import annotations

import sqlite3
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.migration import MigrationContext
from sqlalchemy import Connection
from sqlalchemy.engine import make_url

import models.base
from service.config import Settings
from service.store.migrate import alembic_config, upgrade
from tests.helpers import on_connection

AT = datetime(2026, 7, 20, 6, 0, tzinfo=UTC)
WHEN = models.base.UTCDateTime()

TYPES: dict[str, Any] = {
    "id": sa.Uuid(),
    "event_id": sa.Uuid(),
    "message_id": sa.Uuid(),
    "subscription_id": sa.Uuid(),
    "drill": sa.Boolean(),
    "drills": sa.Boolean(),
    "basis": sa.JSON(),
    "data": sa.JSON(),
    "opened_at": WHEN,
    "updated_at": WHEN,
    "created_at": WHEN,
    "next_attempt_at": WHEN,
}


def table(name: str, *columns: str) -> sa.TableClause:
    """The table as 0014 left it: the columns written here."""
    return sa.table(name, *(sa.column(c, TYPES.get(c)) for c in columns))


events = table("events", "id", "state", "drill", "basis", "timeline_seq", "opened_at", "updated_at")
subscriptions = table("subscriptions", "id", "url", "format", "drills", "created_at")
outbox = table("outbox", "id", "event_id", "type", "drill", "data", "created_at")
deliveries = table(
    "deliveries",
    *("id", "message_id", "subscription_id", "type", "event_id", "state", "attempts"),
    *("next_attempt_at", "created_at"),
)


def a_delivered_notice(connection: Connection) -> uuid.UUID:
    """An event, a subscription, a notice of the event and its delivery; the delivery's id."""
    event, subscription, message, delivery = (uuid.uuid4() for _ in range(4))
    kind = "event.level_changed"
    rows: list[tuple[sa.TableClause, dict[str, Any]]] = [
        (
            events,
            {"id": event, "state": "monitoring", "drill": False, "basis": []}
            | {"timeline_seq": 0, "opened_at": AT, "updated_at": AT},
        ),
        (
            subscriptions,
            {"id": subscription, "url": "http://receiver", "format": "standard"}
            | {"drills": False, "created_at": AT},
        ),
        (
            outbox,
            {"id": message, "event_id": event, "type": kind, "drill": False}
            | {"data": {}, "created_at": AT},
        ),
        (
            deliveries,
            {"id": delivery, "message_id": message, "subscription_id": subscription}
            | {"type": kind, "event_id": event, "state": "pending", "attempts": 0}
            | {"next_attempt_at": AT, "created_at": AT},
        ),
    ]
    for table, row in rows:
        connection.execute(table.insert().values(**row))
    connection.commit()
    return delivery


def delivery_ids(connection: Connection) -> list[uuid.UUID]:
    return [uuid.UUID(str(i)) for i in connection.scalars(sa.select(deliveries.c.id))]


def revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def test_a_rebuilt_table_keeps_the_rows_that_hang_from_it(empty_settings: Settings) -> None:
    upgrade(empty_settings, "0014")
    delivery = on_connection(empty_settings, a_delivered_notice)

    assert [m.revision for m in upgrade(empty_settings, "0015").applied] == ["0015"]
    assert on_connection(empty_settings, delivery_ids) == [delivery]

    command.downgrade(alembic_config(empty_settings), "0014")
    assert on_connection(empty_settings, delivery_ids) == [delivery]

    upgrade(empty_settings)  # and on to head
    assert on_connection(empty_settings, delivery_ids) == [delivery]


def test_a_row_whose_parent_is_gone_stops_the_upgrade(empty_settings: Settings) -> None:
    if not empty_settings.is_sqlite:
        pytest.skip("PostgreSQL checks every foreign key as the row is written")
    upgrade(empty_settings, "0014")
    delivery = on_connection(empty_settings, a_delivered_notice)
    # Python's sqlite3 leaves foreign keys off: the notice goes, its delivery stays.
    path = make_url(empty_settings.database_url).database
    assert path is not None
    with sqlite3.connect(path) as raw:
        raw.execute("DELETE FROM outbox")
    raw.close()

    with pytest.raises(
        RuntimeError, match=r"1 row\(s\) whose parent is gone \(deliveries → outbox\)"
    ):
        upgrade(empty_settings)

    assert on_connection(empty_settings, revision) == "0014"
    assert on_connection(empty_settings, delivery_ids) == [delivery]
