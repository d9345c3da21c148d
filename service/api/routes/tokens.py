"""Tokens (design.md "Roles and tokens"): an admin makes, lists and revokes them."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter

from service.api.deps import ContextDep, ReadSessionDep, role
from service.api.openapi import problems
from service.flows.admin import tokens
from service.flows.admin.tokens import TokenCreate, TokenCreated, TokenRead
from service.flows.schemas import Page
from service.plan.actor import Actor
from service.store.transactions import in_transaction

router = APIRouter(tags=["tokens"], responses=problems(401, 403))

AdminDep = Annotated[Actor, role("admin")]


@router.post("/tokens", status_code=201, responses=problems(422))
async def post_token(body: TokenCreate, _admin: AdminDep, context: ContextDep) -> TokenCreated:
    """Make a token, as ``outage-coordinator tokens create`` does; the answer holds it once,
    and only its SHA-256 hash is stored."""
    return await in_transaction(
        context.sessions, lambda session: tokens.create(session, context.playbooks, body)
    )


@router.get("/tokens")
async def get_tokens(_admin: AdminDep, session: ReadSessionDep) -> Page[TokenRead]:
    """Every token, oldest first: role, scope, name, whether revoked; never a token itself.
    One page: a service has tens of tokens, not thousands."""
    return Page(items=await tokens.list_all(session))


@router.delete("/tokens/{token_id}", responses=problems(404, 422))
async def delete_token(token_id: uuid.UUID, _admin: AdminDep, context: ContextDep) -> TokenRead:
    """Revoke a token (revoking it again changes nothing); the service refuses it within
    ``OUTAGE_TOKEN_CACHE_SECONDS``. The row stays, as the record of whose token it was."""
    return await in_transaction(context.sessions, lambda session: tokens.revoke(session, token_id))
