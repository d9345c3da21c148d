"""growth indexes

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-09 12:00:00

Two indexes that keep the situation board flat as the database grows (the growth table of
``make bench``, benchmarks/growth.py):

* ``actions (event_id, state, due_at)`` in place of ``actions (event_id)``: the board's version,
  asked on every poll, counts each shown event's owing actions past due. With the event's id
  alone or ``(state, due_at)`` that read either every action of the event or every owing action
  of every event; now it reads only the ones counted. It serves every look-up by event as the
  index it replaces did.
* ``events (state, closed_at)`` in place of ``events (state)``: the board shows the events
  closed since the start of 最近结束, which through the state alone read every event ever
  closed.

Both are indexes only: nothing is rewritten, and the downgrade puts the old ones back.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_actions_event_state_due", "actions", ["event_id", "state", "due_at"])
    op.drop_index("ix_actions_event_id", table_name="actions")
    op.create_index("ix_events_state_closed", "events", ["state", "closed_at"])
    op.drop_index("ix_events_state", table_name="events")


def downgrade() -> None:
    op.create_index("ix_events_state", "events", ["state"])
    op.drop_index("ix_events_state_closed", table_name="events")
    op.create_index("ix_actions_event_id", "actions", ["event_id"])
    op.drop_index("ix_actions_event_state_due", table_name="actions")
