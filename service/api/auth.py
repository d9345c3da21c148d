"""Authentication at the door: every request under /api/ needs a valid bearer token.

Checked at the door (``service.api.door``) rather than by a dependency: the refusal (401) comes
before anything else but a body too large, in one place for every endpoint, and a verified caller
is left in the request's state for the endpoints (``service.api.deps.ActorDep``) without a
dependency resolution of its own on the hot paths.
"""

from __future__ import annotations

from starlette.responses import Response
from starlette.types import Scope

from service.api.limits import WrongTokens, client_address
from service.api.problems import problem, speaking
from service.errors import TooManyRequests, Unauthenticated
from service.flows.context import AppContext
from service.words import detail_of


def bearer_token(headers: list[tuple[bytes, bytes]]) -> str | None:
    """The token of a request's ``Authorization: Bearer <token>`` header, or None."""
    for name, value in headers:
        if name == b"authorization":
            return token_of(value)
    return None


def token_of(authorization: bytes | None) -> str | None:
    """The token of an ``Authorization`` header's value ``Bearer <token>`` (the scheme is
    case-insensitive, RFC 9110), or None."""
    if authorization is None:
        return None
    scheme, _, token = authorization.decode("latin-1").partition(" ")
    return (token.strip() or None) if scheme.lower() == "bearer" else None


class TokenCheck:
    """The token check of every API request (``service.api.door.Door`` runs it); an address
    that sent too many wrong tokens is held (429) by ``wrong_tokens``
    (service.api.limits.WrongTokens)."""

    def __init__(self, wrong_tokens: WrongTokens) -> None:
        self.wrong_tokens = wrong_tokens

    async def refusal(self, scope: Scope, authorization: bytes | None) -> Response | None:
        """None when the request carries a valid token, its caller then left in the request's
        state; else the answer that refuses it (401, or 429 while its address is held)."""
        context: AppContext = scope["app"].state.context
        token = token_of(authorization)
        address = client_address(scope)
        try:
            if token:
                self.wrong_tokens.check(address, token)
            actor = await context.tokens.verify(token)
        except TooManyRequests as held:
            with speaking():
                detail = detail_of(held)
            answer = problem(held.status, held.title, detail)
            answer.headers["Retry-After"] = str(held.retry_after)
            return answer
        except Unauthenticated as refused:
            if token:
                self.wrong_tokens.wrong(address, token)
            with speaking():
                detail = detail_of(refused)
            return problem(refused.status, refused.title, detail)
        if token:
            self.wrong_tokens.valid(token)
        scope.setdefault("state", {})["actor"] = actor
        return None
