"""Public releases (信息发布, plan 5.4): proposed, reviewed by an HQ, then published or rejected."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, UTCDateTime, one_of, utcnow, uuid_pk
from models.event import JSONType
from service.plan.releases import RELEASE_STATES, ReleaseState, Topic


class Release(Base):
    """One release about an event. Nothing is public until an HQ approved it (``published``).

    ``reviewer`` is the HQ that must review it: named at proposal, and set to the one whose
    review it took when decided. ``proposer_agency`` is the proposing agency's code (None for
    commanders and dispatchers): an agency reads its own proposals, and only published releases
    of the others. ``decided_*`` say who approved or rejected it, from which HQ and when.
    """

    __tablename__ = "releases"
    __table_args__ = (
        CheckConstraint(one_of("state", RELEASE_STATES), name="state"),
        Index("ix_releases_event_proposed", "event_id", "proposed_at", "id"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    event_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    state: Mapped[ReleaseState] = mapped_column(String(10), default="proposed")
    headline: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    topics: Mapped[list[Topic]] = mapped_column(JSONType)
    reviewer: Mapped[str] = mapped_column(String(6))
    proposed_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("api_tokens.id"))
    proposer: Mapped[str] = mapped_column(String(240))
    proposer_agency: Mapped[str | None] = mapped_column(String(40))
    proposed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("api_tokens.id"))
    decider: Mapped[str | None] = mapped_column(String(240))
    decided_hq: Mapped[str | None] = mapped_column(String(6))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reason: Mapped[str | None] = mapped_column(Text)
