"""The Alembic migrations, on SQLite and on PostgreSQL, each from an empty database.

- upgrading an empty database to head works, and says which migrations it applied;
- the migrated schema is what the models say (autogenerate finds nothing to do);
- downgrading to base removes everything, and upgrading again gives the same schema;
- the app's engine runs SQLite in WAL mode with foreign keys enforced;
- replicas upgrading one PostgreSQL database together take turns (the advisory lock).

Every test gets its own empty database: a file under the test's tmp folder, or a database made on
the PostgreSQL server at ``OUTAGE_TEST_DATABASE_URL`` (as in conftest) and dropped after.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import asyncpg
import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import (
    Column,
    Connection,
    MetaData,
    String,
    Table,
    Uuid,
    column,
    insert,
    inspect,
    select,
    text,
)
from sqlalchemy import table as table_clause
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError

import models
from models.base import UTCDateTime, table_of
from service.config import Settings
from service.flows.events.audit import verify_timelines
from service.plan.chain import entry_hash
from service.plan.timeline import TIMELINE_KINDS
from service.store import timeline
from service.store.engine import make_engine, make_sessionmaker
from service.store.migrate import MIGRATION_LOCK_KEY, Migration, Upgraded, alembic_config, upgrade
from tests.helpers import POLL_SECONDS, START_SECONDS, on_connection


def migration_module(settings: Settings, revision: str) -> Any:
    """The module of one migration, as Alembic loaded it (its constants: the record it keeps)."""
    script = ScriptDirectory.from_config(alembic_config(settings)).get_revision(revision)
    assert script is not None, revision
    return script.module


def table_names(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names())


def current_revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def head_revision(settings: Settings) -> str:
    head = ScriptDirectory.from_config(alembic_config(settings)).get_current_head()
    assert head is not None
    return head


def schema_diff(metadata: MetaData) -> Callable[[Connection], list[Any]]:
    """What autogenerate would change to make the database match ``metadata``.

    Types and server defaults are compared too. The custom types need no special handling:
    Alembic compares the DDL each type compiles to on the connection's dialect, which for
    UTCDateTime / ExactDecimal is their dialect implementation (TIMESTAMP WITH TIME ZONE and
    NUMERIC(18, 6) on PostgreSQL, DATETIME and VARCHAR(40) on SQLite), exactly what the
    migration created. ``test_schema_comparison_sees_drift`` makes sure this comparison is
    not vacuous.
    """

    def diff(connection: Connection) -> list[Any]:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "compare_server_default": True}
        )
        return list(compare_metadata(context, metadata))

    return diff


def test_upgrade_from_empty_to_head(empty_settings: Settings) -> None:
    assert on_connection(empty_settings, table_names) == set()

    upgrade(empty_settings)

    assert on_connection(empty_settings, current_revision) == head_revision(empty_settings)
    expected = set(models.Base.metadata.tables) | {"alembic_version"}
    assert on_connection(empty_settings, table_names) == expected


def test_upgrade_reports_the_migrations_it_applied(empty_settings: Settings) -> None:
    head = head_revision(empty_settings)

    first = upgrade(empty_settings, "0001")
    rest = upgrade(empty_settings)
    again = upgrade(empty_settings)

    assert first == Upgraded((Migration("0001", "foundation"),), "0001", head)
    # the rest is every revision after 0001 up to head, oldest first (numbered in order)
    script = ScriptDirectory.from_config(alembic_config(empty_settings))
    after_first = [r.revision for r in script.walk_revisions("0001", "head")][-2::-1]
    assert [m.revision for m in rest.applied] == after_first
    assert after_first == sorted(after_first) and after_first[-1] == head
    assert all(m.message for m in rest.applied)
    assert rest.current == head
    assert again == Upgraded((), head, head)


def test_models_match_migrated_schema(empty_settings: Settings) -> None:
    upgrade(empty_settings)

    assert on_connection(empty_settings, schema_diff(models.Base.metadata)) == []


def test_schema_comparison_sees_drift(empty_settings: Settings) -> None:
    """The comparison above can fail: a changed length and a missing column are both found."""
    upgrade(empty_settings)
    drifted = MetaData(naming_convention=models.Base.metadata.naming_convention)
    for table in models.Base.metadata.tables.values():
        table.to_metadata(drifted)
    tokens = drifted.tables["api_tokens"]
    tokens.c.name.type = String(201)
    tokens.append_column(Column("nickname", String(20), nullable=True))

    diff = on_connection(empty_settings, schema_diff(drifted))

    kinds = {(entry[0] if isinstance(entry, tuple) else entry[0][0]) for entry in diff}
    assert kinds == {"add_column", "modify_type"}, diff


def test_downgrade_to_base_and_upgrade_again(empty_settings: Settings) -> None:
    upgrade(empty_settings)

    command.downgrade(alembic_config(empty_settings), "base")

    assert on_connection(empty_settings, table_names) == {"alembic_version"}
    assert on_connection(empty_settings, current_revision) is None

    upgrade(empty_settings)

    assert on_connection(empty_settings, current_revision) == head_revision(empty_settings)
    assert on_connection(empty_settings, schema_diff(models.Base.metadata)) == []


AT = datetime(2026, 7, 20, 6, 0, 0, 123456, tzinfo=UTC)


def fill_timelines(
    connection: Connection,
    events: list[uuid.UUID],
    kinds: Sequence[str] = ("report",) * 3,
    *,
    chained: bool = False,
) -> None:
    """An event per id, with an entry of each of ``kinds`` (numbered 1, 2 …, written last to
    first), through the models' tables, in one transaction: naming only the columns 0007 has,
    or (``chained``) with the hashes 0008 added, as service.store.timeline writes them."""
    actor = uuid.uuid4()
    connection.execute(
        insert(table_of(models.ApiToken)).values(
            id=actor, token_hash=actor.hex * 2, role="dispatcher", name="城调", created_at=AT
        )
    )
    for event in events:
        entries = [
            {
                "event_id": event,
                "event_seq": seq,
                "at": AT + timedelta(minutes=seq),
                "kind": kind,
                "actor_id": actor,
                "actor": "dispatcher:城调",
                "clause": "4",
                "summary": f"第{seq}条",
                "data": {"b": [1.5, None], "a": "柯桥"},
            }
            for seq, kind in enumerate(kinds, start=1)
        ]
        head = None
        for entry in entries if chained else ():
            entry["prev_hash"] = head
            entry["hash"] = head = entry_hash(head, entry)
        connection.execute(
            insert(table_of(models.Event)).values(
                id=event,
                opened_at=AT,
                updated_at=AT,
                basis=[],
                timeline_seq=len(kinds),
                **({"timeline_hash": head} if chained else {}),
            )
        )
        for entry in reversed(entries):  # not in order of insertion
            connection.execute(insert(table_of(models.TimelineEntry)).values(**entry))
    connection.commit()


def stored_entries(connection: Connection) -> list[tuple[Any, ...]]:
    entries = table_of(models.TimelineEntry)
    query = select(entries.c.event_id, entries.c.event_seq, entries.c.kind, entries.c.hash)
    return [tuple(row) for row in connection.execute(query.order_by(entries.c.seq))]


def test_the_timelines_there_are_get_chained(empty_settings: Settings) -> None:
    """0008 hashes the entries written before it, each event's in order, so that the chain
    holds from the first entry on and the next entry links to the event's head."""
    upgrade(empty_settings, "0007")
    events = [uuid.uuid4() for _ in range(2)]

    on_connection(empty_settings, lambda connection: fill_timelines(connection, events))
    upgrade(empty_settings)

    async def check() -> None:
        engine = make_engine(empty_settings)
        try:
            async with make_sessionmaker(engine)() as session:
                audit = await verify_timelines(session)
                heads = await timeline.chain_heads(session)
                chains = [await timeline.chain(session, event) for event in sorted(events)]
        finally:
            await engine.dispose()
        assert (audit.events, audit.entries, audit.breaks) == (2, 6, {})
        assert [head[2] for head in heads] == [chain[-1]["hash"] for chain in chains]
        assert [[e["prev_hash"] is None for e in chain] for chain in chains] == [
            [True, False, False]
        ] * 2

    asyncio.run(check())


