"""Events (大面积停电事件), the reports that drive them and their append-only timeline."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, ExactDecimal, UTCDateTime, one_of, utcnow, uuid_pk
from service.plan.grids import SCOPES, Scope
from service.plan.levels import LEVELS, Level
from service.plan.lifecycle import STATES, EventState
from service.plan.timeline import TIMELINE_KINDS, TimelineKind

JSONType = JSON().with_variant(JSONB(), "postgresql")
# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL gets a bigint identity.
SeqType = BigInteger().with_variant(Integer(), "sqlite")


class Event(Base):
    __tablename__ = "events"
    __table_args__ = (
        CheckConstraint(one_of("state", STATES), name="state"),
        CheckConstraint(one_of("level", LEVELS), name="level"),
        CheckConstraint(one_of("peak_level", LEVELS), name="peak_level"),
        CheckConstraint(one_of("response_level", LEVELS), name="response_level"),
        Index("ix_events_opened", "opened_at", "id"),
        # The board's events: the open ones, and those closed since the start of 最近结束; with
        # the state alone, the closed branch read every event ever closed (migration 0019).
        Index("ix_events_state_closed", "state", "closed_at"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    state: Mapped[EventState] = mapped_column(String(12), default="monitoring")
    level: Mapped[Level | None] = mapped_column(String(3))
    peak_level: Mapped[Level | None] = mapped_column(String(3))
    response_level: Mapped[Level | None] = mapped_column(String(3))
    leading_hq: Mapped[str | None] = mapped_column(String(6))
    drill: Mapped[bool] = mapped_column(Boolean, default=False)
    # A drill's own clock (design § Drills): the time of its scenario, which the drill's runner
    # moves on and every change to the event reads instead of the service's clock. Never set
    # on a real event, which keeps the service's: only a new drill event is given one
    # (service.store.events), and moving it refuses a real event (service.flows.drills.clock).
    drill_clock: Mapped[datetime | None] = mapped_column(UTCDateTime)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    etr: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The classification of the event's grids as they stand now (plan 1.5), with its basis.
    basis: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    # The timeline's last entry: its number within the event and its time. Entries are written
    # under the event's lock, so the next one takes timeline_seq + 1 (gapless) and a time no
    # earlier than timeline_at (never running backwards, whichever transaction took its clock
    # reading first).
    timeline_seq: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    timeline_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # ... and its hash, the head of the chain (service.plan.chain) the next entry links to.
    timeline_hash: Mapped[str | None] = mapped_column(String(64))

    reports: Mapped[list[Report]] = relationship(back_populates="event", lazy="raise")


class Report(Base):
    """A dispatcher's report: immutable once stored."""

    __tablename__ = "reports"
    __table_args__ = (Index("ix_reports_event_received", "event_id", "received_at"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    event_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    observed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    cause: Mapped[str] = mapped_column(String(40))
    etr: Mapped[datetime | None] = mapped_column(UTCDateTime)
    note: Mapped[str | None] = mapped_column(Text)
    level: Mapped[Level | None] = mapped_column(String(3))
    basis: Mapped[list[dict[str, Any]]] = mapped_column(JSONType)
    actor_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("api_tokens.id"))

    event: Mapped[Event] = relationship(back_populates="reports", lazy="raise")
    snapshots: Mapped[list[ReportSnapshot]] = relationship(
        back_populates="report", lazy="raise", order_by="ReportSnapshot.seq"
    )


class ReportSnapshot(Base):
    """One grid at one moment (plan 1.5's measures), as a report gave it."""

    __tablename__ = "snapshots"
    __table_args__ = (
        UniqueConstraint("report_id", "region"),
        Index("ix_snapshots_event_region", "event_id", "region"),
        CheckConstraint(one_of("scope", SCOPES), name="scope"),
    )

    seq: Mapped[int] = mapped_column(SeqType, primary_key=True, autoincrement=True)
    report_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"))
    event_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    scope: Mapped[Scope] = mapped_column(String(10))
    region: Mapped[str] = mapped_column(String(6))
    load_mw: Mapped[Decimal] = mapped_column(ExactDecimal)
    load_lost_mw: Mapped[Decimal] = mapped_column(ExactDecimal)
    customers: Mapped[int | None] = mapped_column(BigInteger)
    customers_out: Mapped[int | None] = mapped_column(BigInteger)
    observed_at: Mapped[datetime] = mapped_column(UTCDateTime)

    report: Mapped[Report] = relationship(back_populates="snapshots", lazy="raise")


class EventGrid(Base):
    """Where one grid of an event stands: its latest snapshot and its worst figures so far.

    Kept up to date by every report so that classifying the event, and computing restoration
    (plan 5.5 condition 2: restored = 1 − latest lost ÷ peak lost), reads one row per grid.
    """

    __tablename__ = "event_grids"

    event_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("events.id", ondelete="CASCADE"), primary_key=True
    )
    region: Mapped[str] = mapped_column(String(6), primary_key=True)
    scope: Mapped[Scope] = mapped_column(String(10))
    load_mw: Mapped[Decimal] = mapped_column(ExactDecimal)
    load_lost_mw: Mapped[Decimal] = mapped_column(ExactDecimal)
    customers: Mapped[int | None] = mapped_column(BigInteger)
    customers_out: Mapped[int | None] = mapped_column(BigInteger)
    observed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    peak_load_lost_mw: Mapped[Decimal] = mapped_column(ExactDecimal)
    peak_customers_out: Mapped[int | None] = mapped_column(BigInteger)


class TimelineEntry(Base):
    """Append-only: one row for everything that happens to an event, with actor and clause.

    ``event_seq`` numbers an event's entries 1, 2, 3 … without gaps (what the API calls
    ``seq``); ``seq`` is the table's own key, shared by all events. ``hash`` is the SHA-256 of
    the entry's content and ``prev_hash``, the hash of the event's entry before (none for its
    first): a hash chain, ``service.plan.chain``.
    """

    __tablename__ = "timeline"
    __table_args__ = (
        UniqueConstraint("event_id", "event_seq"),
        CheckConstraint(one_of("kind", TIMELINE_KINDS), name="kind"),
    )

    seq: Mapped[int] = mapped_column(SeqType, primary_key=True, autoincrement=True)
    event_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("events.id", ondelete="CASCADE"), index=True
    )
    event_seq: Mapped[int] = mapped_column(BigInteger)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    kind: Mapped[TimelineKind] = mapped_column(String(40))
    actor_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("api_tokens.id"))
    actor: Mapped[str] = mapped_column(String(240))
    clause: Mapped[str | None] = mapped_column(String(40))
    summary: Mapped[str] = mapped_column(Text)
    data: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    prev_hash: Mapped[str | None] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class IdempotencyRecord(Base):
    """The answer given to a request sent with an ``Idempotency-Key``, replayed on a repeat."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("token_id", "key"),)

    seq: Mapped[int] = mapped_column(SeqType, primary_key=True, autoincrement=True)
    token_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("api_tokens.id"))
    key: Mapped[str] = mapped_column(String(200))
    request_hash: Mapped[str] = mapped_column(String(64))
    status: Mapped[int] = mapped_column(Integer)
    response: Mapped[dict[str, Any]] = mapped_column(JSONType)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
