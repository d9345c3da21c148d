"""Migration 0019 (the board's indexes, found by the growth table of ``make bench``), on SQLite
and PostgreSQL, each from an empty database: the actions and events already there stay, looked
up by the new indexes in place of the old ones, and the downgrade gives the old ones back."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import TypeVar

import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy import Connection, inspect

import models.base
from service.config import Settings
from service.store.migrate import alembic_config, upgrade
from tests.helpers import on_connection

T = TypeVar("T")
AT = datetime(2026, 7, 20, 6, 0, tzinfo=UTC)

# The tables as 0018 left them: the columns written here.
events = sa.table(
    "events",
    sa.column("id", sa.Uuid()),
    sa.column("state", sa.String()),
    sa.column("drill", sa.Boolean()),
    sa.column("opened_at", models.base.UTCDateTime()),
    sa.column("updated_at", models.base.UTCDateTime()),
    sa.column("closed_at", models.base.UTCDateTime()),
    sa.column("basis", sa.JSON()),
    sa.column("timeline_seq", sa.BigInteger()),
)
actions = sa.table(
    "actions",
    *(
        sa.column(name, sa.String())
        for name in ("key", "agency", "phase", "level", "clause", "title", "detail", "state")
    ),
    sa.column("id", sa.Uuid()),
    sa.column("event_id", sa.Uuid()),
    sa.column("playbook_version", sa.String()),
    sa.column("dispatched_at", models.base.UTCDateTime()),
    sa.column("due_at", models.base.UTCDateTime()),
    sa.column("updated_at", models.base.UTCDateTime()),
)


@pytest.fixture
def settings(empty_settings: Settings) -> Settings:
    """An empty database of each backend (tests/store/conftest.py)."""
    return empty_settings


def indexes(connection: Connection) -> dict[str, dict[str, list[str]]]:
    """Each table's indexes (not its unique constraints) with their columns."""
    found = {}
    for table in ("actions", "events"):
        listed = inspect(connection).get_indexes(table)
        found[table] = {str(i["name"]): [str(c) for c in i["column_names"]] for i in listed}
    return found


def fill(connection: Connection) -> None:
    """One event closed long ago, and its action done."""
    event = uuid.uuid4()
    connection.execute(
        sa.insert(events).values(
            id=event,
            state="closed",
            drill=False,
            opened_at=AT,
            updated_at=AT,
            closed_at=AT + timedelta(hours=6),
            basis=[],
            timeline_seq=0,
        )
    )
    connection.execute(
        sa.insert(actions).values(
            id=uuid.uuid4(),
            event_id=event,
            key="response.power-company.restore",
            agency="power-company",
            phase="response",
            level="IV",
            clause="5.3",
            title="抢修恢复",
            detail="组织抢修。",
            state="done",
            playbook_version="0123456789abcdef",
            dispatched_at=AT,
            due_at=AT + timedelta(hours=2),
            updated_at=AT,
        )
    )
    connection.commit()


def counts(connection: Connection) -> tuple[int, int]:
    def count(table: str) -> int:
        return int(connection.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one())

    return count("events"), count("actions")


def test_the_board_indexes_replace_the_narrow_ones_and_keep_every_row(settings: Settings) -> None:
    upgrade(settings, "0018")
    on_connection(settings, fill)
    before = on_connection(settings, indexes)
    assert before["actions"]["ix_actions_event_id"] == ["event_id"]
    assert before["events"]["ix_events_state"] == ["state"]

    assert [m.revision for m in upgrade(settings, "0019").applied] == ["0019"]

    after = on_connection(settings, indexes)
    assert after["actions"]["ix_actions_event_state_due"] == ["event_id", "state", "due_at"]
    assert after["events"]["ix_events_state_closed"] == ["state", "closed_at"]
    assert "ix_actions_event_id" not in after["actions"]
    assert "ix_events_state" not in after["events"]
    assert on_connection(settings, counts) == (1, 1)

    command.downgrade(alembic_config(settings), "0018")

    assert on_connection(settings, indexes) == before
    assert on_connection(settings, counts) == (1, 1)