def test_the_timeline_refuses_a_kind_outside_the_vocabulary(empty_settings: Settings) -> None:
    """0009's CHECK holds every kind of service.plan.timeline, and nothing else: a kind the
    vocabulary gains without a migration fails here, as does a misspelt one."""
    upgrade(empty_settings)
    every_kind = [uuid.uuid4()]

    on_connection(
        empty_settings, lambda c: fill_timelines(c, every_kind, TIMELINE_KINDS, chained=True)
    )

    def write_kind(kind: str) -> Callable[[Connection], None]:
        def write(connection: Connection) -> None:
            fill_timelines(connection, [uuid.uuid4()], [kind], chained=True)

        return write

    for wrong in ("note", "response_escalated", "Report", ""):
        with pytest.raises(IntegrityError, match="ck_timeline_kind"):
            on_connection(empty_settings, write_kind(wrong))
    assert {row[2] for row in on_connection(empty_settings, stored_entries)} == set(TIMELINE_KINDS)


def test_the_kind_check_keeps_the_entries_there_are(empty_settings: Settings) -> None:
    """0009 leaves every stored entry as it was, kind and hash (the chain still holds), and its
    downgrade drops the check and nothing else. The entries are of the kinds there were then
    (0009's own list): a kind added later comes with a migration of its own."""
    kinds = migration_module(empty_settings, "0009").KINDS
    upgrade(empty_settings, "0007")
    events = [uuid.uuid4() for _ in range(2)]
    on_connection(empty_settings, lambda c: fill_timelines(c, events, kinds))
    upgrade(empty_settings, "0008")
    before = on_connection(empty_settings, stored_entries)

    assert [m.revision for m in upgrade(empty_settings, "0009").applied] == ["0009"]

    assert on_connection(empty_settings, stored_entries) == before
    assert len(before) == 2 * len(kinds)

    async def audit() -> tuple[int, int, dict[uuid.UUID, Any]]:
        engine = make_engine(empty_settings)
        try:
            async with make_sessionmaker(engine)() as session:
                found = await verify_timelines(session)
        finally:
            await engine.dispose()
        return found.events, found.entries, found.breaks

    assert asyncio.run(audit()) == (2, 2 * len(kinds), {})

    command.downgrade(alembic_config(empty_settings), "0008")

    assert on_connection(empty_settings, stored_entries) == before
    on_connection(
        empty_settings, lambda c: fill_timelines(c, [uuid.uuid4()], ["note"], chained=True)
    )


