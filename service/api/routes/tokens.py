"""Tokens (design § Roles): an admin issues, lists and revokes them, as
``outage-coordinator tokens create/list/revoke`` does; each route is one flow call
(service.flows.admin.tokens)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from service.api.deps import ContextDep, role
from service.api.openapi import problems
from service.api.routes import API_V1
from service.flows.admin.sign_ins import mint_sign_in_link
from service.flows.admin.token_schemas import (
    SignInLinkCreate,
    SignInLinkCreated,
    TokenCreate,
    TokenCreated,
    TokenRead,
)
from service.flows.admin.tokens import issue_token, list_tokens, revoke_token
from service.flows.schemas import Page
from service.plan.actor import Actor

router = APIRouter(prefix=API_V1, tags=["tokens"], responses=problems(401, 403))

AdminDep = Annotated[Actor, role("admin")]


@router.post(
    "/tokens",
    status_code=201,
    responses=problems(422),
    summary="Issue a token",
    operation_id="issue_token",
)
async def post_token(body: TokenCreate, _admin: AdminDep, context: ContextDep) -> TokenCreated:
    """Make a bearer token for a person or a tool, as `outage-coordinator tokens create` does.
    Admins only.

    `role` says what it may do; a `commander` needs `region`, its HQ (330000, 330600 or a
    district/county such as 330603 柯桥区); an `agency` token needs `agency`, its unit's code
    in agencies.yaml (power-company for 绍兴电力局); a dispatcher's optional `region` limits the
    grids it may report. `name` is whose token it is: the timeline shows it beside everything
    the token does.

    Answers 201 with the token's record and `token` itself, shown in this answer only: the
    service keeps just its SHA-256 hash. A role, agency or region the playbooks do not know, or
    one the role does not take, is 422 naming the field.
    """
    return await issue_token(context, body)


@router.get(
    "/tokens", responses=problems(422), summary="List the tokens", operation_id="list_tokens"
)
async def get_tokens(
    _admin: AdminDep,
    context: ContextDep,
    all: Annotated[
        bool,
        Query(
            description="also the revoked tokens of finished drills (`drill run` issues one "
            "named `drill: …` per actor of its scenario and revokes them at the end)"
        ),
    ] = False,
) -> Page[TokenRead]:
    """Every token, oldest first: its `id`, `role`, `agency` or `region`, `name`, when it was
    made and whether it is revoked (`revoked_at`); never the token itself. Admins only.

    The revoked tokens of finished drills are left out unless `all=true`: they no longer work,
    and their rows stay only as the record of who acted in the drill. One page: a service has
    tens of tokens, not thousands.
    """
    return Page(items=await list_tokens(context, revoked_drills=all))


@router.delete(
    "/tokens/{token_id}",
    responses=problems(404, 422),
    summary="Revoke a token",
    operation_id="revoke_token",
)
async def delete_token(token_id: uuid.UUID, _admin: AdminDep, context: ContextDep) -> TokenRead:
    """Revoke a token, as `outage-coordinator tokens revoke` does. Admins only.

    The service refuses the token within `OUTAGE_TOKEN_CACHE_SECONDS`. Answers the token's
    record with `revoked_at` set; revoking it again changes nothing. The row stays, as the
    record of whose token it was: the timeline names its holder. An unknown id is 404.
    """
    return await revoke_token(context, token_id)


@router.post(
    "/tokens/{token_id}/sign-in-links",
    status_code=201,
    responses=problems(404, 409, 422),
    summary="Mint a sign-in link for a token",
    operation_id="mint_sign_in_link",
)
async def post_sign_in_link(
    token_id: uuid.UUID, body: SignInLinkCreate, _admin: AdminDep, context: ContextDep
) -> SignInLinkCreated:
    """A link that signs its holder in to the board as the token's holder, once, within
    `minutes` (10 unless asked, at most 60), and lands on `next` (a board page such as
    /board/duties/{action_id}), as `outage-coordinator tokens sign-in-link` makes. Admins only.

    For a person on a phone who should not have to type a 43-character token: send the `url`
    to them alone. Opening it shows who it signs in as and a button (a chat app's preview does
    not spend it); the button signs in, the board only (the cookie opens nothing under /api),
    for 7 days or until the token is revoked. The answer is the only place the link appears:
    the service keeps its hash. An unknown token is 404, a revoked one 409.
    """
    return await mint_sign_in_link(context, token_id, body)
