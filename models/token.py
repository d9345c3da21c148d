"""API tokens: only a SHA-256 hash of each token is stored."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, String
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
