"""report runs

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-08 12:00:00

Plan 4's chain runs again for each follow-up report (续报, design § Reporting chain): an action of
a link belongs to a run of the chain (``run``, numbered 1, 2 … on its event; 0 for every other
action) that reports on one area (``regarding``: a county hit, or the city). A link is one
action per unit and run: the key is unique per event, agency and run. A run's start is on the
timeline (``report_run_started``): the kinds' CHECK is 0016's kinds and this one's.

The links already there (the ``reporting.*`` duties, as the playbooks named them when this was
written) are the first run of their event, with no area: the service reads such a run as its
event's areas as they stand, as it did before. Downgrading keeps each unit's first run of a link
and drops the later ones, which the old schema has no place for; it stops, naming them, while
the timeline holds ``report_run_started`` entries (an entry's kind is hashed into its chain).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

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
    # 0016's
    "actions_superseded",
)
NEW_KINDS = ("report_run_started",)
KINDS = KINDS_BEFORE + NEW_KINDS


def kind_check(kinds: Sequence[str]) -> str:
    return f"kind IN ({', '.join(repr(kind) for kind in kinds)})"


# The tables as this migration reads and writes them (not the models, which may move on).
actions = sa.table("actions", sa.column("key", sa.String()), sa.column("run", sa.Integer()))
timeline = sa.table("timeline", sa.column("kind", sa.String()))


def upgrade() -> None:
    with op.batch_alter_table("actions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("run", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("regarding", sa.String(length=6), nullable=True))
        batch_op.drop_constraint(batch_op.f("uq_actions_event_id_key_agency"), type_="unique")
        batch_op.create_unique_constraint(
            batch_op.f("uq_actions_event_id_key_agency_run"), ["event_id", "key", "agency", "run"]
        )
    op.execute(actions.update().where(actions.c.key.like("reporting.%")).values(run=1))
    with op.batch_alter_table("timeline", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_timeline_kind"), type_="check")
        batch_op.create_check_constraint(batch_op.f("ck_timeline_kind"), kind_check(KINDS))


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
    with op.batch_alter_table("timeline", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_timeline_kind"), type_="check")
        batch_op.create_check_constraint(batch_op.f("ck_timeline_kind"), kind_check(KINDS_BEFORE))
    op.execute(
        "DELETE FROM actions WHERE EXISTS (SELECT 1 FROM actions AS first"
        " WHERE first.event_id = actions.event_id AND first.key = actions.key"
        " AND first.agency = actions.agency AND first.run < actions.run)"
    )
    with op.batch_alter_table("actions", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_actions_event_id_key_agency_run"), type_="unique")
        batch_op.create_unique_constraint(
            batch_op.f("uq_actions_event_id_key_agency"), ["event_id", "key", "agency"]
        )
        batch_op.drop_column("regarding")
        batch_op.drop_column("run")
