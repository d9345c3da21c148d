"""agency feeds

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 17:14:36.653033
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.base

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "agency_feeds",
        sa.Column("agency", sa.String(length=40), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("changed_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("agency", name=op.f("pk_agency_feeds")),
    )


def downgrade() -> None:

    op.drop_table("agency_feeds")
