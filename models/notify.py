"""Outbound notifications: who subscribed, what the service has to tell (the outbox, written in
the transaction of the change it tells of), and each subscription's delivery of it."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, UTCDateTime, one_of, utcnow, uuid_pk
from models.event import JSONType
from service.plan.notifications import (
    CHANNELS,
    DELIVERY_STATES,
    FORMATS,
    NOTICE_TYPES,
    Channel,
    DeliveryState,
    Format,
    NoticeType,
)


class Subscription(Base):
    """A receiver registered by an admin: where to post, in which format, and what it hears
    (service.plan.notifications.hears)."""

    __tablename__ = "subscriptions"
    __table_args__ = (
        CheckConstraint(one_of("format", FORMATS), name="format"),
        CheckConstraint(one_of("channel", CHANNELS), name="channel"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    url: Mapped[str] = mapped_column(Text)
    format: Mapped[Format] = mapped_column(String(10))
    # Standard Webhooks: "whsec_" + base64 of the key; DingTalk: the robot's "SEC…" secret;
    # WeCom robots are not signed (the key in their URL is the credential).
    secret: Mapped[str | None] = mapped_column(String(200))
    agencies: Mapped[list[str] | None] = mapped_column(JSONType)
    types: Mapped[list[str] | None] = mapped_column(JSONType)
    drills: Mapped[bool] = mapped_column(Boolean, default=False)
    # A public channel of plan 3.2.2.1's green channel (None: the service's own people), which
    # hears only public notices (service.plan.notifications.audible).
    channel: Mapped[Channel | None] = mapped_column(String(10))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class OutboxMessage(Base):
    """One notice, written in the same transaction as the change it tells of. The deliverer
    fans it out into a Delivery per subscription that hears it, then sets ``fanned_out_at``."""

    __tablename__ = "outbox"
    __table_args__ = (
        CheckConstraint(one_of("type", NOTICE_TYPES), name="type"),
        Index(
            "ix_outbox_waiting",
            "created_at",
            postgresql_where=text("fanned_out_at IS NULL"),
            sqlite_where=text("fanned_out_at IS NULL"),
        ),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    # None for a notice of no event: a standing task's (design § Standing duties).
    event_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("events.id", ondelete="CASCADE"), index=True
    )
    type: Mapped[NoticeType] = mapped_column(String(30))
    drill: Mapped[bool] = mapped_column(Boolean, default=False)
    # The agency codes the notice concerns (None: everyone); see hears().
    audience: Mapped[list[str] | None] = mapped_column(JSONType)
    # The body's ``data``: at least event_id, drill, level; the action for action types.
    data: Mapped[dict[str, Any]] = mapped_column(JSONType)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    fanned_out_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Delivery(Base):
    """One notice to one subscription. Its id is the ``webhook-id``, the same on every attempt
    and on replay. ``next_attempt_at`` is when it is due; a worker that claims it moves it past
    the attempt's timeout, so a worker killed mid-attempt leaves it due again (at least once)."""

    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("message_id", "subscription_id"),
        CheckConstraint(one_of("state", DELIVERY_STATES), name="state"),
        Index("ix_deliveries_due", "state", "next_attempt_at"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    message_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("outbox.id", ondelete="CASCADE"))
    subscription_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("subscriptions.id", ondelete="CASCADE"), index=True
    )
    type: Mapped[NoticeType] = mapped_column(String(30))
    event_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    state: Mapped[DeliveryState] = mapped_column(String(10), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_status: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
