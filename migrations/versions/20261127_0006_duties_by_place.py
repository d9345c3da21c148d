"""duties by place

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27 15:00:00

Actions get the ``monitoring`` phase (plan 3.2.1), and an item may go to several units of one
event (each county hit, plan 2.2): the key is unique per event and agency, no longer per event.
The CHECK constraint is the vocabulary of service.plan.duties as it stood when this migration was
written (a migration is a record; the model derives it with ``one_of``).
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PHASES_BEFORE = "phase IN ('warning', 'first_response', 'response', 'post_event')"
PHASES_AFTER = "phase IN ('monitoring', 'warning', 'first_response', 'response', 'post_event')"


def upgrade() -> None:
    with op.batch_alter_table("actions", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_actions_phase"), type_="check")
        batch_op.create_check_constraint(batch_op.f("ck_actions_phase"), PHASES_AFTER)
        batch_op.drop_constraint(batch_op.f("uq_actions_event_id_key"), type_="unique")
        batch_op.create_unique_constraint(
            batch_op.f("uq_actions_event_id_key_agency"), ["event_id", "key", "agency"]
        )


def downgrade() -> None:
    # Monitoring duties and a key held by several agencies have no place in the old schema.
    op.execute("DELETE FROM actions WHERE phase = 'monitoring'")
    op.execute(
        "DELETE FROM actions WHERE EXISTS (SELECT 1 FROM actions AS first"
        " WHERE first.event_id = actions.event_id AND first.key = actions.key"
        " AND first.agency < actions.agency)"
    )
    with op.batch_alter_table("actions", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_actions_event_id_key_agency"), type_="unique")
        batch_op.create_unique_constraint(
            batch_op.f("uq_actions_event_id_key"), ["event_id", "key"]
        )
        batch_op.drop_constraint(batch_op.f("ck_actions_phase"), type_="check")
        batch_op.create_check_constraint(batch_op.f("ck_actions_phase"), PHASES_BEFORE)
