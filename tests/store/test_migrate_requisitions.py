"""Migration 0013 (plan 5.3's approvals and requisitions), on SQLite and PostgreSQL, each from an
empty database: the actions already there keep what they were asked (nothing required of them),
the timeline takes the new kinds, and the downgrade stops while entries of them are there (they
are hashed into their chains) and otherwise gives back 0011's schema with every action."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy import Connection, inspect
from sqlalchemy.exc import IntegrityError

import models.base
from service.config import Settings
from service.store.migrate import alembic_config, upgrade
from tests.helpers import on_connection

AT = datetime(2026, 7, 20, 6, 0, tzinfo=UTC)
EVENT, ACTION = uuid.uuid4(), uuid.uuid4()

# The tables as 0011 left them (not the models, which have moved on).
events = sa.table(
    "events",
    sa.column("id", sa.Uuid()),
    sa.column("state", sa.String()),
    sa.column("drill", sa.Boolean()),
    sa.column("opened_at", models.base.UTCDateTime()),
    sa.column("updated_at", models.base.UTCDateTime()),
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
timeline = sa.table(
    "timeline",
    sa.column("event_id", sa.Uuid()),
    sa.column("event_seq", sa.BigInteger()),
    sa.column("at", models.base.UTCDateTime()),
    sa.column("kind", sa.String()),
    sa.column("actor", sa.String()),
    sa.column("summary", sa.Text()),
    sa.column("data", sa.JSON()),
    sa.column("hash", sa.String()),
)


def an_open_control(connection: Connection) -> None:
    """An event with the emergency control dispatched, pending, as 0011's service wrote it."""
    connection.execute(
        sa.insert(events).values(
            id=EVENT,
            state="response",
            drill=False,
            opened_at=AT,
            updated_at=AT,
            basis=[],
            timeline_seq=0,
        )
    )
    connection.execute(
        sa.insert(actions).values(
            id=ACTION,
            event_id=EVENT,
            key="response.social.emergency-control",
            agency="hq-330603",
            phase="response",
            level="IV",
            clause="5.3",
            title="报经当地政府批准，对重点地区和重点部位实施紧急控制",
            detail="…",
            state="pending",
            playbook_version="0" * 16,
            dispatched_at=AT,
            due_at=AT + timedelta(minutes=60),
            updated_at=AT,
        )
    )
    connection.commit()


def an_entry_of(kind: str) -> Callable[[Connection], None]:
    def write(connection: Connection) -> None:
        connection.execute(
            sa.insert(timeline).values(
                event_id=EVENT,
                event_seq=1,
                at=AT,
                kind=kind,
                actor="commander:指挥长",
                summary="…",
                data={},
                hash="0" * 64,
            )
        )
        connection.commit()

    return write


def the_actions(connection: Connection) -> list[dict[str, Any]]:
    found = sa.table(
        "actions", *(sa.column(c["name"]) for c in inspect(connection).get_columns("actions"))
    )
    return [dict(row._mapping) for row in connection.execute(sa.select(found))]


def test_actions_there_are_require_nothing_and_the_new_kinds_are_taken(
    empty_settings: Settings,
) -> None:
    upgrade(empty_settings, "0011")
    on_connection(empty_settings, an_open_control)

    upgrade(empty_settings)

    [action] = on_connection(empty_settings, the_actions)
    assert (uuid.UUID(str(action["id"])), action["state"]) == (ACTION, "pending")
    assert (action["requires"], action["approval"]) == (None, None)
    on_connection(empty_settings, an_entry_of("action_approved"))
    tables = on_connection(empty_settings, lambda c: inspect(c).get_table_names())
    assert "requisitions" in tables


def test_the_downgrade_keeps_the_entries_of_the_new_kinds(empty_settings: Settings) -> None:
    upgrade(empty_settings, "0011")
    on_connection(empty_settings, an_open_control)
    upgrade(empty_settings)
    on_connection(empty_settings, an_entry_of("requisition_recorded"))

    with pytest.raises(
        RuntimeError, match=r"kinds 0013 added: 'requisition_recorded' \(1 entries\)"
    ):
        command.downgrade(alembic_config(empty_settings), "0011")

    kinds = on_connection(
        empty_settings, lambda c: [row.kind for row in c.execute(sa.select(timeline.c.kind))]
    )
    assert kinds == ["requisition_recorded"]


def test_the_downgrade_gives_back_0011s_schema_and_every_action(empty_settings: Settings) -> None:
    upgrade(empty_settings, "0011")
    on_connection(empty_settings, an_open_control)
    upgrade(empty_settings)

    command.downgrade(alembic_config(empty_settings), "0011")

    [action] = on_connection(empty_settings, the_actions)
    assert (
        uuid.UUID(str(action["id"])) == ACTION
        and "requires" not in action
        and "approval" not in action
    )
    tables = on_connection(empty_settings, lambda c: inspect(c).get_table_names())
    assert "requisitions" not in tables
    with pytest.raises(IntegrityError, match="ck_timeline_kind"):
        on_connection(empty_settings, an_entry_of("action_approved"))
