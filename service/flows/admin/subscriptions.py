"""Subscriptions and their deliveries, as an admin manages them through the API and the CLI
(design.md "Deadlines, escalation and notifications"): the same checks for both."""

from __future__ import annotations

import base64
import binascii
import secrets
import uuid
from datetime import datetime
from typing import Annotated, Final

import httpx
from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from models import Delivery, Subscription
from models.base import utcnow
from service.errors import InvalidInput, NotFound
from service.flows.schemas import Page, Text
from service.plan.notifications import DeliveryState, Format, NoticeType
from service.playbooks.agencies import AgencyRegistry
from service.store.cursors import after_time_cursor, time_page

SECRET_PREFIX: Final = "whsec_"
SECRET_BYTES: Final = (24, 64)  # design.md: whsec_ and the base64 of 24–64 random bytes
GENERATED_BYTES: Final = 24


def _http_url(value: str) -> str:
    """Any http(s) URL with a host (loopback and private addresses included: a control room's
    chat gateway sits on its own network); kept as given."""
    try:
        url = httpx.URL(value)
    except httpx.InvalidURL as exc:
        raise ValueError(f"not a URL: {exc}") from exc
    if url.scheme not in ("http", "https") or not url.host:
        raise ValueError("must be an http:// or https:// URL with a host")
    return value


class SubscriptionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: Annotated[str, Field(max_length=2000), AfterValidator(_http_url)]
    format: Format = "standard"
    secret: Annotated[Text, Field(min_length=1, max_length=200)] | None = Field(
        default=None,
        description="standard: whsec_ and the base64 of 24–64 random bytes (generated when left "
        "out); dingtalk: the robot's SEC… secret (its messages are then signed); wecom: none",
    )
    agencies: list[str] | None = Field(
        default=None, description="agency codes it hears of (agencies.yaml); all when left out"
    )
    types: list[NoticeType] | None = Field(
        default=None, description="notice types it hears; all when left out"
    )
    drills: bool = Field(default=False, description="hear drills as well as real events")


class SubscriptionRead(BaseModel):
    id: uuid.UUID
    url: str
    format: Format
    agencies: list[str] | None
    types: list[NoticeType] | None
    drills: bool
    created_at: datetime


class SubscriptionCreated(SubscriptionRead):
    """The answer to creating one: the only time its secret is shown."""

    secret: str | None


class DeliveryRead(BaseModel):
    id: uuid.UUID = Field(description="the webhook-id, the same on every attempt and replay")
    subscription_id: uuid.UUID
    type: NoticeType
    event_id: uuid.UUID
    state: DeliveryState
    attempts: int
    last_status: int | None
    last_error: str | None
    next_attempt_at: datetime
    delivered_at: datetime | None


def check(body: SubscriptionCreate, agencies: AgencyRegistry) -> str | None:
    """Refuse what the service could not honour (422 naming the field); the secret to store,
    generated for ``standard`` when none is given."""
    for i, code in enumerate(body.agencies or ()):
        if not agencies.is_real(code):
            raise InvalidInput(f"agencies[{i}]", f"unknown agency {code} (see agencies.yaml)")
    if body.format == "wecom":
        if body.secret is not None:
            raise InvalidInput("secret", "WeCom robots are not signed: leave secret out")
        return None
    if body.format == "dingtalk":
        return body.secret
    if body.secret is None:
        return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(GENERATED_BYTES)).decode()
    if not _is_standard_secret(body.secret):
        low, high = SECRET_BYTES
        raise InvalidInput(
            "secret", f"a standard secret is {SECRET_PREFIX} and the base64 of {low}–{high} bytes"
        )
    return body.secret


def _is_standard_secret(secret: str) -> bool:
    if not secret.startswith(SECRET_PREFIX):
        return False
    try:
        key = base64.b64decode(secret.removeprefix(SECRET_PREFIX), validate=True)
    except (binascii.Error, ValueError):
        return False
    low, high = SECRET_BYTES
    return low <= len(key) <= high


async def create(
    session: AsyncSession, agencies: AgencyRegistry, body: SubscriptionCreate
) -> SubscriptionCreated:
    secret = check(body, agencies)
    row = Subscription(
        id=uuid.uuid4(),
        url=body.url,
        format=body.format,
        secret=secret,
        agencies=sorted(set(body.agencies)) if body.agencies is not None else None,
        types=sorted(set(body.types)) if body.types is not None else None,
        drills=body.drills,
        created_at=utcnow(),
    )
    session.add(row)
    await session.flush()
    read = SubscriptionRead.model_validate(row, from_attributes=True)
    return SubscriptionCreated(**read.model_dump(), secret=secret)


async def list_all(session: AsyncSession) -> list[SubscriptionRead]:
    rows = await session.scalars(select(Subscription).order_by(Subscription.created_at))
    return [SubscriptionRead.model_validate(row, from_attributes=True) for row in rows]


async def remove(session: AsyncSession, subscription_id: uuid.UUID) -> None:
    """Delete it and its deliveries."""
    deleted = await session.execute(
        delete(Subscription).where(Subscription.id == subscription_id).returning(Subscription.id)
    )
    if deleted.first() is None:
        raise NotFound(f"subscription {subscription_id} does not exist")


async def list_deliveries(
    session: AsyncSession,
    *,
    state: DeliveryState | None,
    subscription_id: uuid.UUID | None,
    limit: int,
    cursor: str | None,
) -> Page[DeliveryRead]:
    """Oldest first, keyset-paginated on (created_at, id)."""
    query = select(Delivery)
    if state is not None:
        query = query.where(Delivery.state == state)
    if subscription_id is not None:
        query = query.where(Delivery.subscription_id == subscription_id)
    query = after_time_cursor(query, Delivery.created_at, Delivery.id, cursor, limit)
    rows, following = time_page(
        list(await session.scalars(query)), limit, lambda d: (d.created_at, d.id)
    )
    return Page(
        items=[DeliveryRead.model_validate(row, from_attributes=True) for row in rows],
        next=following,
    )


async def replay(session: AsyncSession, delivery_id: uuid.UUID) -> DeliveryRead:
    """Send it again as a new attempt, due now, under the same ``webhook-id``."""
    row = await session.scalar(
        update(Delivery)
        .where(Delivery.id == delivery_id)
        .values(state="pending", next_attempt_at=utcnow(), delivered_at=None)
        .returning(Delivery)
    )
    if row is None:
        raise NotFound(f"delivery {delivery_id} does not exist")
    return DeliveryRead.model_validate(row, from_attributes=True)
