"""Migration 0021 (the agency poll's pages), on SQLite and PostgreSQL, each from an empty
database: its indexes take the place of ``(agency, state)``, the downgrade gives that one back,
and each page the poll can ask for is read in order from one of them, with no sort."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest
from alembic import command
from sqlalchemy import Connection, inspect, text

from service.config import Settings
from service.flows.actions.listing import PollPage, page_query
from service.store.cursors import encode_cursor
from service.store.migrate import alembic_config, upgrade
from tests.helpers import on_connection

EVENT = uuid.UUID(int=1)
CURSOR = encode_cursor("2026-07-20T06:00:00+00:00", str(uuid.UUID(int=2)))


@pytest.fixture
def settings(empty_settings: Settings) -> Settings:
    """An empty database of each backend (tests/store/conftest.py)."""
    return empty_settings


def action_indexes(connection: Connection) -> dict[str, list[str]]:
    listed = inspect(connection).get_indexes("actions")
    return {str(i["name"]): [str(c) for c in i["column_names"]] for i in listed}


def test_the_poll_indexes_replace_agency_and_state_and_go_with_the_downgrade(
    settings: Settings,
) -> None:
    upgrade(settings, "0020")
    before = on_connection(settings, action_indexes)
    assert before["ix_actions_agency_state"] == ["agency", "state"]

    assert [m.revision for m in upgrade(settings, "0021").applied] == ["0021"]

    after = on_connection(settings, action_indexes)
    assert after["ix_actions_agency_dispatched"] == ["agency", "dispatched_at", "id"]
    assert after["ix_actions_agency_state_dispatched"] == ["agency", "state", "dispatched_at", "id"]
    assert after["ix_actions_agency_event_dispatched"] == [
        "agency",
        "event_id",
        "dispatched_at",
        "id",
    ]
    assert "ix_actions_agency_state" not in after

    command.downgrade(alembic_config(settings), "0020")

    assert on_connection(settings, action_indexes) == before


def plan_of(asked: PollPage) -> Callable[[Connection], str]:
    """The page's query plan, one line of text, with sorting made as dear as the planner allows
    and the whole-table scan too: what is left is an index read in the page's order, or a sort."""

    def explain(connection: Connection) -> str:
        query = page_query(asked).compile(
            dialect=connection.dialect, compile_kwargs={"literal_binds": True}
        )
        if connection.dialect.name == "sqlite":
            rows = connection.execute(text(f"EXPLAIN QUERY PLAN {query}"))
            return " | ".join(str(row[-1]) for row in rows)
        connection.execute(text("SET enable_seqscan = off"))
        connection.execute(text("SET enable_sort = off"))
        return " | ".join(str(row[0]) for row in connection.execute(text(f"EXPLAIN {query}")))

    return explain


@pytest.mark.parametrize(
    ("asked", "index"),
    [
        (PollPage("power-company", 50), "ix_actions_agency_dispatched"),
        (PollPage("power-company", 50, cursor=CURSOR), "ix_actions_agency_dispatched"),
        (PollPage("power-company", 50, state="pending"), "ix_actions_agency_state_dispatched"),
        (
            PollPage("power-company", 50, state="done", cursor=CURSOR),
            "ix_actions_agency_state_dispatched",
        ),
        (PollPage("power-company", 50, event_id=EVENT), "ix_actions_agency_event_dispatched"),
        (
            PollPage("power-company", 50, event_id=EVENT, cursor=CURSOR),
            "ix_actions_agency_event_dispatched",
        ),
        (PollPage("power-company", 50, drill=True), "ix_actions_agency_dispatched"),
    ],
    ids=["first", "later", "state", "state-later", "event", "event-later", "drill"],
)
def test_every_page_is_read_in_order_from_an_index(
    settings: Settings, asked: PollPage, index: str
) -> None:
    upgrade(settings)

    plan = on_connection(settings, plan_of(asked))

    assert index in plan, plan
    assert "TEMP B-TREE" not in plan and "Sort" not in plan, plan
