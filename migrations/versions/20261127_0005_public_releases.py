"""public releases

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27 11:08:26.857788

Plan 5.4's releases: each proposed about an event, reviewed by an HQ, then published or
rejected. The CHECK constraint is the vocabulary of service.plan.releases as it stood when this
migration was written (a migration is a record; the model derives it with ``one_of``).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import models.base

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "releases",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("headline", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column(
            "topics",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("reviewer", sa.String(length=6), nullable=False),
        sa.Column("proposed_by", sa.Uuid(), nullable=False),
        sa.Column("proposer", sa.String(length=240), nullable=False),
        sa.Column("proposer_agency", sa.String(length=40), nullable=True),
        sa.Column("proposed_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("decided_by", sa.Uuid(), nullable=True),
        sa.Column("decider", sa.String(length=240), nullable=True),
        sa.Column("decided_hq", sa.String(length=6), nullable=True),
        sa.Column("decided_at", models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "state IN ('proposed', 'published', 'rejected')", name=op.f("ck_releases_state")
        ),
        sa.ForeignKeyConstraint(
            ["decided_by"], ["api_tokens.id"], name=op.f("fk_releases_decided_by_api_tokens")
        ),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["events.id"],
            name=op.f("fk_releases_event_id_events"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["proposed_by"], ["api_tokens.id"], name=op.f("fk_releases_proposed_by_api_tokens")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_releases")),
    )
    with op.batch_alter_table("releases", schema=None) as batch_op:
        batch_op.create_index(
            "ix_releases_event_proposed", ["event_id", "proposed_at", "id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("releases", schema=None) as batch_op:
        batch_op.drop_index("ix_releases_event_proposed")

    op.drop_table("releases")