def test_a_drill_there_is_gets_its_clock_and_every_event_keeps_its_children(
    empty_settings: Settings,
) -> None:
    """0010 gives each drill event a clock where its record stands (its last entry, else its
    last change) and a real event none; it rebuilds no table, so no event's timeline goes with
    it (SQLite would cascade the old table's drop to them); its downgrade drops the column."""
    upgrade(empty_settings, "0009")
    real, drill, quiet = (uuid.uuid4() for _ in range(3))
    events = table_of(models.Event)

    def fill(connection: Connection) -> None:
        fill_timelines(connection, [real, drill, quiet], ["event_opened", "report"], chained=True)
        last = AT + timedelta(minutes=2)
        connection.execute(events.update().where(events.c.id == real).values(timeline_at=last))
        connection.execute(
            events.update().where(events.c.id == drill).values(drill=True, timeline_at=last)
        )
        connection.execute(events.update().where(events.c.id == quiet).values(drill=True))
        connection.commit()

    def clocks(connection: Connection) -> dict[uuid.UUID, Any]:
        rows = connection.execute(select(events.c.id, events.c.drill_clock))
        return {row.id: row.drill_clock for row in rows}

    on_connection(empty_settings, fill)
    before = on_connection(empty_settings, stored_entries)

    assert [m.revision for m in upgrade(empty_settings, "0010").applied] == ["0010"]

    assert on_connection(empty_settings, stored_entries) == before and len(before) == 6
    assert on_connection(empty_settings, clocks) == {
        real: None,
        drill: AT + timedelta(minutes=2),
        quiet: AT,
    }
    command.downgrade(alembic_config(empty_settings), "0009")
    columns = on_connection(empty_settings, lambda c: inspect(c).get_columns("events"))
    assert "drill_clock" not in {column["name"] for column in columns}
    assert on_connection(empty_settings, stored_entries) == before


