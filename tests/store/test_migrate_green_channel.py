"""Migration 0020 (plan 3.2.2.1's green channel), on SQLite and PostgreSQL, each from an empty
database: the subscriptions there are stay the service's own (no channel); a public channel, CAP
and the new notices fit after it and not before; the downgrade removes what the schema before
had no place for, with its deliveries, and keeps the rest."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

import models.base
from service.config import Settings
from service.store.migrate import alembic_config, upgrade
from tests.helpers import on_connection

AT = datetime(2026, 7, 20, 6, 0, tzinfo=UTC)

# The tables as 0019 left them (and 0020's column): the columns written here.
SUBSCRIPTION_COLUMNS = (
    ("id", sa.Uuid()),
    ("url", sa.Text()),
    ("format", sa.String()),
    ("drills", sa.Boolean()),
    ("created_at", models.base.UTCDateTime()),
)
subscriptions = sa.table("subscriptions", *(sa.column(n, t) for n, t in SUBSCRIPTION_COLUMNS))
with_channel = sa.table(
    "subscriptions",
    *(sa.column(n, t) for n, t in SUBSCRIPTION_COLUMNS),
    sa.column("channel", sa.String()),
)
outbox = sa.table(
    "outbox",
    sa.column("id", sa.Uuid()),
    sa.column("type", sa.String()),
    sa.column("drill", sa.Boolean()),
    sa.column("data", sa.JSON()),
    sa.column("created_at", models.base.UTCDateTime()),
)
deliveries = sa.table(
    "deliveries",
    sa.column("id", sa.Uuid()),
    sa.column("message_id", sa.Uuid()),
    sa.column("subscription_id", sa.Uuid()),
    sa.column("type", sa.String()),
    sa.column("state", sa.String()),
    sa.column("attempts", sa.Integer()),
    sa.column("next_attempt_at", models.base.UTCDateTime()),
    sa.column("created_at", models.base.UTCDateTime()),
)


@pytest.fixture
def settings(empty_settings: Settings) -> Settings:
    """An empty database of each backend (tests/store/conftest.py)."""
    return empty_settings


def subscription(**values: Any) -> dict[str, Any]:
    return {"id": uuid.uuid4(), "url": "http://127.0.0.1:9/hook", "format": "standard"} | {
        "drills": False,
        "created_at": AT,
        **values,
    }


def notice(notice_type: str) -> dict[str, Any]:
    return {"id": uuid.uuid4(), "type": notice_type, "drill": False, "data": {}, "created_at": AT}


def delivery(message: dict[str, Any], to: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": uuid.uuid4(),
        "message_id": message["id"],
        "subscription_id": to["id"],
        "type": message["type"],
        "state": "pending",
        "attempts": 0,
        "next_attempt_at": AT,
        "created_at": AT,
    }


def refused(table: sa.TableClause, row: dict[str, Any]) -> Any:
    def insert(connection: Connection) -> bool:
        try:
            connection.execute(sa.insert(table).values(**row))
        except IntegrityError:
            connection.rollback()
            return True
        connection.rollback()
        return False

    return insert


def rows(connection: Connection) -> dict[str, set[Any]]:
    def ids(table: str) -> set[Any]:
        found = connection.execute(sa.text(f"SELECT id FROM {table}")).scalars()
        return {uuid.UUID(str(i)) for i in found}  # SQLite keeps them as 32 hex digits

    return {
        "subscriptions": ids("subscriptions"),
        "outbox": ids("outbox"),
        "deliveries": ids("deliveries"),
    }


def test_the_green_channel_fits_after_0020_and_goes_with_the_downgrade(
    settings: Settings,
) -> None:
    upgrade(settings, "0019")
    own = subscription()
    opened = notice("event.opened")
    kept = delivery(opened, own)

    def fill_0019(connection: Connection) -> None:
        connection.execute(sa.insert(subscriptions).values(**own))
        connection.execute(sa.insert(outbox).values(**opened))
        connection.execute(sa.insert(deliveries).values(**kept))
        connection.commit()

    on_connection(settings, fill_0019)
    assert on_connection(settings, refused(subscriptions, subscription(format="cap")))
    assert on_connection(settings, refused(outbox, notice("release.published")))

    assert [m.revision for m in upgrade(settings, "0020").applied] == ["0020"]

    def channels(connection: Connection) -> list[Any]:
        return list(connection.execute(sa.select(with_channel.c.channel)).scalars())

    assert on_connection(settings, channels) == [None]  # the service's own, as before
    assert on_connection(settings, refused(with_channel, subscription(channel="radio")))
    cap = subscription(format="cap", channel="broadcast")
    media = subscription(channel="media")
    released = notice("release.published")
    updated = notice("warning.updated")

    def fill_0020(connection: Connection) -> None:
        connection.execute(sa.insert(with_channel), [cap, media])
        connection.execute(sa.insert(outbox), [released, updated])
        connection.execute(
            sa.insert(deliveries),
            [delivery(opened, cap), delivery(released, media), delivery(updated, own)],
        )
        connection.commit()

    on_connection(settings, fill_0020)
    found = on_connection(settings, rows)
    assert {table: len(ids) for table, ids in found.items()} == {
        "subscriptions": 3,
        "outbox": 3,
        "deliveries": 4,
    }

    command.downgrade(alembic_config(settings), "0019")

    assert on_connection(settings, rows) == {
        "subscriptions": {own["id"]},
        "outbox": {opened["id"]},
        "deliveries": {kept["id"]},
    }
    assert on_connection(settings, refused(subscriptions, subscription(format="cap")))
