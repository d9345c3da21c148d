"""sign-in links

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-08 18:00:00

A sign-in link for a token, which an admin mints and a person opens on a phone instead of typing
the token, and, once used, the board session it opened (design § Duty page): one row of
``sign_ins``, the link's code and the session's secret stored as SHA-256 hashes only, as tokens
are. A token's rows go with it. Nothing existing changes, so the downgrade drops the table (the
sessions it held end: their holders sign in again).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.base

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sign_ins",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("token_id", sa.Uuid(), nullable=False),
        sa.Column("link_hash", sa.String(length=64), nullable=False),
        sa.Column("next", sa.String(length=300), nullable=True),
        sa.Column("created_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("link_expires_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("used_at", models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("session_hash", sa.String(length=64), nullable=True),
        sa.Column("session_expires_at", models.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["token_id"],
            ["api_tokens.id"],
            name=op.f("fk_sign_ins_token_id_api_tokens"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sign_ins")),
        sa.UniqueConstraint("link_hash", name=op.f("uq_sign_ins_link_hash")),
        sa.UniqueConstraint("session_hash", name=op.f("uq_sign_ins_session_hash")),
    )
    with op.batch_alter_table("sign_ins", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sign_ins_token_id"), ["token_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("sign_ins", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sign_ins_token_id"))
    op.drop_table("sign_ins")
