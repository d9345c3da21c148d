"""timeline numbered per event

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27 11:10:00

Each event's timeline entries get their own gapless number (``event_seq``, what the API calls
``seq``), and the event keeps its last entry's number and time, so that entries written under
the event's lock take the next number and never an earlier time.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.base

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("timeline_seq", sa.BigInteger(), server_default="0", nullable=False)
        )
        batch_op.add_column(
            sa.Column("timeline_at", models.base.UTCDateTime(timezone=True), nullable=True)
        )
    with op.batch_alter_table("timeline", schema=None) as batch_op:
        batch_op.add_column(sa.Column("event_seq", sa.BigInteger(), nullable=True))
    op.execute(
        "UPDATE timeline SET event_seq = (SELECT count(*) FROM timeline AS earlier"
        " WHERE earlier.event_id = timeline.event_id AND earlier.seq <= timeline.seq)"
    )
    op.execute(
        "UPDATE events SET"
        " timeline_seq = (SELECT coalesce(max(event_seq), 0) FROM timeline"
        " WHERE timeline.event_id = events.id),"
        " timeline_at = (SELECT max(at) FROM timeline WHERE timeline.event_id = events.id)"
    )
    with op.batch_alter_table("timeline", schema=None) as batch_op:
        batch_op.alter_column("event_seq", existing_type=sa.BigInteger(), nullable=False)
        batch_op.create_unique_constraint(
            batch_op.f("uq_timeline_event_id_event_seq"), ["event_id", "event_seq"]
        )


def downgrade() -> None:
    with op.batch_alter_table("timeline", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_timeline_event_id_event_seq"), type_="unique")
        batch_op.drop_column("event_seq")
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_column("timeline_at")
        batch_op.drop_column("timeline_seq")
