"""approvals and requisitions

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-08 10:00:00

Plan 5.3's approval and register, and what plan 6.3 compensates from them:

- ``actions.requires``: what must be on record before the action is done (its checklist item's
  ``requires``, copied in at dispatch); ``actions.approval``: the government's approval once
  recorded. Actions dispatched before this migration require nothing: what an agency was asked
  to do is not changed afterwards.
- ``requisitions``: the register of what an event requisitioned (依法征用、调用).
- The timeline's kinds: 0009's and ``action_approved``, ``requisition_recorded``,
  ``requisition_returned``. A downgrade stops, naming them, while entries of those kinds are
  there: an entry's kind is hashed into its chain, so it is neither rewritten nor dropped.

The CHECK constraints are the vocabularies as they stood when this migration was written (a
migration is a record; the models derive theirs with ``one_of``). On SQLite adding one to
``actions`` rebuilds that table, which no other table refers to, so nothing cascades.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import models.base

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KINDS_0009 = (
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
NEW_KINDS = ("action_approved", "requisition_recorded", "requisition_returned")


def _kind_check(kinds: Sequence[str]) -> str:
    return f"kind IN ({', '.join(repr(kind) for kind in kinds)})"


timeline = sa.table("timeline", sa.column("kind", sa.String()))


def upgrade() -> None:
    with op.batch_alter_table("actions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("requires", sa.String(length=20), nullable=True))
        batch_op.add_column(
            sa.Column(
                "approval",
                sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
                nullable=True,
            )
        )
        batch_op.create_check_constraint(
            batch_op.f("ck_actions_requires"), "requires IN ('approval')"
        )
    op.create_table(
        "requisitions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("what", sa.String(length=200), nullable=False),
        sa.Column("owner", sa.String(length=200), nullable=False),
        sa.Column("quantity", models.base.ExactDecimal(precision=18, scale=6), nullable=False),
        sa.Column("unit", sa.String(length=20), nullable=False),
        sa.Column("requisitioned_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("agency", sa.String(length=40), nullable=False),
        sa.Column("region", sa.String(length=6), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("actor_id", sa.Uuid(), nullable=False),
        sa.Column("actor", sa.String(length=240), nullable=False),
        sa.Column("recorded_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("returned_at", models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("return_note", sa.Text(), nullable=True),
        sa.Column("returned_by", sa.String(length=240), nullable=True),
        sa.CheckConstraint(
            "kind IN ('vehicles', 'supplies', 'personnel', 'funds')",
            name=op.f("ck_requisitions_kind"),
        ),
        sa.ForeignKeyConstraint(
            ["actor_id"], ["api_tokens.id"], name=op.f("fk_requisitions_actor_id_api_tokens")
        ),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["events.id"],
            name=op.f("fk_requisitions_event_id_events"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_requisitions")),
    )
    with op.batch_alter_table("requisitions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_requisitions_event_at", ["event_id", "requisitioned_at"], unique=False
        )
    with op.batch_alter_table("timeline", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_timeline_kind"), type_="check")
        batch_op.create_check_constraint(
            batch_op.f("ck_timeline_kind"), _kind_check(KINDS_0009 + NEW_KINDS)
        )


def downgrade() -> None:
    _refuse_new_kinds()
    with op.batch_alter_table("timeline", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_timeline_kind"), type_="check")
        batch_op.create_check_constraint(batch_op.f("ck_timeline_kind"), _kind_check(KINDS_0009))
    with op.batch_alter_table("requisitions", schema=None) as batch_op:
        batch_op.drop_index("ix_requisitions_event_at")
    op.drop_table("requisitions")
    with op.batch_alter_table("actions", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_actions_requires"), type_="check")
        batch_op.drop_column("approval")
        batch_op.drop_column("requires")


def _refuse_new_kinds() -> None:
    """Stop, naming them, while the timeline holds entries of this migration's kinds: 0009's
    constraint would refuse them, and they are part of their events' hash chains."""
    found = (
        op.get_bind()
        .execute(
            sa.select(timeline.c.kind, sa.func.count())
            .where(timeline.c.kind.in_(NEW_KINDS))
            .group_by(timeline.c.kind)
            .order_by(timeline.c.kind)
        )
        .all()
    )
    if found:
        held = ", ".join(f"{kind!r} ({count} entries)" for kind, count in found)
        raise RuntimeError(
            f"the timeline holds entries of kinds 0013 added: {held}. An entry's kind is hashed "
            "into its event's chain, so this downgrade neither rewrites nor drops them."
        )
