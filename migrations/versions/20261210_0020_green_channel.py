"""green channel

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-10 12:00:00

Plan 3.2.2.1's green channel (预警信息快速发布绿色通道): a subscription may be a public channel
(``channel``: media, website, broadcast or telecom), which hears only public notices, and may
take a warning's messages as CAP 1.2 (format ``cap``). Two new notices: ``warning.updated`` (a
published warning's response level moved) and ``release.published`` (plan 5.4). The CHECK
constraints are the vocabularies of service.plan.notifications as they stood when this migration
was written (a migration is a record; the models derive theirs with ``one_of``).

Downgrading removes what the schema before had no place for: the CAP subscriptions and the
public channels (with their deliveries), and the notices of the new types (with theirs). Every
other delivery stays, both ways, on SQLite too: its table rebuilds run with foreign keys off
(migrations/env.py), so dropping the old table takes nothing with it.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
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
    "standing.raised",
    "standing.overdue",
    "standing.reminder",
)
NEW_NOTICE_TYPES = ("warning.updated", "release.published")
FORMATS = ("standard", "wecom", "dingtalk")
CHANNELS = ("media", "website", "broadcast", "telecom")


def _check(column: str, values: Sequence[str]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def upgrade() -> None:
    with op.batch_alter_table("subscriptions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("channel", sa.String(length=10), nullable=True))
        batch_op.create_check_constraint(
            batch_op.f("ck_subscriptions_channel"), _check("channel", CHANNELS)
        )
        batch_op.drop_constraint(batch_op.f("ck_subscriptions_format"), type_="check")
        batch_op.create_check_constraint(
            batch_op.f("ck_subscriptions_format"), _check("format", (*FORMATS, "cap"))
        )
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_outbox_type"), type_="check")
        batch_op.create_check_constraint(
            batch_op.f("ck_outbox_type"), _check("type", NOTICE_TYPES + NEW_NOTICE_TYPES)
        )


def downgrade() -> None:
    subscriptions = sa.table(
        "subscriptions",
        sa.column("id", sa.Uuid()),
        sa.column("format", sa.String()),
        sa.column("channel", sa.String()),
    )
    outbox = sa.table("outbox", sa.column("id", sa.Uuid()), sa.column("type", sa.String()))
    deliveries = sa.table(
        "deliveries",
        sa.column("message_id", sa.Uuid()),
        sa.column("subscription_id", sa.Uuid()),
    )
    public = sa.select(subscriptions.c.id).where(
        (subscriptions.c.format == "cap") | subscriptions.c.channel.is_not(None)
    )
    new = sa.select(outbox.c.id).where(outbox.c.type.in_(NEW_NOTICE_TYPES))
    # the deliveries first, by hand: whether a connection enforces foreign keys is its own
    op.execute(sa.delete(deliveries).where(deliveries.c.subscription_id.in_(public)))
    op.execute(sa.delete(deliveries).where(deliveries.c.message_id.in_(new)))
    op.execute(sa.delete(subscriptions).where(subscriptions.c.id.in_(public)))
    op.execute(sa.delete(outbox).where(outbox.c.type.in_(NEW_NOTICE_TYPES)))
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_outbox_type"), type_="check")
        batch_op.create_check_constraint(batch_op.f("ck_outbox_type"), _check("type", NOTICE_TYPES))
    with op.batch_alter_table("subscriptions", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_subscriptions_format"), type_="check")
        batch_op.create_check_constraint(
            batch_op.f("ck_subscriptions_format"), _check("format", FORMATS)
        )
        batch_op.drop_constraint(batch_op.f("ck_subscriptions_channel"), type_="check")
        batch_op.drop_column("channel")
