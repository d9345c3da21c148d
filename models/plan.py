"""What the plan sets in motion for an event: warnings, dispatched actions, attestations."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, UTCDateTime, one_of, utcnow, uuid_pk
from models.event import JSONType
from service.plan.deadlines import DEFAULT_DUE_ON, DUE_ONS, DueOn
from service.plan.duties import ACTION_STATES, PHASES, ActionState, Phase
from service.plan.early_warning import WARNING_STATES, WarningState
from service.plan.levels import LEVELS, Level
from service.plan.requisitions import REQUIREMENTS, Requirement
from service.plan.termination import ATTESTED_KEYS, AttestedKey


class EarlyWarning(Base):
    """预警 (plan 3.2.2): proposed by the grid side, published by an HQ, lifted by that HQ."""

    __tablename__ = "warnings"
    __table_args__ = (CheckConstraint(one_of("state", WARNING_STATES), name="state"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    event_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("events.id", ondelete="CASCADE"), index=True
    )
    state: Mapped[WarningState] = mapped_column(String(10), default="proposed")
    area: Mapped[list[str]] = mapped_column(JSONType)
    headline: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    onset: Mapped[datetime | None] = mapped_column(UTCDateTime)
    expires: Mapped[datetime | None] = mapped_column(UTCDateTime)
    proposed_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("api_tokens.id"))
    proposed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    published_hq: Mapped[str | None] = mapped_column(String(6))
    published_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("api_tokens.id"))
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    lifted_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("api_tokens.id"))
    lifted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reason: Mapped[str | None] = mapped_column(Text)


class Action(Base):
    """One checklist item dispatched to one agency for one event.

    The item's words are copied in, with the playbook version they came from, so that reloading
    the playbooks never changes what an agency was already asked to do. An item owed by a role
    that names several units (each county hit, service.plan.addressees) is one action per unit;
    a link of plan 4's chain is one action per unit and run (``run``: the chain runs again for a
    follow-up report, design § Reporting chain): the key is unique per event, agency and run.
    """

    __tablename__ = "actions"
    __table_args__ = (
        UniqueConstraint("event_id", "key", "agency", "run"),
        CheckConstraint(one_of("state", ACTION_STATES), name="state"),
        CheckConstraint(one_of("phase", PHASES), name="phase"),
        CheckConstraint(one_of("level", LEVELS), name="level"),
        CheckConstraint(one_of("due_on", DUE_ONS), name="due_on"),
        CheckConstraint(one_of("requires", REQUIREMENTS), name="requires"),
        # An agency's poll, a keyset page newest first (migration 0021): the agency's actions in
        # (dispatched_at, id) order, those in one state, and those of one event; the second also
        # serves every look-up by agency and state.
        Index("ix_actions_agency_dispatched", "agency", "dispatched_at", "id"),
        Index("ix_actions_agency_state_dispatched", "agency", "state", "dispatched_at", "id"),
        Index("ix_actions_agency_event_dispatched", "agency", "event_id", "dispatched_at", "id"),
        # The escalation job's look for due work (owing actions past due_at) each period.
        Index("ix_actions_state_due", "state", "due_at"),
        # One event's actions (its listing, and the foreign key's cascade), and among them the
        # owing ones past due: the board counts those per event on every poll, which through
        # the index above read every owing action of every event (migration 0019).
        Index("ix_actions_event_state_due", "event_id", "state", "due_at"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    event_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(120))
    agency: Mapped[str] = mapped_column(String(40))
    phase: Mapped[Phase] = mapped_column(String(16))
    level: Mapped[Level | None] = mapped_column(String(3))
    clause: Mapped[str] = mapped_column(String(20))
    title: Mapped[str] = mapped_column(Text)
    detail: Mapped[str] = mapped_column(Text)
    state: Mapped[ActionState] = mapped_column(String(12), default="pending")
    playbook_version: Mapped[str] = mapped_column(String(64))
    dispatched_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # What due_at asks for (design § Deadlines), copied from the item at dispatch.
    due_on: Mapped[DueOn] = mapped_column(
        String(16), default=DEFAULT_DUE_ON, server_default=DEFAULT_DUE_ON
    )
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancel_reason: Mapped[str | None] = mapped_column(Text)
    # When a level (or grade) change gave its job to another item, or to none (design § Dispatch).
    superseded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Overdue (design § Deadlines): escalated once, then reminded every REMIND_MINUTES until it
    # gives what due_on asks for;
    # the overdue notice also goes to the item's escalate_to agency (copied in at dispatch).
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    escalate_to: Mapped[str | None] = mapped_column(String(40))
    note: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # What must be on record before the action is done (the item's ``requires``, copied in at
    # dispatch), and the government's approval once recorded (plan 5.3 报经当地政府批准):
    # {government, approver, approved_at, reference, recorded_by, recorded_at}, written once.
    requires: Mapped[Requirement | None] = mapped_column(String(20))
    approval: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    # Plan 4's chain (design § Reporting chain): the run of the chain a link belongs to, numbered
    # 1, 2 … on its event (0: no link), and the area the run reports on, a county hit or the
    # city (the region's code; none for a run from before runs had an area).
    run: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    regarding: Mapped[str | None] = mapped_column(String(6))


class Attestation(Base):
    """A signed statement that a plan 5.5 condition holds, with its evidence.

    It counts in the termination check while it stands. ``known`` is the event's grids as the
    statement knew them (``{region: {"lost": "20.000000", "hit": true}}``: each grid's latest
    load lost, and whether it had lost load or customers), which a later report is compared
    with (service.plan.relapse). Withdrawn by a person (``withdrawn_*``, with a reason) or voided
    by a report that worsened the situation (``voided_*``, the grids it showed worse), it no
    longer counts; it is kept, and the check shows it so. Never both.
    """

    __tablename__ = "attestations"
    __table_args__ = (
        CheckConstraint(one_of("condition", ATTESTED_KEYS), name="condition"),
        CheckConstraint("withdrawn_at IS NULL OR voided_at IS NULL", name="set_aside_once"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    event_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("events.id", ondelete="CASCADE"), index=True
    )
    condition: Mapped[AttestedKey] = mapped_column(String(20))
    evidence: Mapped[str] = mapped_column(Text)
    actor_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("api_tokens.id"))
    actor: Mapped[str] = mapped_column(String(240))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    known: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    withdrawn_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("api_tokens.id"))
    withdrawn_by: Mapped[str | None] = mapped_column(String(240))
    withdrawal_reason: Mapped[str | None] = mapped_column(Text)
    voided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The report is written after the voiding in its own transaction's batch: no foreign key.
    voided_by_report: Mapped[uuid.UUID | None] = mapped_column()
    voided_grids: Mapped[list[dict[str, Any]] | None] = mapped_column(JSONType)


class AgencyFeed(Base):
    """A counter per agency, moved by every change to any of its actions, in the same
    transaction: what an agency's poll compares its ETag with, in one read by key."""

    __tablename__ = "agency_feeds"

    agency: Mapped[str] = mapped_column(String(40), primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger, default=1)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
