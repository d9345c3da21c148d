"""timeline hash chain

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-27 14:10:00

Each timeline entry stores the SHA-256 of its content and of the entry before it (``prev_hash``),
and the event its last entry's hash (``timeline_hash``), so that ``audit verify`` can name an
entry edited, removed or inserted (design § Timeline). The entries there
are already are chained here, each event's in ``event_seq`` order, with the hash of
service.plan.chain.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import models.base
from service.plan.chain import CONTENT, entry_hash

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The tables as this migration reads and writes them (not the models, which may move on).
timeline = sa.table(
    "timeline",
    sa.column("seq", sa.BigInteger()),
    sa.column("event_id", sa.Uuid()),
    sa.column("event_seq", sa.BigInteger()),
    sa.column("at", models.base.UTCDateTime()),
    sa.column("kind", sa.String()),
    sa.column("actor_id", sa.Uuid()),
    sa.column("actor", sa.String()),
    sa.column("clause", sa.String()),
    sa.column("summary", sa.Text()),
    sa.column("data", JSON),
    sa.column("prev_hash", sa.String()),
    sa.column("hash", sa.String()),
)
events = sa.table("events", sa.column("id", sa.Uuid()), sa.column("timeline_hash", sa.String()))


def upgrade() -> None:
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("timeline_hash", sa.String(length=64), nullable=True))
    with op.batch_alter_table("timeline", schema=None) as batch_op:
        batch_op.add_column(sa.Column("prev_hash", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("hash", sa.String(length=64), nullable=True))
    _chain_existing()
    with op.batch_alter_table("timeline", schema=None) as batch_op:
        batch_op.alter_column("hash", existing_type=sa.String(length=64), nullable=False)


def _chain_existing() -> None:
    """Hash every entry there is, each event's chain in order, and record each event's head."""
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(timeline.c.seq, *(timeline.c[name] for name in CONTENT)).order_by(
            timeline.c.event_id, timeline.c.event_seq
        )
    ).mappings()
    heads: dict[object, str] = {}
    updates: list[dict[str, object]] = []
    for row in rows:
        prev_hash = heads.get(row["event_id"])
        heads[row["event_id"]] = entry_hash(prev_hash, row)
        updates.append({"row": row["seq"], "p": prev_hash, "h": heads[row["event_id"]]})
    if updates:
        connection.execute(
            timeline.update()
            .where(timeline.c.seq == sa.bindparam("row"))
            .values(prev_hash=sa.bindparam("p"), hash=sa.bindparam("h")),
            updates,
        )
    if heads:
        connection.execute(
            events.update()
            .where(events.c.id == sa.bindparam("event"))
            .values(timeline_hash=sa.bindparam("head")),
            [{"event": event, "head": head} for event, head in heads.items()],
        )


def downgrade() -> None:
    with op.batch_alter_table("timeline", schema=None) as batch_op:
        batch_op.drop_column("hash")
        batch_op.drop_column("prev_hash")
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_column("timeline_hash")
