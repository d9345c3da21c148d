"""Token administration behind ``outage-coordinator tokens`` and the bootstrap admin token."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from models import ApiToken
from models.base import utcnow
from service.context import Playbooks
from service.errors import InvalidInput, NotFound
from service.security import new_token

ROLES = ("admin", "dispatcher", "commander", "agency", "observer")


async def create_token(
    session: AsyncSession,
    playbooks: Playbooks,
    *,
    role: str,
    name: str,
    agency: str | None = None,
    region: str | None = None,
) -> tuple[ApiToken, str]:
    """A new token row and the token itself (shown once, never stored)."""
    if role not in ROLES:
        raise InvalidInput("role", f"unknown role {role!r}; one of {', '.join(ROLES)}")
    if not name.strip():
        raise InvalidInput("name", "a token needs a name saying whose it is")
    if role == "agency" and not agency:
        raise InvalidInput("agency", "an agency token needs --agency CODE")
    if role != "agency" and agency:
        raise InvalidInput("agency", "--agency is only for agency tokens")
    known = playbooks.agencies.get(agency) if agency else None
    if agency and (known is None or known.kind == "symbolic"):
        raise InvalidInput("agency", f"unknown agency {agency!r} (see agencies.yaml)")
    if role == "commander" and not region:
        raise InvalidInput("region", "a commander token needs --region: its HQ's code")
    if region is not None and region not in playbooks.grids:
        raise InvalidInput("region", f"unknown region {region} (see regions.yaml)")
    if region is not None and role not in ("dispatcher", "commander"):
        raise InvalidInput("region", "--region is only for dispatchers and commanders")
    token, digest = new_token()
    row = ApiToken(
        id=uuid.uuid4(), name=name, role=role, agency=agency, region=region, token_hash=digest
    )
    session.add(row)
    return row, token


async def list_tokens(session: AsyncSession) -> list[ApiToken]:
    return list(await session.scalars(select(ApiToken).order_by(ApiToken.created_at)))


async def revoke_token(session: AsyncSession, token_id: uuid.UUID) -> ApiToken:
    row = await session.get(ApiToken, token_id)
    if row is None:
        raise NotFound(f"no token {token_id}")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
    return row


async def bootstrap_admin(session: AsyncSession, playbooks: Playbooks, path: Path) -> str | None:
    """On the first start with no tokens at all, make an admin token and write it to ``path``.

    Returns the token, or None when tokens exist already. The file is created mode 0600.
    """
    if await session.scalar(select(func.count()).select_from(ApiToken)):
        return None
    _row, token = await create_token(session, playbooks, role="admin", name="bootstrap admin")
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write(token + "\n")
    os.chmod(path, 0o600)
    return token
