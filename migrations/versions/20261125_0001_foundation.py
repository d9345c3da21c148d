"""foundation

Revision ID: 0001
Revises:
Create Date: 2026-11-25 16:28:53.482601
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import models.base

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("agency", sa.String(length=40), nullable=True),
        sa.Column("region", sa.String(length=6), nullable=True),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", models.base.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "role != 'agency' OR agency IS NOT NULL", name=op.f("ck_api_tokens_agency_has_code")
        ),
        sa.CheckConstraint(
            "role != 'commander' OR region IS NOT NULL", name=op.f("ck_api_tokens_commander_has_hq")
        ),
        sa.CheckConstraint(
            "role IN ('admin', 'dispatcher', 'commander', 'agency', 'observer')",
            name=op.f("ck_api_tokens_role"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_api_tokens_token_hash")),
    )
    op.create_table(
        "events",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("level", sa.String(length=3), nullable=True),
        sa.Column("peak_level", sa.String(length=3), nullable=True),
        sa.Column("response_level", sa.String(length=3), nullable=True),
        sa.Column("leading_hq", sa.String(length=6), nullable=True),
        sa.Column("drill", sa.Boolean(), nullable=False),
        sa.Column("opened_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("closed_at", models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("etr", models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column(
            "basis",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.CheckConstraint("level IN ('I', 'II', 'III', 'IV')", name=op.f("ck_events_level")),
        sa.CheckConstraint(
            "peak_level IN ('I', 'II', 'III', 'IV')", name=op.f("ck_events_peak_level")
        ),
        sa.CheckConstraint(
            "response_level IN ('I', 'II', 'III', 'IV')", name=op.f("ck_events_response_level")
        ),
        sa.CheckConstraint(
            "state IN ('monitoring', 'warning', 'response', 'terminated', 'closed')",
            name=op.f("ck_events_state"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_events")),
    )
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.create_index("ix_events_opened", ["opened_at", "id"], unique=False)
        batch_op.create_index(batch_op.f("ix_events_state"), ["state"], unique=False)

    op.create_table(
        "event_grids",
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("region", sa.String(length=6), nullable=False),
        sa.Column("scope", sa.String(length=10), nullable=False),
        sa.Column("load_mw", models.base.ExactDecimal(precision=18, scale=6), nullable=False),
        sa.Column("load_lost_mw", models.base.ExactDecimal(precision=18, scale=6), nullable=False),
        sa.Column("customers", sa.BigInteger(), nullable=True),
        sa.Column("customers_out", sa.BigInteger(), nullable=True),
        sa.Column("observed_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "peak_load_lost_mw", models.base.ExactDecimal(precision=18, scale=6), nullable=False
        ),
        sa.Column("peak_customers_out", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["events.id"],
            name=op.f("fk_event_grids_event_id_events"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("event_id", "region", name=op.f("pk_event_grids")),
    )
    op.create_table(
        "idempotency_keys",
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("token_id", sa.Uuid(), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column(
            "response",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("created_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["token_id"], ["api_tokens.id"], name=op.f("fk_idempotency_keys_token_id_api_tokens")
        ),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_idempotency_keys")),
        sa.UniqueConstraint("token_id", "key", name=op.f("uq_idempotency_keys_token_id_key")),
    )
    op.create_table(
        "reports",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("observed_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("received_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("cause", sa.String(length=40), nullable=False),
        sa.Column("etr", models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("level", sa.String(length=3), nullable=True),
        sa.Column(
            "basis",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("actor_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_id"], ["api_tokens.id"], name=op.f("fk_reports_actor_id_api_tokens")
        ),
        sa.ForeignKeyConstraint(
            ["event_id"], ["events.id"], name=op.f("fk_reports_event_id_events"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reports")),
    )
    with op.batch_alter_table("reports", schema=None) as batch_op:
        batch_op.create_index(
            "ix_reports_event_received", ["event_id", "received_at"], unique=False
        )

    op.create_table(
        "timeline",
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("actor_id", sa.Uuid(), nullable=True),
        sa.Column("actor", sa.String(length=240), nullable=False),
        sa.Column("clause", sa.String(length=40), nullable=True),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column(
            "data",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["actor_id"], ["api_tokens.id"], name=op.f("fk_timeline_actor_id_api_tokens")
        ),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["events.id"],
            name=op.f("fk_timeline_event_id_events"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_timeline")),
    )
    with op.batch_alter_table("timeline", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_timeline_event_id"), ["event_id"], unique=False)

    op.create_table(
        "snapshots",
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("report_id", sa.Uuid(), nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("scope", sa.String(length=10), nullable=False),
        sa.Column("region", sa.String(length=6), nullable=False),
        sa.Column("load_mw", models.base.ExactDecimal(precision=18, scale=6), nullable=False),
        sa.Column("load_lost_mw", models.base.ExactDecimal(precision=18, scale=6), nullable=False),
        sa.Column("customers", sa.BigInteger(), nullable=True),
        sa.Column("customers_out", sa.BigInteger(), nullable=True),
        sa.Column("observed_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "scope IN ('province', 'city', 'county')", name=op.f("ck_snapshots_scope")
        ),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["events.id"],
            name=op.f("fk_snapshots_event_id_events"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["report_id"],
            ["reports.id"],
            name=op.f("fk_snapshots_report_id_reports"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_snapshots")),
        sa.UniqueConstraint("report_id", "region", name=op.f("uq_snapshots_report_id_region")),
    )
    with op.batch_alter_table("snapshots", schema=None) as batch_op:
        batch_op.create_index("ix_snapshots_event_region", ["event_id", "region"], unique=False)


def downgrade() -> None:

    with op.batch_alter_table("snapshots", schema=None) as batch_op:
        batch_op.drop_index("ix_snapshots_event_region")

    op.drop_table("snapshots")
    with op.batch_alter_table("timeline", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_timeline_event_id"))

    op.drop_table("timeline")
    with op.batch_alter_table("reports", schema=None) as batch_op:
        batch_op.drop_index("ix_reports_event_received")

    op.drop_table("reports")
    op.drop_table("idempotency_keys")
    op.drop_table("event_grids")
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_events_state"))
        batch_op.drop_index("ix_events_opened")

    op.drop_table("events")
    op.drop_table("api_tokens")
