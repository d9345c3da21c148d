"""What plan 6.1's evaluators add to an event's report: findings and lessons, and the sign-off
that makes the report final (after which nothing more is added)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, UTCDateTime, one_of, utcnow, uuid_pk
from service.plan.evaluation import FINDING_KINDS, FindingKind


class EvaluationFinding(Base):
    """A problem found (``finding``) or a lesson drawn (``lesson``), written by a commander of
    the leading HQ or above, in the order written."""

    __tablename__ = "evaluation_findings"
    __table_args__ = (CheckConstraint(one_of("kind", FINDING_KINDS), name="kind"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    event_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("events.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[FindingKind] = mapped_column(String(10))
    text: Mapped[str] = mapped_column(Text)
    actor_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("api_tokens.id"))
    actor: Mapped[str] = mapped_column(String(240))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class EvaluationSignOff(Base):
    """The report's sign-off: the evaluating unit (评估单位) and who signed (签发); one per
    event, and the report is final from then on."""

    __tablename__ = "evaluation_sign_offs"

    event_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("events.id", ondelete="CASCADE"), primary_key=True
    )
    unit: Mapped[str] = mapped_column(String(200))
    signer: Mapped[str] = mapped_column(String(200))
    actor_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("api_tokens.id"))
    actor: Mapped[str] = mapped_column(String(240))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
