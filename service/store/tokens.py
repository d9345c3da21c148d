"""Bearer tokens: a new token row, checked, and the actor behind each request (the flows in
service.flows.admin.tokens issue, list and revoke them).

A token is 32 random bytes (URL-safe), shown once and stored only as its SHA-256 hash: with that
much entropy a fast hash is enough, and lookups stay a single indexed read. Verified tokens are
remembered for ``token_cache_seconds`` so hot read paths skip the database; a revocation takes
effect everywhere within that time.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
import time
import uuid
from typing import Final

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from models import ApiToken, SignIn
from models.base import utcnow
from service.errors import InvalidInput, Said, Unauthenticated
from service.plan.actor import ROLES, Actor
from service.plan.grids import GridRegistry
from service.playbooks.agencies import AgencyRegistry

TOKEN_PREFIX: Final = "oc_"
SESSION_PREFIX: Final = "ocs_"  # a board session's secret (service.store.sign_ins)


def new_token() -> tuple[str, str]:
    """A fresh token and the hash that is stored for it."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    return token, hash_token(token)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class TokenVerifier:
    """Turns a bearer token into an Actor, with a short-lived in-process cache.

    One lookup per token at a time (``_looking``): when a token's time in the cache ends, every
    request carrying it until the database answers awaits that one lookup. Each asking on its
    own took as many read connections at once, beyond the pool on SQLite (a new connection and
    thread each), and held a client's requests up to 200 ms every five seconds (the p99 of
    classify, 100-200 ms against 3.8 ms with the cache never ending).
    """

    def __init__(self, sessions: async_sessionmaker[AsyncSession], ttl_seconds: float) -> None:
        self._sessions = sessions
        self._ttl = ttl_seconds
        self._cache: dict[str, tuple[float, Actor]] = {}
        self._looking: dict[str, asyncio.Task[Actor]] = {}

    async def verify(self, token: str | None) -> Actor:
        if not token:
            raise Unauthenticated(Said("需要 bearer 令牌（Authorization: Bearer …）"))
        digest = hash_token(token)
        return self._cached(digest) or await self._look_up(
            digest,
            select(ApiToken).where(ApiToken.token_hash == digest, ApiToken.revoked_at.is_(None)),
        )

    async def verify_session(self, secret: str) -> Actor:
        """The actor of a board session a sign-in link opened (``service.store.sign_ins``):
        while the session lasts and its token is not revoked, kept as a token is."""
        digest = hash_token(secret)
        return self._cached(digest) or await self._look_up(
            digest,
            select(ApiToken)
            .join(SignIn, SignIn.token_id == ApiToken.id)
            .where(
                SignIn.session_hash == digest,
                SignIn.session_expires_at > utcnow(),
                ApiToken.revoked_at.is_(None),
            ),
        )

    async def verify_board(self, secret: str) -> Actor:
        """The actor of what the board's cookie holds: a token, or a session's secret."""
        if secret.startswith(SESSION_PREFIX):
            return await self.verify_session(secret)
        return await self.verify(secret)

    def _cached(self, digest: str) -> Actor | None:
        hit = self._cache.get(digest)
        return hit[1] if hit is not None and hit[0] > time.monotonic() else None

    async def _look_up(self, digest: str, query: Select[ApiToken]) -> Actor:
        """``_found``, once for every caller asking for ``digest`` while it runs. It runs as a
        task of its own, shielded: a caller that goes away does not cancel it for the others."""
        looking = self._looking.get(digest)
        if looking is None:
            looking = self._looking[digest] = asyncio.create_task(self._found(digest, query))
            looking.add_done_callback(lambda _done: self._looking.pop(digest, None))
            # its error is its callers'; none left (all gone away), it is not logged as lost
            looking.add_done_callback(lambda done: done.cancelled() or done.exception())
        return await asyncio.shield(looking)

    async def _found(self, digest: str, query: Select[ApiToken]) -> Actor:
        """The actor of the token ``query`` finds for ``digest``, kept for the cache's time;
        Unauthenticated when it finds none."""
        async with self._sessions() as session:
            row = await session.scalar(query)
        if row is None:
            self._cache.pop(digest, None)
            raise Unauthenticated(Said("bearer 令牌未知或已吊销"))
        actor = Actor(row.id, row.name, row.role, row.agency, row.region)
        if self._ttl > 0:
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[digest] = (time.monotonic() + self._ttl, actor)
        return actor

    def forget(self, digest: str) -> None:
        """Drop what is kept for ``digest``: a session ended here ends at once in this worker."""
        self._cache.pop(digest, None)


async def create_token(
    session: AsyncSession,
    agencies: AgencyRegistry,
    grids: GridRegistry,
    *,
    role: str,
    name: str,
    agency: str | None = None,
    region: str | None = None,
) -> tuple[ApiToken, str]:
    """A new token row and the token itself (shown once, never stored)."""
    if role not in ROLES:
        raise InvalidInput(
            "role", Said("未知角色 {role}；可选：{roles}", role=repr(role), roles=", ".join(ROLES))
        )
    if not name.strip():
        raise InvalidInput("name", Said("令牌需要一个说明归谁所用的名称"))
    if role == "agency" and not agency:
        raise InvalidInput("agency", Said("单位令牌需要指定单位：其单位代码（--agency）"))
    if role != "agency" and agency:
        raise InvalidInput("agency", Said("单位（--agency）只用于单位令牌"))
    if agency and not agencies.is_real(agency):
        raise InvalidInput(
            "agency", Said("未知单位 {agency}（见 agencies.yaml）", agency=repr(agency))
        )
    if role == "commander" and not region:
        raise InvalidInput("region", Said("指挥长令牌需要指定地区：其指挥部的代码（--region）"))
    if region is not None and region not in grids:
        raise InvalidInput("region", Said("未知地区 {region}（见 regions.yaml）", region=region))
    if region is not None and role not in ("dispatcher", "commander"):
        raise InvalidInput("region", Said("地区（--region）只用于调度员和指挥长令牌"))
    token, digest = new_token()
    row = ApiToken(
        id=uuid.uuid4(), name=name, role=role, agency=agency, region=region, token_hash=digest
    )
    session.add(row)
    return row, token