def test_the_actions_there_are_stay_due_on_their_acknowledgement(
    empty_settings: Settings,
) -> None:
    """0012 keeps what an action already dispatched was asked: its due time asked for an
    acknowledgement; its CHECK admits acknowledgement and completion only; its downgrade drops
    the column and keeps the actions (no table refers to actions: the rebuild loses nothing)."""
    upgrade(empty_settings, "0011")
    event, action = uuid.uuid4(), uuid.uuid4()
    row = {
        "event_id": event,
        "agency": "power-company",
        "phase": "first_response",
        "level": "IV",
        "clause": "4",
        "title": "立即向受影响区域电力运行主管部门报告",
        "detail": "立即报告。",
        "state": "acknowledged",
        "playbook_version": "0123456789abcdef",
        "dispatched_at": AT,
        "due_at": AT + timedelta(minutes=30),
        "updated_at": AT,
    }
    # the actions table as 0011 leaves it (the model has moved on): the columns written here
    model = table_of(models.Action)
    actions = table_clause("actions", *(column(n, model.c[n].type) for n in ["id", "key", *row]))

    def fill(connection: Connection) -> None:
        fill_timelines(connection, [event], ["event_opened"], chained=True)
        key = "reporting.power-company.report-local-authority"
        connection.execute(insert(actions).values(id=action, key=key, **row))
        connection.commit()

    def due_ons(connection: Connection) -> dict[uuid.UUID, str]:
        found = connection.execute(text("SELECT id, due_on FROM actions"))
        return {uuid.UUID(str(i)): due_on for i, due_on in found}

    on_connection(empty_settings, fill)

    assert [m.revision for m in upgrade(empty_settings, "0012").applied] == ["0012"]

    assert on_connection(empty_settings, due_ons) == {action: "acknowledgement"}

    def write(due_on: str) -> Callable[[Connection], None]:
        def insert_one(connection: Connection) -> None:
            values = {**row, "id": uuid.uuid4(), "key": f"k.{due_on}", "due_on": due_on}
            names = ["id", "key", "due_on", *row]
            as_0012 = table_clause("actions", *(column(n, model.c[n].type) for n in names))
            connection.execute(insert(as_0012).values(**values))
            connection.commit()

        return insert_one

    on_connection(empty_settings, write("completion"))
    with pytest.raises(IntegrityError, match="ck_actions_due_on"):
        on_connection(empty_settings, write("receipt"))
    command.downgrade(alembic_config(empty_settings), "0011")
    columns = on_connection(empty_settings, lambda c: inspect(c).get_columns("actions"))
    assert "due_on" not in {column["name"] for column in columns}
    count = text("SELECT count(*) FROM actions")
    assert on_connection(empty_settings, lambda c: c.execute(count).scalar_one()) == 2


