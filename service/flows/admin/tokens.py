"""Tokens (design § Roles): an admin issues, lists and revokes them, over the API
(service.api.routes.tokens) and the command line (``outage-coordinator tokens``) alike, and the
service issues the first admin token on its first start.

A token is shown once, in the answer that made it; only its hash is stored. Each write owns its
transaction, run again when concurrent work made the database refuse it (``in_transaction``).
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

from sqlalchemy import and_, func, not_, select
from sqlalchemy.ext.asyncio import AsyncSession

from models import ApiToken
from models.base import utcnow
from service.errors import NotFound, Said
from service.flows.admin.token_schemas import (
    DRILL_TOKEN_PREFIX,
    TokenCreate,
    TokenCreated,
    TokenRead,
)
from service.flows.context import AppContext
from service.store import tokens
from service.store.transactions import in_transaction


async def issue_token(context: AppContext, body: TokenCreate) -> TokenCreated:
    """A new token for ``body``'s role, name and scope, checked against the playbooks."""

    async def work(session: AsyncSession) -> TokenCreated:
        row, token = await _create(session, context, body)
        await session.flush()  # created_at is the database's default
        return TokenCreated(**TokenRead.model_validate(row).model_dump(), token=token)

    return await in_transaction(context.sessions, work)


async def list_tokens(context: AppContext, *, revoked_drills: bool = False) -> list[TokenRead]:
    """Every token, oldest first, but those a finished drill revoked unless ``revoked_drills``."""
    query = select(ApiToken).order_by(ApiToken.created_at, ApiToken.id)
    if not revoked_drills:
        query = query.where(
            not_(
                and_(
                    ApiToken.revoked_at.is_not(None),
                    ApiToken.name.startswith(DRILL_TOKEN_PREFIX, autoescape=True),
                )
            )
        )
    async with context.read_sessions() as session:
        return [TokenRead.model_validate(row) for row in await session.scalars(query)]


async def revoke_token(context: AppContext, token_id: uuid.UUID) -> TokenRead:
    """Revoke a token (again: nothing changes). The row stays: the timeline names its holder."""

    async def work(session: AsyncSession) -> TokenRead:
        row = await session.get(ApiToken, token_id, with_for_update=True)
        if row is None:
            raise NotFound(Said("令牌 {token} 不存在", token=token_id))
        if row.revoked_at is None:
            row.revoked_at = utcnow()
        return TokenRead.model_validate(row)

    return await in_transaction(context.sessions, work)


async def bootstrap_admin(context: AppContext, path: Path) -> str | None:
    """On the first start with no tokens at all, an admin token, also written to ``path`` (mode
    0600) before it is committed; None when tokens exist already."""

    async def work(session: AsyncSession) -> str | None:
        if await session.scalar(select(func.count()).select_from(ApiToken)):
            return None
        body = TokenCreate(role="admin", name="bootstrap admin")
        _row, token = await _create(session, context, body)
        _write_secret(path, token)
        return token

    return await in_transaction(context.sessions, work)


async def _create(
    session: AsyncSession, context: AppContext, body: TokenCreate
) -> tuple[ApiToken, str]:
    return await tokens.create_token(
        session,
        context.playbooks.agencies,
        context.playbooks.grids,
        role=body.role,
        name=body.name,
        agency=body.agency,
        region=body.region,
    )


def _write_secret(path: Path, token: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write(token + "\n")
    os.chmod(path, 0o600)  # an existing file keeps its mode through os.open
