"""Sign-in links and the board sessions they open (models.SignIn, design § Duty page).

A link's code and a session's secret are random (32 bytes, URL-safe) and stored only as their
SHA-256 hashes, as tokens are (service.store.tokens). A session's secret starts with
``SESSION_PREFIX``, so the board tells a session from a token in its cookie
(``TokenVerifier.verify_board``).
"""

from __future__ import annotations

import secrets
import uuid
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from models import ApiToken, SignIn
from service.errors import Conflict, NotFound, Said
from service.store.tokens import SESSION_PREFIX, hash_token


async def new_link(
    session: AsyncSession, token_id: uuid.UUID, next_page: str | None, expires_at: datetime
) -> tuple[SignIn, str]:
    """A link for the token ``token_id`` (404 unknown, 409 revoked), and its code."""
    token = await session.get(ApiToken, token_id)
    if token is None:
        raise NotFound(Said("令牌 {token} 不存在", token=token_id))
    if token.revoked_at is not None:
        raise Conflict(Said("令牌 {token} 已吊销，不能为它生成登录链接", token=token_id))
    code = secrets.token_urlsafe(32)
    row = SignIn(
        id=uuid.uuid4(),
        token_id=token_id,
        link_hash=hash_token(code),
        next=next_page,
        link_expires_at=expires_at,
    )
    session.add(row)
    return row, code


async def find_link(
    session: AsyncSession, code: str, now: datetime, *, lock: bool = False
) -> tuple[SignIn, ApiToken]:
    """The link ``code`` names and its token, while the link may still be used: 404 for none,
    409 once used, expired or its token revoked."""
    query = (
        select(SignIn, ApiToken)
        .join(ApiToken, ApiToken.id == SignIn.token_id)
        .where(SignIn.link_hash == hash_token(code))
    )
    found = (await session.execute(query.with_for_update(of=SignIn) if lock else query)).first()
    if found is None:
        raise NotFound(Said("登录链接无效：请向管理员重新索取"))
    link, token = found
    if link.used_at is not None:
        raise Conflict(Said("登录链接已用过，每个链接只能用一次：请向管理员重新索取"))
    if link.link_expires_at <= now:
        raise Conflict(Said("登录链接已过期：请向管理员重新索取"))
    if token.revoked_at is not None:
        raise Conflict(Said("此链接所属的令牌已吊销"))
    return link, token


async def open_session(
    session: AsyncSession, code: str, now: datetime, lasts: timedelta
) -> tuple[SignIn, str]:
    """Use the link ``code``: it is spent, and a board session opens for its token; the
    session's secret (for the cookie). The link's row is locked first, so that of two uses at
    once the second finds it spent."""
    link, _token = await find_link(session, code, now, lock=True)
    secret = SESSION_PREFIX + secrets.token_urlsafe(32)
    link.used_at = now
    link.session_hash = hash_token(secret)
    link.session_expires_at = now + lasts
    return link, secret


async def end_session(session: AsyncSession, secret: str, now: datetime) -> str:
    """End the board session ``secret`` opened (signing out); the hash it was kept under."""
    digest = hash_token(secret)
    await session.execute(
        update(SignIn)
        .where(SignIn.session_hash == digest, SignIn.session_expires_at > now)
        .values(session_expires_at=now)
    )
    return digest
