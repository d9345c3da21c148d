"""drill clock

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 12:00:00

A drill event keeps its scenario's clock (``drill_clock``), which every change to it reads instead
of the service's; a real event has none. A drill event already there takes the time of its last
timeline entry (else its last change): its clock starts where its record stands, so that nothing
later is stamped before what it already holds.

The column is added and dropped in place (ALTER TABLE), not by batch mode's rebuild, which on
SQLite would copy the events table whole. For the same reason no CHECK ties the clock to the
drill flag (SQLite adds one only by a rebuild): the service gives a clock to new drill events
only, and refuses to move a real event's.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.base

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The table as this migration reads and writes it (not the model, which may move on).
events = sa.table(
    "events",
    sa.column("drill", sa.Boolean()),
    sa.column("drill_clock", models.base.UTCDateTime()),
    sa.column("timeline_at", models.base.UTCDateTime()),
    sa.column("updated_at", models.base.UTCDateTime()),
)


def upgrade() -> None:
    op.add_column(
        "events", sa.Column("drill_clock", models.base.UTCDateTime(timezone=True), nullable=True)
    )
    op.execute(
        events.update()
        .where(events.c.drill.is_(True))
        .values(drill_clock=sa.func.coalesce(events.c.timeline_at, events.c.updated_at))
    )


def downgrade() -> None:
    # ALTER TABLE … DROP COLUMN in place (SQLite 3.35 and later), not batch mode's rebuild.
    op.drop_column("events", "drill_clock")
