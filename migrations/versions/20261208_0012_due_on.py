"""actions due on acknowledgement or completion

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-08 10:00:00

What an action's due time asks for (design § Deadlines): its acknowledgement, or its completion
where the plan's words set a time on the work itself (plan 4's 立即报告). The item says which;
the action keeps it (``due_on``). The actions already there were dispatched when every due time
asked for an acknowledgement, and keep that: a migration does not change what an agency was
asked. The CHECK constraint is the vocabulary of service.plan.deadlines as it stood when this
migration was written (a migration is a record; the model derives it with ``one_of``).

No table refers to actions, so batch mode's rebuild of the table on SQLite loses nothing.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DUE_ON = "due_on IN ('acknowledgement', 'completion')"


def upgrade() -> None:
    with op.batch_alter_table("actions", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "due_on", sa.String(length=16), server_default="acknowledgement", nullable=False
            )
        )
        batch_op.create_check_constraint(batch_op.f("ck_actions_due_on"), DUE_ON)


def downgrade() -> None:
    with op.batch_alter_table("actions", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_actions_due_on"), type_="check")
        batch_op.drop_column("due_on")
