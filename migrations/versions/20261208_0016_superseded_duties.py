"""superseded duties

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-08 09:00:00

A level change settles the duties (design § Dispatch): an action whose job (a checklist item's
``job:``) another item does at the new level, or no item, is ``superseded``, with the time it was
(``superseded_at``), and the timeline says so (``actions_superseded``). The CHECK constraints are
the vocabularies of service.plan.duties and service.plan.timeline as they stood when this
migration was written (a migration is a record; the models derive theirs with ``one_of``): the
timeline's are 0014's kinds (0009's, 0013's, 0014's) and this one's.

Downgrading makes each superseded action cancelled (its reason says it was superseded), and stops,
naming them, when the timeline holds ``actions_superseded`` entries: an entry's kind is hashed into
its event's chain, so it is neither rewritten nor dropped.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.base

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STATES_BEFORE = "state IN ('pending', 'acknowledged', 'done', 'cancelled')"
STATES_AFTER = "state IN ('pending', 'acknowledged', 'done', 'cancelled', 'superseded')"

KINDS_BEFORE = (
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
    # 0013's
    "action_approved",
    "requisition_recorded",
    "requisition_returned",
    # 0014's
    "attestation_withdrawn",
    "attestations_voided",
)
NEW_KINDS = ("actions_superseded",)
KINDS_AFTER = KINDS_BEFORE + NEW_KINDS


def kind_check(kinds: Sequence[str]) -> str:
    return f"kind IN ({', '.join(repr(kind) for kind in kinds)})"


# The tables as this migration reads and writes them (not the models, which may move on).
actions = sa.table(
    "actions",
    sa.column("state", sa.String()),
    sa.column("cancelled_at", models.base.UTCDateTime()),
    sa.column("cancel_reason", sa.Text()),
    sa.column("superseded_at", models.base.UTCDateTime()),
)
timeline = sa.table("timeline", sa.column("kind", sa.String()))


def upgrade() -> None:
    with op.batch_alter_table("actions", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("superseded_at", models.base.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.drop_constraint(batch_op.f("ck_actions_state"), type_="check")
        batch_op.create_check_constraint(batch_op.f("ck_actions_state"), STATES_AFTER)
    with op.batch_alter_table("timeline", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_timeline_kind"), type_="check")
        batch_op.create_check_constraint(batch_op.f("ck_timeline_kind"), kind_check(KINDS_AFTER))


def downgrade() -> None:
    written = (
        op.get_bind()
        .execute(
            sa.select(timeline.c.kind, sa.func.count())
            .where(timeline.c.kind.in_(NEW_KINDS))
            .group_by(timeline.c.kind)
            .order_by(timeline.c.kind)
        )
        .all()
    )
    if written:
        found = ", ".join(f"{kind!r} ({count} entries)" for kind, count in written)
        raise RuntimeError(
            f"the timeline holds entries of kinds this downgrade removes: {found}. An entry's "
            "kind is hashed into its event's chain, so it is neither rewritten nor dropped."
        )
    op.execute(
        actions.update()
        .where(actions.c.state == "superseded")
        .values(
            state="cancelled",
            cancelled_at=actions.c.superseded_at,
            cancel_reason="superseded",
        )
    )
    with op.batch_alter_table("timeline", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_timeline_kind"), type_="check")
        batch_op.create_check_constraint(batch_op.f("ck_timeline_kind"), kind_check(KINDS_BEFORE))
    with op.batch_alter_table("actions", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_actions_state"), type_="check")
        batch_op.create_check_constraint(batch_op.f("ck_actions_state"), STATES_BEFORE)
        batch_op.drop_column("superseded_at")