def test_superseded_duties_go_back_to_cancelled_and_their_entries_stop_the_downgrade(
    empty_settings: Settings,
) -> None:
    """0016 adds the superseded state and its timeline kind; its downgrade makes a superseded
    action cancelled (superseded, at the time it was), and stops, naming them, while the
    timeline holds entries of the kind it removes (hashed into their chains)."""
    upgrade(empty_settings, "0016")
    event = uuid.uuid4()
    # the table as 0016 left it (the model's has moved on)
    actions = table_clause(
        "actions",
        *(
            Column(column.name, column.type)
            for column in table_of(models.Action).c
            if column.name not in ("run", "regarding")
        ),
    )

    def fill(connection: Connection) -> None:
        fill_timelines(connection, [event], ["report", "actions_superseded"], chained=True)
        connection.execute(
            insert(actions).values(
                id=uuid.uuid4(),
                event_id=event,
                key="response.hq-city.on-site-hq",
                agency="hq-city",
                phase="response",
                level="III",
                clause="2.3",
                title="根据需要成立现场指挥部",
                detail="",
                state="superseded",
                playbook_version="0",
                dispatched_at=AT,
                due_at=AT + timedelta(hours=2),
                superseded_at=AT + timedelta(minutes=5),
                updated_at=AT,
            )
        )
        connection.commit()

    def states(connection: Connection) -> list[tuple[Any, ...]]:
        query = select(actions.c.state, actions.c.cancelled_at, actions.c.cancel_reason)
        return [tuple(row) for row in connection.execute(query)]

    def forget_entries(connection: Connection) -> None:
        entries = table_of(models.TimelineEntry)
        connection.execute(entries.delete().where(entries.c.kind == "actions_superseded"))
        connection.commit()

    on_connection(empty_settings, fill)
    with pytest.raises(RuntimeError, match=r"'actions_superseded' \(1 entries\)"):
        command.downgrade(alembic_config(empty_settings), "0015")
    assert on_connection(empty_settings, current_revision) == "0016"

    on_connection(empty_settings, forget_entries)
    command.downgrade(alembic_config(empty_settings), "0015")

    assert on_connection(empty_settings, states) == [
        ("cancelled", AT + timedelta(minutes=5), "superseded")
    ]
    columns = on_connection(empty_settings, lambda c: inspect(c).get_columns("actions"))
    assert "superseded_at" not in {column["name"] for column in columns}


def test_report_runs_number_the_links_there_are_and_go_back_to_one_run(
    empty_settings: Settings,
) -> None:
    """0017 puts the plan 4 links already there in the first run of their event (no area) and
    every other action in none; its downgrade keeps each unit's first run of a link and drops
    the later ones, which the old key (event, key, agency) cannot hold."""
    upgrade(empty_settings, "0016")
    event = uuid.uuid4()
    model = table_of(models.Action)
    before = table_clause(
        "actions",
        *(Column(c.name, c.type) for c in model.c if c.name not in ("run", "regarding")),
    )

    def action(key: str, **extra: Any) -> dict[str, Any]:
        return {
            "id": uuid.uuid4(),
            "event_id": event,
            "key": key,
            "agency": "power-company",
            "phase": "first_response",
            "clause": "4",
            "title": "报告",
            "detail": "",
            "state": "pending",
            "playbook_version": "0",
            "dispatched_at": AT,
            "due_at": AT,
            "updated_at": AT,
            **extra,
        }

    link = "reporting.power-company.report-local-authority"

    def fill(connection: Connection) -> None:
        fill_timelines(connection, [event], ["report"], chained=True)
        connection.execute(insert(before).values(action(link)))
        connection.execute(insert(before).values(action("response.power-company.repair-grid")))
        connection.commit()

    def runs(connection: Connection) -> list[tuple[Any, ...]]:
        query = select(model.c.key, model.c.run, model.c.regarding).order_by(model.c.key)
        return [tuple(row) for row in connection.execute(query)]

    def follow_up(connection: Connection) -> None:
        connection.execute(insert(model).values(action(link, run=2, regarding="330603")))
        connection.commit()

    on_connection(empty_settings, fill)
    assert [m.revision for m in upgrade(empty_settings, "0017").applied] == ["0017"]
    assert on_connection(empty_settings, runs) == [
        (link, 1, None),
        ("response.power-company.repair-grid", 0, None),
    ]
    on_connection(empty_settings, follow_up)

    command.downgrade(alembic_config(empty_settings), "0016")

    kept = on_connection(
        empty_settings, lambda c: sorted(row[0] for row in c.execute(select(before.c.key)))
    )
    assert kept == [link, "response.power-company.repair-grid"]
    columns = on_connection(empty_settings, lambda c: inspect(c).get_columns("actions"))
    assert not {"run", "regarding"} & {column["name"] for column in columns}


