"""Bearer tokens and the actor behind each request.

A token is 32 random bytes (URL-safe), shown once and stored only as its SHA-256 hash: with that
much entropy a fast hash is enough, and lookups stay a single indexed read. Verified tokens are
remembered for ``token_cache_seconds`` so hot read paths skip the database; a revocation takes
effect everywhere within that time.
"""

from __future__ import annotations

import hashlib
import secrets
import time
import uuid
from dataclasses import dataclass
from typing import Final

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from models import ApiToken
from service.errors import Forbidden, Unauthenticated

TOKEN_PREFIX: Final = "oc_"


@dataclass(frozen=True, slots=True)
class Actor:
    """Who is calling: a token's identity, recorded on every timeline entry it causes."""

    id: uuid.UUID
    name: str
    role: str
    agency: str | None = None
    region: str | None = None

    @property
    def label(self) -> str:
        scope = self.agency or self.region
        return f"{self.role}:{self.name}" + (f"@{scope}" if scope else "")

    def require(self, *roles: str) -> None:
        """Refuse (403) unless the actor has one of ``roles``."""
        if self.role not in roles:
            raise Forbidden(
                f"role '{self.role}' may not do this; allowed: {', '.join(roles)}",
                rule="design.md roles",
            )


def new_token() -> tuple[str, str]:
    """A fresh token and the hash that is stored for it."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    return token, hash_token(token)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class TokenVerifier:
    """Turns a bearer token into an Actor, with a short-lived in-process cache."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], ttl_seconds: float) -> None:
        self._sessions = sessions
        self._ttl = ttl_seconds
        self._cache: dict[str, tuple[float, Actor]] = {}

    async def verify(self, token: str | None) -> Actor:
        if not token:
            raise Unauthenticated("a bearer token is required (Authorization: Bearer …)")
        digest = hash_token(token)
        now = time.monotonic()
        hit = self._cache.get(digest)
        if hit is not None and hit[0] > now:
            return hit[1]
        async with self._sessions() as session:
            row = await session.scalar(
                select(ApiToken).where(ApiToken.token_hash == digest, ApiToken.revoked_at.is_(None))
            )
        if row is None:
            self._cache.pop(digest, None)
            raise Unauthenticated("the bearer token is unknown or revoked")
        actor = Actor(row.id, row.name, row.role, row.agency, row.region)
        if self._ttl > 0:
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[digest] = (now + self._ttl, actor)
        return actor
