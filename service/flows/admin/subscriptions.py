"""Subscriptions and their deliveries, as an admin manages them through the API and the CLI
(design § Notifications): the same checks for both."""

from __future__ import annotations

import base64
import binascii
import secrets
import uuid
from typing import Final

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from models import Delivery, Subscription
from models.base import utcnow
from service.errors import InvalidInput, NotFound, Said
from service.flows.admin.schemas import (
    DeliveryRead,
    SubscriptionCreate,
    SubscriptionCreated,
    SubscriptionRead,
)
from service.flows.context import AppContext
from service.flows.schemas import Page
from service.plan.notifications import (
    CAP_TYPES,
    PUBLIC_FORMATS,
    PUBLIC_TYPES,
    DeliveryState,
)
from service.playbooks.agencies import AgencyRegistry
from service.store.cursors import after_time_cursor, time_page
from service.store.transactions import in_transaction

SECRET_PREFIX: Final = "whsec_"
SECRET_BYTES: Final = (24, 64)  # design § Notifications: whsec_, base64 of 24–64 bytes
GENERATED_BYTES: Final = 24


def check(body: SubscriptionCreate, agencies: AgencyRegistry) -> str | None:
    """Refuse what the service could not honour (422 naming the field); the secret to store,
    generated for ``standard`` and ``cap`` when none is given."""
    _check_url(body.url)
    for i, code in enumerate(body.agencies or ()):
        if not agencies.is_real(code):
            raise InvalidInput(
                f"agencies[{i}]", Said("未知单位 {agency}（见 agencies.yaml）", agency=code)
            )
    _check_public(body)
    if body.format == "wecom":
        if body.secret is not None:
            raise InvalidInput("secret", Said("企业微信机器人不签名：请不要提供 secret"))
        return None
    if body.format == "dingtalk":
        return body.secret
    if body.secret is None:
        return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(GENERATED_BYTES)).decode()
    if not _is_standard_secret(body.secret):
        low, high = SECRET_BYTES
        raise InvalidInput(
            "secret",
            Said(
                "standard 格式的 secret 为 {prefix} 加 {low}–{high} 字节的 base64",
                prefix=SECRET_PREFIX,
                low=low,
                high=high,
            ),
        )
    return body.secret


def _check_public(body: SubscriptionCreate) -> None:
    """Plan 3.2.2.1's green channel: a public channel hears only what is public, and CAP only a
    warning's messages (service.plan.notifications.audible). Asking for more is refused rather
    than quietly narrowed, so that an admin never believes a channel hears what it cannot."""
    if body.format == "cap" and body.channel is None:
        raise _green(
            "channel",
            Said("CAP 只发往公众发布渠道：请注明 channel（media、website、broadcast 或 telecom）"),
        )
    if body.channel is None:
        return
    if body.format not in PUBLIC_FORMATS:
        raise _green(
            "format",
            Said("公众发布渠道只接收 standard 或 cap 格式：群机器人的消息是给值班人员看的"),
        )
    if body.agencies is not None:
        raise _green("agencies", Said("公众发布渠道收到全部公开信息，不按单位筛选"))
    heard = CAP_TYPES if body.format == "cap" else PUBLIC_TYPES
    for i, notice_type in enumerate(body.types or ()):
        if notice_type in heard:
            continue
        if notice_type in PUBLIC_TYPES:  # a release: no message of a warning's CAP chain
            said = Said(
                "信息发布没有 CAP 格式：请另建 standard 格式的订阅接收 {type}", type=notice_type
            )
        else:
            said = Said("{type} 不是公开信息，公众发布渠道不能接收", type=notice_type)
        raise _green(f"types[{i}]", said)


def _green(field: str, said: Said) -> InvalidInput:
    refused = InvalidInput(field, said)
    refused.extra["rule"] = "plan 3.2.2.1"
    return refused


def _check_url(url: str) -> None:
    """A C1 control character (U+0080–U+009F, NEL among them) has no place in a URL: the URL
    parser would quietly percent-encode it into a path or a query the receiver never meant, and
    a log or a terminal showing the URL may take it for a line break. (C0 controls and DEL are
    refused by the URL parser already, ``schemas._http_url``.)"""
    for position, char in enumerate(url):
        if "\x80" <= char <= "\x9f":
            raise InvalidInput(
                "url",
                Said(
                    "URL 第 {position} 个字符是控制字符 {code}；请删去它",
                    position=position + 1,
                    code="U+" + format(ord(char), "04X"),
                ),
            )


def _is_standard_secret(secret: str) -> bool:
    if not secret.startswith(SECRET_PREFIX):
        return False
    try:
        key = base64.b64decode(secret.removeprefix(SECRET_PREFIX), validate=True)
    except (binascii.Error, ValueError):
        return False
    low, high = SECRET_BYTES
    return low <= len(key) <= high


async def create_subscription(context: AppContext, body: SubscriptionCreate) -> SubscriptionCreated:
    """Register a receiver, checked (``check``); the answer shows its secret, this once."""
    secret = check(body, context.playbooks.agencies)

    async def work(session: AsyncSession) -> SubscriptionCreated:
        row = Subscription(
            id=uuid.uuid4(),
            url=body.url,
            format=body.format,
            secret=secret,
            agencies=sorted(set(body.agencies)) if body.agencies is not None else None,
            types=sorted(set(body.types)) if body.types is not None else None,
            drills=body.drills,
            channel=body.channel,
            created_at=utcnow(),
        )
        session.add(row)
        await session.flush()
        read = SubscriptionRead.model_validate(row, from_attributes=True)
        return SubscriptionCreated(**read.model_dump(), secret=secret)

    return await in_transaction(context.sessions, work)


async def list_subscriptions(context: AppContext) -> Page[SubscriptionRead]:
    """Every subscription, oldest first; never its secret."""
    async with context.read_sessions() as session:
        rows = await session.scalars(select(Subscription).order_by(Subscription.created_at))
        return Page(
            items=[SubscriptionRead.model_validate(row, from_attributes=True) for row in rows]
        )


async def remove_subscription(context: AppContext, subscription_id: uuid.UUID) -> None:
    """Delete it and its deliveries."""

    async def work(session: AsyncSession) -> None:
        deleted = await session.execute(
            delete(Subscription)
            .where(Subscription.id == subscription_id)
            .returning(Subscription.id)
        )
        if deleted.first() is None:
            raise NotFound(Said("订阅 {id} 不存在", id=subscription_id))

    await in_transaction(context.sessions, work)


async def list_deliveries(
    context: AppContext,
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
    async with context.read_sessions() as session:
        rows, following = time_page(
            list(await session.scalars(query)), limit, lambda d: (d.created_at, d.id)
        )
        return Page(
            items=[DeliveryRead.model_validate(row, from_attributes=True) for row in rows],
            next=following,
        )


async def replay_delivery(context: AppContext, delivery_id: uuid.UUID) -> DeliveryRead:
    """Send it again as a new attempt, due now, under the same ``webhook-id``."""

    async def work(session: AsyncSession) -> DeliveryRead:
        row = await session.scalar(
            update(Delivery)
            .where(Delivery.id == delivery_id)
            .values(state="pending", next_attempt_at=utcnow(), delivered_at=None)
            .returning(Delivery)
        )
        if row is None:
            raise NotFound(Said("推送 {id} 不存在", id=delivery_id))
        return DeliveryRead.model_validate(row, from_attributes=True)

    return await in_transaction(context.sessions, work)