def test_an_unknown_stored_kind_stops_the_upgrade_naming_it(empty_settings: Settings) -> None:
    """An entry of a kind the service never wrote is not rewritten (its kind is in its hash):
    the upgrade stops before changing anything, and says which kinds and how many."""
    upgrade(empty_settings, "0007")
    on_connection(empty_settings, lambda c: fill_timelines(c, [uuid.uuid4()], ["report", "note"]))
    upgrade(empty_settings, "0008")

    with pytest.raises(RuntimeError, match=r"never wrote: 'note' \(1 entries\)"):
        upgrade(empty_settings)

    assert on_connection(empty_settings, current_revision) == "0008"
    kinds = sorted(row[2] for row in on_connection(empty_settings, stored_entries))
    assert kinds == ["note", "report"]


def test_attestations_there_are_know_their_events_grids_and_stand(
    empty_settings: Settings,
) -> None:
    """0014 gives each attestation there is the grids its event holds (what it knew, as near as
    the record says) and leaves it standing; the timeline takes the new kinds; the downgrade
    stops while entries of those kinds are there, and otherwise drops the columns."""
    upgrade(empty_settings, "0013")
    event, other = uuid.uuid4(), uuid.uuid4()
    stated = {event: uuid.uuid4(), other: uuid.uuid4()}
    # as 0013 has the table (the model's known has a default the table lacks then)
    attestations = Table(
        "attestations",
        MetaData(),
        Column("id", Uuid()),
        Column("event_id", Uuid()),
        Column("condition", String()),
        Column("evidence", String()),
        Column("actor_id", Uuid()),
        Column("actor", String()),
        Column("at", UTCDateTime()),
    )

    def fill(connection: Connection) -> None:
        fill_timelines(connection, [event, other], ["report"], chained=True)
        actor = connection.execute(select(table_of(models.ApiToken).c.id)).scalar_one()
        grids = [("330603", "20", "100", None), ("330602", "0", "0", 0)]
        connection.execute(
            insert(table_of(models.EventGrid)),
            [
                {
                    "event_id": event,
                    "region": region,
                    "scope": "county",
                    "load_mw": Decimal(200),
                    "load_lost_mw": Decimal(lost),
                    "observed_at": AT,
                    "peak_load_lost_mw": Decimal(peak),
                    "peak_customers_out": out,
                }
                for region, lost, peak, out in grids
            ],
        )
        connection.execute(
            insert(attestations),
            [
                {
                    "id": stated[e],
                    "event_id": e,
                    "condition": "grid_stable",
                    "evidence": "主网架恢复",
                    "actor_id": actor,
                    "actor": "dispatcher:城调",
                    "at": AT,
                }
                for e in (event, other)
            ],
        )
        connection.commit()

    def stored(connection: Connection) -> dict[uuid.UUID, tuple[Any, ...]]:
        """Each attestation's known figures (exact: PostgreSQL keeps NUMERIC's six places) and
        whether it was withdrawn or voided."""
        table = table_of(models.Attestation)
        query = select(table.c.id, table.c.known, table.c.withdrawn_at, table.c.voided_at)
        return {
            row.id: (
                {r: {**g, "lost": Decimal(g["lost"])} for r, g in row.known.items()},
                row.withdrawn_at,
                row.voided_at,
            )
            for row in connection.execute(query)
        }

    on_connection(empty_settings, fill)

    assert [m.revision for m in upgrade(empty_settings, "0014").applied] == ["0014"]

    assert on_connection(empty_settings, stored) == {
        stated[event]: (
            {
                "330603": {"lost": Decimal(20), "hit": True},
                "330602": {"lost": Decimal(0), "hit": False},
            },
            None,
            None,
        ),
        stated[other]: ({}, None, None),
    }
    for kind in ("attestation_withdrawn", "attestations_voided"):
        on_connection(
            empty_settings, lambda c, k=kind: fill_timelines(c, [uuid.uuid4()], [k], chained=True)
        )
    with pytest.raises(RuntimeError, match=r"'attestation_withdrawn' \(1 entries\)"):
        command.downgrade(alembic_config(empty_settings), "0013")
    assert on_connection(empty_settings, current_revision) == "0014"

    def forget_new_kinds(connection: Connection) -> None:
        entries = table_of(models.TimelineEntry)
        fresh = ("attestation_withdrawn", "attestations_voided")
        connection.execute(entries.delete().where(entries.c.kind.in_(fresh)))
        connection.commit()

    on_connection(empty_settings, forget_new_kinds)
    command.downgrade(alembic_config(empty_settings), "0013")
    columns = on_connection(empty_settings, lambda c: inspect(c).get_columns("attestations"))
    assert [column["name"] for column in columns] == [
        "id",
        "event_id",
        "condition",
        "evidence",
        "actor_id",
        "actor",
        "at",
    ]
    with pytest.raises(IntegrityError, match="ck_timeline_kind"):
        on_connection(
            empty_settings,
            lambda c: fill_timelines(c, [uuid.uuid4()], ["attestation_withdrawn"], chained=True),
        )


