"""standing duties

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 16:00:00

The readiness register (design § Standing duties): the standing duties of plan chapters 7 and
8.1 as tasks of no event, one per duty, unit and period. Their notices (``standing.raised``,
``standing.overdue``, ``standing.reminder``) go through the outbox as an event's do, so a notice
and a delivery may now name no event. The CHECK constraints are the vocabularies of
service.plan.duties, service.plan.standing and service.plan.notifications as they stood when this
migration was written (a migration is a record; the models derive theirs with ``one_of``).

Downgrading drops the register and the notices of no event, with their deliveries: the schema
before it had no place for them.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.base

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NOTICE_TYPES = (
    "event.opened",
    "event.level_changed",
    "warning.published",
    "warning.lifted",
    "action.dispatched",
    "action.overdue",
    "action.reminder",
    "response.terminated",
    "event.closed",
)
STANDING_NOTICE_TYPES = ("standing.raised", "standing.overdue", "standing.reminder")


def _type_check(types: Sequence[str]) -> str:
    return f"type IN ({', '.join(repr(t) for t in types)})"


def upgrade() -> None:
    op.create_table(
        "standing_tasks",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("key", sa.String(length=120), nullable=False),
        sa.Column("agency", sa.String(length=40), nullable=False),
        sa.Column("period", sa.String(length=60), nullable=False),
        sa.Column("recurrence", sa.String(length=16), nullable=False),
        sa.Column("clause", sa.String(length=20), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("playbook_version", sa.String(length=64), nullable=False),
        sa.Column("raised_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("due_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("acknowledged_at", models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("completed_at", models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("cancelled_at", models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("cancel_reason", sa.Text(), nullable=True),
        sa.Column("escalated_at", models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("reminded_at", models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("escalate_to", sa.String(length=40), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("updated_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=True),
        sa.Column("finding_id", sa.Uuid(), nullable=True),
        sa.Column("from_drill", sa.Boolean(), nullable=False),
        sa.Column("source_task_id", sa.Uuid(), nullable=True),
        sa.CheckConstraint(
            "recurrence IN ('yearly', 'after_findings', 'after_revision')",
            name=op.f("ck_standing_tasks_recurrence"),
        ),
        sa.CheckConstraint(
            "state IN ('pending', 'acknowledged', 'done', 'cancelled')",
            name=op.f("ck_standing_tasks_state"),
        ),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["events.id"],
            name=op.f("fk_standing_tasks_event_id_events"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["finding_id"],
            ["evaluation_findings.id"],
            name=op.f("fk_standing_tasks_finding_id_evaluation_findings"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["source_task_id"],
            ["standing_tasks.id"],
            name=op.f("fk_standing_tasks_source_task_id_standing_tasks"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_standing_tasks")),
        sa.UniqueConstraint(
            "key", "agency", "period", name=op.f("uq_standing_tasks_key_agency_period")
        ),
    )
    with op.batch_alter_table("standing_tasks", schema=None) as batch_op:
        batch_op.create_index("ix_standing_tasks_agency_state", ["agency", "state"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_standing_tasks_finding_id"), ["finding_id"], unique=False
        )
        batch_op.create_index("ix_standing_tasks_state_due", ["state", "due_at"], unique=False)

    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.alter_column("event_id", existing_type=sa.Uuid(), nullable=True)
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.alter_column("event_id", existing_type=sa.Uuid(), nullable=True)
        batch_op.drop_constraint(batch_op.f("ck_outbox_type"), type_="check")
        batch_op.create_check_constraint(
            batch_op.f("ck_outbox_type"), _type_check(NOTICE_TYPES + STANDING_NOTICE_TYPES)
        )


def downgrade() -> None:
    outbox = sa.table("outbox", sa.column("event_id", sa.Uuid()))
    deliveries = sa.table("deliveries", sa.column("event_id", sa.Uuid()))
    op.execute(sa.delete(deliveries).where(deliveries.c.event_id.is_(None)))
    op.execute(sa.delete(outbox).where(outbox.c.event_id.is_(None)))
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_outbox_type"), type_="check")
        batch_op.create_check_constraint(batch_op.f("ck_outbox_type"), _type_check(NOTICE_TYPES))
        batch_op.alter_column("event_id", existing_type=sa.Uuid(), nullable=False)
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.alter_column("event_id", existing_type=sa.Uuid(), nullable=False)

    with op.batch_alter_table("standing_tasks", schema=None) as batch_op:
        batch_op.drop_index("ix_standing_tasks_state_due")
        batch_op.drop_index(batch_op.f("ix_standing_tasks_finding_id"))
        batch_op.drop_index("ix_standing_tasks_agency_state")
    op.drop_table("standing_tasks")
