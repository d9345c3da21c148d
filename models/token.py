"""API tokens: only a SHA-256 hash of each token is stored."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, UTCDateTime, one_of, utcnow, uuid_pk
from service.plan.actor import ROLES, Role


class ApiToken(Base):
    __tablename__ = "api_tokens"
    __table_args__ = (
        CheckConstraint(one_of("role", ROLES), name="role"),
        CheckConstraint("role != 'agency' OR agency IS NOT NULL", name="agency_has_code"),
        CheckConstraint("role != 'commander' OR region IS NOT NULL", name="commander_has_hq"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[Role] = mapped_column(String(20))
    agency: Mapped[str | None] = mapped_column(String(40))
    region: Mapped[str | None] = mapped_column(String(6))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class SignIn(Base):
    """A sign-in link for a token (design § Duty page) and, once used, the board session it
    opened: the link's code and the session's secret are stored as hashes only, as tokens are.
    A link works once (``used_at``) and only until ``link_expires_at``; the session lasts until
    ``session_expires_at`` or its token is revoked, whichever comes first."""

    __tablename__ = "sign_ins"

    id: Mapped[uuid.UUID] = uuid_pk()
    token_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("api_tokens.id", ondelete="CASCADE"), index=True
    )
    link_hash: Mapped[str] = mapped_column(String(64), unique=True)
    next: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    link_expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    session_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    session_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
