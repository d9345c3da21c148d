"""attestations set aside

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-08 10:00:00

Plan 5.5's attested conditions stay true only while the grid does: an attestation may be
withdrawn by a person with a reason, or voided by a later report that worsened the situation
(service.plan.relapse); either way it is kept, and no longer counts. Each attestation records
the event's grids as it knew them (``known``), which later reports are compared with.

An attestation already there knew the grids as they stood when it was made, which nothing
recorded: it takes its event's grids as they stand at this upgrade, the nearest the record
holds (a response still running has had its restoration reported since, and a relapse beyond
today's figures voids it as it would any other).

The timeline gains the kinds ``attestation_withdrawn`` and ``attestations_voided``: its CHECK is
0013's kinds (0009's and 0013's own) and these. A downgrade stops, naming them, while entries of
those kinds are there: an entry is hash-chained (service.plan.chain) and is never dropped to fit
an older vocabulary.
"""

from collections.abc import Sequence
from decimal import Decimal

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import models.base

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_KINDS = (
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
)
NEW_KINDS = ("attestation_withdrawn", "attestations_voided")
KINDS = (*OLD_KINDS, *NEW_KINDS)


def kind_check(kinds: Sequence[str]) -> str:
    return f"kind IN ({', '.join(repr(kind) for kind in kinds)})"


JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")

# The tables as this migration reads and writes them (not the models, which may move on).
attestations = sa.table(
    "attestations",
    sa.column("id", sa.Uuid()),
    sa.column("event_id", sa.Uuid()),
    sa.column("known", JSON),
)
event_grids = sa.table(
    "event_grids",
    sa.column("event_id", sa.Uuid()),
    sa.column("region", sa.String()),
    sa.column("load_lost_mw", models.base.ExactDecimal()),
    sa.column("peak_load_lost_mw", models.base.ExactDecimal()),
    sa.column("peak_customers_out", sa.BigInteger()),
)
timeline = sa.table("timeline", sa.column("kind", sa.String()))


def upgrade() -> None:
    op.add_column("attestations", sa.Column("known", JSON, nullable=True))
    _known_as_the_grids_stand()
    with op.batch_alter_table("attestations", schema=None) as batch_op:
        batch_op.alter_column("known", existing_type=JSON, nullable=False)
        batch_op.add_column(
            sa.Column("withdrawn_at", models.base.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("withdrawn_by_id", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("withdrawn_by", sa.String(length=240), nullable=True))
        batch_op.add_column(sa.Column("withdrawal_reason", sa.Text(), nullable=True))
        batch_op.add_column(
            sa.Column("voided_at", models.base.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("voided_by_report", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("voided_grids", JSON, nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_attestations_withdrawn_by_id_api_tokens"),
            "api_tokens",
            ["withdrawn_by_id"],
            ["id"],
        )
        batch_op.create_check_constraint(
            batch_op.f("ck_attestations_set_aside_once"),
            "withdrawn_at IS NULL OR voided_at IS NULL",
        )
    with op.batch_alter_table("timeline", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_timeline_kind"), type_="check")
        batch_op.create_check_constraint(batch_op.f("ck_timeline_kind"), kind_check(KINDS))


def _known_as_the_grids_stand() -> None:
    """Each attestation there is knew its event's grids as they stand now (module docstring)."""
    bind = op.get_bind()
    grids: dict[object, dict[str, dict[str, object]]] = {}
    for row in bind.execute(sa.select(event_grids)):
        peak_out = row.peak_customers_out or 0
        grids.setdefault(row.event_id, {})[row.region] = {
            "lost": str(Decimal(row.load_lost_mw)),
            "hit": Decimal(row.peak_load_lost_mw) > 0 or peak_out > 0,
        }
    for row in bind.execute(sa.select(attestations.c.id, attestations.c.event_id)).all():
        known = grids.get(row.event_id, {})
        bind.execute(attestations.update().where(attestations.c.id == row.id).values(known=known))


def downgrade() -> None:
    _refuse_new_kinds()
    with op.batch_alter_table("timeline", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_timeline_kind"), type_="check")
        batch_op.create_check_constraint(batch_op.f("ck_timeline_kind"), kind_check(OLD_KINDS))
    with op.batch_alter_table("attestations", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_attestations_set_aside_once"), type_="check")
        batch_op.drop_constraint(
            batch_op.f("fk_attestations_withdrawn_by_id_api_tokens"), type_="foreignkey"
        )
        batch_op.drop_column("voided_grids")
        batch_op.drop_column("voided_by_report")
        batch_op.drop_column("voided_at")
        batch_op.drop_column("withdrawal_reason")
        batch_op.drop_column("withdrawn_by")
        batch_op.drop_column("withdrawn_by_id")
        batch_op.drop_column("withdrawn_at")
        batch_op.drop_column("known")


def _refuse_new_kinds() -> None:
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
        entries = ", ".join(f"{kind!r} ({count} entries)" for kind, count in found)
        raise RuntimeError(
            f"the timeline holds entries of kinds revision 0013 does not know: {entries}. An "
            "entry's kind is hashed into its event's chain, so this downgrade does not drop "
            "or rewrite them."
        )
