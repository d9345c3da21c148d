"""evaluation findings

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 14:00:00

Plan 6.1's evaluation as its evaluators complete it: the findings and lessons they add to an
event's report, and the sign-off that makes the report final. The CHECK constraint is the
vocabulary of service.plan.evaluation as it stood when this migration was written (a migration is
a record; the model derives it with ``one_of``).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.base

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "evaluation_findings",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("actor_id", sa.Uuid(), nullable=False),
        sa.Column("actor", sa.String(length=240), nullable=False),
        sa.Column("at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "kind IN ('finding', 'lesson')", name=op.f("ck_evaluation_findings_kind")
        ),
        sa.ForeignKeyConstraint(
            ["actor_id"],
            ["api_tokens.id"],
            name=op.f("fk_evaluation_findings_actor_id_api_tokens"),
        ),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["events.id"],
            name=op.f("fk_evaluation_findings_event_id_events"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_evaluation_findings")),
    )
    with op.batch_alter_table("evaluation_findings", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_evaluation_findings_event_id"), ["event_id"], unique=False
        )
    op.create_table(
        "evaluation_sign_offs",
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("unit", sa.String(length=200), nullable=False),
        sa.Column("signer", sa.String(length=200), nullable=False),
        sa.Column("actor_id", sa.Uuid(), nullable=False),
        sa.Column("actor", sa.String(length=240), nullable=False),
        sa.Column("at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_id"],
            ["api_tokens.id"],
            name=op.f("fk_evaluation_sign_offs_actor_id_api_tokens"),
        ),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["events.id"],
            name=op.f("fk_evaluation_sign_offs_event_id_events"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("event_id", name=op.f("pk_evaluation_sign_offs")),
    )


def downgrade() -> None:
    op.drop_table("evaluation_sign_offs")
    with op.batch_alter_table("evaluation_findings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_evaluation_findings_event_id"))
    op.drop_table("evaluation_findings")
