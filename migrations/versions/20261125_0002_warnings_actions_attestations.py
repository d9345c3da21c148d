"""warnings actions attestations

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 16:37:08.890621
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import models.base

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "actions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("key", sa.String(length=120), nullable=False),
        sa.Column("agency", sa.String(length=40), nullable=False),
        sa.Column("phase", sa.String(length=16), nullable=False),
        sa.Column("level", sa.String(length=3), nullable=True),
        sa.Column("clause", sa.String(length=20), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("playbook_version", sa.String(length=64), nullable=False),
        sa.Column("dispatched_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("due_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("acknowledged_at", models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("completed_at", models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("cancelled_at", models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("cancel_reason", sa.Text(), nullable=True),
        sa.Column("escalated_at", models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("updated_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("level IN ('I', 'II', 'III', 'IV')", name=op.f("ck_actions_level")),
        sa.CheckConstraint(
            "phase IN ('warning', 'first_response', 'response', 'post_event')",
            name=op.f("ck_actions_phase"),
        ),
        sa.CheckConstraint(
            "state IN ('pending', 'acknowledged', 'done', 'cancelled')",
            name=op.f("ck_actions_state"),
        ),
        sa.ForeignKeyConstraint(
            ["event_id"], ["events.id"], name=op.f("fk_actions_event_id_events"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_actions")),
        sa.UniqueConstraint("event_id", "key", name=op.f("uq_actions_event_id_key")),
    )
    with op.batch_alter_table("actions", schema=None) as batch_op:
        batch_op.create_index("ix_actions_agency_state", ["agency", "state"], unique=False)
        batch_op.create_index(batch_op.f("ix_actions_event_id"), ["event_id"], unique=False)

    op.create_table(
        "attestations",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("condition", sa.String(length=20), nullable=False),
        sa.Column("evidence", sa.Text(), nullable=False),
        sa.Column("actor_id", sa.Uuid(), nullable=False),
        sa.Column("actor", sa.String(length=240), nullable=False),
        sa.Column("at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "condition IN ('grid_stable', 'hazard_removed', 'secondary_handled')",
            name=op.f("ck_attestations_condition"),
        ),
        sa.ForeignKeyConstraint(
            ["actor_id"], ["api_tokens.id"], name=op.f("fk_attestations_actor_id_api_tokens")
        ),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["events.id"],
            name=op.f("fk_attestations_event_id_events"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attestations")),
    )
    with op.batch_alter_table("attestations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_attestations_event_id"), ["event_id"], unique=False)

    op.create_table(
        "warnings",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column(
            "area",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("headline", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("onset", models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("expires", models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("proposed_by", sa.Uuid(), nullable=False),
        sa.Column("proposed_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("published_hq", sa.String(length=6), nullable=True),
        sa.Column("published_by", sa.Uuid(), nullable=True),
        sa.Column("published_at", models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("lifted_by", sa.Uuid(), nullable=True),
        sa.Column("lifted_at", models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "state IN ('proposed', 'published', 'lifted')", name=op.f("ck_warnings_state")
        ),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["events.id"],
            name=op.f("fk_warnings_event_id_events"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["lifted_by"], ["api_tokens.id"], name=op.f("fk_warnings_lifted_by_api_tokens")
        ),
        sa.ForeignKeyConstraint(
            ["proposed_by"], ["api_tokens.id"], name=op.f("fk_warnings_proposed_by_api_tokens")
        ),
        sa.ForeignKeyConstraint(
            ["published_by"], ["api_tokens.id"], name=op.f("fk_warnings_published_by_api_tokens")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_warnings")),
    )
    with op.batch_alter_table("warnings", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_warnings_event_id"), ["event_id"], unique=False)


def downgrade() -> None:

    with op.batch_alter_table("warnings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_warnings_event_id"))

    op.drop_table("warnings")
    with op.batch_alter_table("attestations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_attestations_event_id"))

    op.drop_table("attestations")
    with op.batch_alter_table("actions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_actions_event_id"))
        batch_op.drop_index("ix_actions_agency_state")

    op.drop_table("actions")