@pytest.mark.parametrize("empty_settings", ["sqlite"], indirect=True)
def test_sqlite_runs_in_wal_mode_with_foreign_keys(empty_settings: Settings) -> None:
    upgrade(empty_settings)

    def pragmas(connection: Connection) -> dict[str, Any]:
        return {
            name: connection.exec_driver_sql(f"PRAGMA {name}").scalar_one()
            for name in ("journal_mode", "foreign_keys", "busy_timeout")
        }

    assert on_connection(empty_settings, pragmas) == {
        "journal_mode": "wal",
        "foreign_keys": 1,
        "busy_timeout": empty_settings.sqlite_busy_timeout_ms,
    }

    def insert_orphan_grid(connection: Connection) -> None:
        connection.execute(
            text(
                "INSERT INTO event_grids (event_id, region, scope, load_mw, load_lost_mw,"
                " observed_at, peak_load_lost_mw)"
                " VALUES (:event_id, '330603', 'county', '1', '0', '2026-11-25 00:00:00', '0')"
            ),
            {"event_id": uuid.uuid4().hex},
        )

    with pytest.raises(IntegrityError, match="FOREIGN KEY constraint failed"):
        on_connection(empty_settings, insert_orphan_grid)


REPLICAS = 3
WAITING_FOR_LOCK = """
    SELECT count(*) FROM pg_locks
    WHERE locktype = 'advisory' AND NOT granted
      AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
"""


@pytest.mark.process
@pytest.mark.postgres
@pytest.mark.parametrize("empty_settings", ["postgres"], indirect=True)
async def test_replicas_upgrading_together_migrate_once(empty_settings: Settings) -> None:
    """Three `db upgrade` processes on one empty database all succeed, one migrating at a time.

    The test holds the migration lock until all three wait on it, so they are let go together:
    without the lock they would race to create the same tables.
    """
    url = make_url(empty_settings.database_url)
    dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
    env = {**os.environ, "OUTAGE_DATABASE_URL": empty_settings.database_url}
    holder = await asyncpg.connect(dsn, timeout=5)
    replicas: list[asyncio.subprocess.Process] = []
    try:
        await holder.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK_KEY)
        for _ in range(REPLICAS):
            replicas.append(
                await asyncio.create_subprocess_exec(
                    *(sys.executable, "-m", "service.cli", "db", "upgrade"),
                    env=env,
                    stdout=asyncio.subprocess.PIPE,
                    stderr=asyncio.subprocess.STDOUT,
                )
            )
        # three interpreters starting on a loaded machine may take a while; an idle one, a second
        deadline = time.monotonic() + START_SECONDS
        while await holder.fetchval(WAITING_FOR_LOCK) < REPLICAS:
            assert time.monotonic() < deadline, "the replicas did not all wait for the lock"
            await asyncio.sleep(POLL_SECONDS)
        assert await holder.fetchval("SELECT to_regclass('alembic_version')") is None

        await holder.execute("SELECT pg_advisory_unlock($1)", MIGRATION_LOCK_KEY)
        outputs = [
            (await asyncio.wait_for(replica.communicate(), timeout=60))[0].decode()
            for replica in replicas
        ]

        assert [replica.returncode for replica in replicas] == [0] * REPLICAS, outputs
        versions = await holder.fetch("SELECT version_num FROM alembic_version")
        assert [row["version_num"] for row in versions] == [head_revision(empty_settings)]
    finally:
        for replica in replicas:
            if replica.returncode is None:
                replica.kill()
                await replica.wait()
        await holder.close()
