"""agency poll pages

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-11 12:00:00

An agency's poll (``GET /agencies/{code}/actions``) is paged, newest first, by keyset on
(dispatched_at, id), so that a page costs the same however many actions the agency has held:

* ``actions (agency, dispatched_at, id)``: the page with no state asked, read from the newest
  down to the page's end, from where the cursor points;
* ``actions (agency, state, dispatched_at, id)`` in place of ``actions (agency, state)``: the
  page of one state, the same way; it serves every look-up by agency and state as the index it
  replaces did;
* ``actions (agency, event_id, dispatched_at, id)``: the page of one event, the same way.
  Without it SQLite reads that page through the first index, past every action of the agency's
  other events.

Indexes only: nothing is rewritten, and the downgrade puts the old one back.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_actions_agency_dispatched", "actions", ["agency", "dispatched_at", "id"])
    op.create_index(
        "ix_actions_agency_state_dispatched",
        "actions",
        ["agency", "state", "dispatched_at", "id"],
    )
    op.create_index(
        "ix_actions_agency_event_dispatched",
        "actions",
        ["agency", "event_id", "dispatched_at", "id"],
    )
    op.drop_index("ix_actions_agency_state", table_name="actions")


def downgrade() -> None:
    op.create_index("ix_actions_agency_state", "actions", ["agency", "state"])
    op.drop_index("ix_actions_agency_event_dispatched", table_name="actions")
    op.drop_index("ix_actions_agency_state_dispatched", table_name="actions")
    op.drop_index("ix_actions_agency_dispatched", table_name="actions")
