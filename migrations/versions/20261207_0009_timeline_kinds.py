"""timeline kinds

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 09:00:00

A timeline entry's ``kind`` is one of the kinds of service.plan.timeline, as a CHECK constraint.
The kinds are those as they stood when this migration was written (a migration is a record; the
model derives its constraint with ``one_of``): every kind the service has ever written, so the
entries there are pass as they are. They are not rewritten, whatever they hold: an entry's kind
is part of its hash (service.plan.chain), so an entry of another kind stops the upgrade, naming
it, rather than being changed or dropped.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KINDS = (
    "event_opened",
    "report",
    "leading_hq_changed",
    "warning_proposed",
    "warning_published",
    "warning_lifted",
    "response_started",
    "response_raised",
    "response_lowered",
    "actions_dispatched",
    "actions_cancelled",
    "actions_handed_over",
    "action_acknowledged",
    "action_noted",
    "action_completed",
    "action_cancelled",
    "action_overdue",
    "action_reminder",
    "release_proposed",
    "release_published",
    "release_rejected",
    "attestation",
    "transition_refused",
    "response_terminated",
    "event_dismissed",
    "event_closed",
)
KIND_CHECK = f"kind IN ({', '.join(repr(kind) for kind in KINDS)})"

timeline = sa.table("timeline", sa.column("kind", sa.String()))


def upgrade() -> None:
    _refuse_other_kinds()
    with op.batch_alter_table("timeline", schema=None) as batch_op:
        batch_op.create_check_constraint(batch_op.f("ck_timeline_kind"), KIND_CHECK)


def _refuse_other_kinds() -> None:
    """Stop, naming them, when entries of a kind outside ``KINDS`` are there (which the service
    never wrote): the constraint would refuse them with no word of which."""
    other = (
        op.get_bind()
        .execute(
            sa.select(timeline.c.kind, sa.func.count())
            .where(timeline.c.kind.not_in(KINDS))
            .group_by(timeline.c.kind)
            .order_by(timeline.c.kind)
        )
        .all()
    )
    if other:
        found = ", ".join(f"{kind!r} ({count} entries)" for kind, count in other)
        raise RuntimeError(
            f"the timeline holds entries of kinds this service never wrote: {found}. An entry's "
            "kind is hashed into its event's chain, so this migration does not rewrite them: "
            "find out where they came from before upgrading."
        )


def downgrade() -> None:
    with op.batch_alter_table("timeline", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_timeline_kind"), type_="check")
