"""The register of what an event requisitioned (plan 5.3 依法征用、调用车辆和物资、人员), which plan
6.3's compensation (补助或补偿) is paid from."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, ExactDecimal, UTCDateTime, one_of, utcnow, uuid_pk
from service.plan.requisitions import REQUISITION_KINDS, RequisitionKind


class Requisition(Base):
    """One thing requisitioned: ``quantity`` ``unit`` of ``what`` (of ``kind``) from its
    ``owner``, at ``requisitioned_at``, by the unit ``agency``, for the 事发地 ``region`` whose
    government compensates it; ``returned_at`` once given back (never, for what was used up)."""

    __tablename__ = "requisitions"
    __table_args__ = (
        CheckConstraint(one_of("kind", REQUISITION_KINDS), name="kind"),
        Index("ix_requisitions_event_at", "event_id", "requisitioned_at"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    event_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    kind: Mapped[RequisitionKind] = mapped_column(String(12))
    what: Mapped[str] = mapped_column(String(200))
    owner: Mapped[str] = mapped_column(String(200))
    quantity: Mapped[Decimal] = mapped_column(ExactDecimal)
    unit: Mapped[str] = mapped_column(String(20))
    requisitioned_at: Mapped[datetime] = mapped_column(UTCDateTime)
    agency: Mapped[str] = mapped_column(String(40))
    region: Mapped[str] = mapped_column(String(6))
    note: Mapped[str | None] = mapped_column(Text)
    actor_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("api_tokens.id"))
    actor: Mapped[str] = mapped_column(String(240))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    returned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    return_note: Mapped[str | None] = mapped_column(Text)
    returned_by: Mapped[str | None] = mapped_column(String(240))
