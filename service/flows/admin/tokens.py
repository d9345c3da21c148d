"""Tokens over the API (design.md "Roles and tokens": the admin manages tokens).

The same rules as ``outage-coordinator tokens create/list/revoke`` (service.store.tokens): a
token is shown once, in the answer that made it, and only its hash is stored. An admin's tool
(``drill run`` mints the role tokens a scenario needs) need not run on the database's host.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.ext.asyncio import AsyncSession

from models import ApiToken
from service.flows.schemas import RegionCode, Text
from service.plan.actor import Role
from service.playbooks.bundle import Playbooks
from service.store import tokens


class TokenCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: Role
    name: Annotated[Text, Field(min_length=1, max_length=200, description="whose token it is")]
    agency: str | None = Field(
        default=None, max_length=40, description="for role agency: the unit's code"
    )
    region: RegionCode | None = Field(
        default=None, description="a commander's HQ (required), or a dispatcher's limit"
    )


class TokenRead(BaseModel):
    """A token as listed: never the token itself."""

    id: uuid.UUID
    role: Role
    name: str
    agency: str | None
    region: str | None
    created_at: datetime
    revoked_at: datetime | None

    @classmethod
    def of(cls, row: ApiToken) -> TokenRead:
        return cls.model_validate(row, from_attributes=True)


class TokenCreated(TokenRead):
    token: str = Field(description="the bearer token, shown this once; only its hash is kept")


async def create(session: AsyncSession, playbooks: Playbooks, body: TokenCreate) -> TokenCreated:
    row, token = await tokens.create_token(
        session,
        playbooks.agencies,
        playbooks.grids,
        role=body.role,
        name=body.name,
        agency=body.agency,
        region=body.region,
    )
    await session.flush()  # created_at is the database's default
    return TokenCreated(**TokenRead.of(row).model_dump(), token=token)


async def list_all(session: AsyncSession) -> list[TokenRead]:
    return [TokenRead.of(row) for row in await tokens.list_tokens(session)]


async def revoke(session: AsyncSession, token_id: uuid.UUID) -> TokenRead:
    return TokenRead.of(await tokens.revoke_token(session, token_id))
