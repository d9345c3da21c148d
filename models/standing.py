"""The readiness register: standing duties of plan chapters 7 and 8.1 as tasks of no event
(design § Standing duties)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, UTCDateTime, one_of, utcnow, uuid_pk
from service.plan.duties import ACTION_STATES, ActionState
from service.plan.standing import RECURRENCES, Recurrence


class StandingTask(Base):
    """One standing duty (playbooks/standing.yaml) owed by one unit for one period: a year
    ("2026"), the finding that raised it ("finding:<id>") or the revision of the city's plan
    that did ("revision:<task id>"). The duty's words are copied in with the playbook version,
    as an action's are. ``event_id`` and ``finding_id`` name the evaluation that raised a
    revision (``from_drill`` when the event was a drill), ``source_task_id`` the revision
    whose completion raised a county's."""

    __tablename__ = "standing_tasks"
    __table_args__ = (
        UniqueConstraint("key", "agency", "period"),
        CheckConstraint(one_of("state", ACTION_STATES), name="state"),
        CheckConstraint(one_of("recurrence", RECURRENCES), name="recurrence"),
        Index("ix_standing_tasks_agency_state", "agency", "state"),
        # The escalation's look for open tasks past due, each period.
        Index("ix_standing_tasks_state_due", "state", "due_at"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    key: Mapped[str] = mapped_column(String(120))
    agency: Mapped[str] = mapped_column(String(40))
    period: Mapped[str] = mapped_column(String(60))
    recurrence: Mapped[Recurrence] = mapped_column(String(16))
    clause: Mapped[str] = mapped_column(String(20))
    title: Mapped[str] = mapped_column(Text)
    detail: Mapped[str] = mapped_column(Text)
    state: Mapped[ActionState] = mapped_column(String(12), default="pending")
    playbook_version: Mapped[str] = mapped_column(String(64))
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancel_reason: Mapped[str | None] = mapped_column(Text)
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    escalate_to: Mapped[str | None] = mapped_column(String(40))
    note: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    event_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("events.id", ondelete="SET NULL"))
    finding_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("evaluation_findings.id", ondelete="SET NULL"), index=True
    )
    from_drill: Mapped[bool] = mapped_column(Boolean, default=False)
    source_task_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("standing_tasks.id", ondelete="SET NULL")
    )
