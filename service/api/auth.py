"""Authentication at the door: every request under /api/ needs a valid bearer token.

A pure ASGI middleware rather than a dependency: the refusal (401) comes before anything else
the request could be refused for, in one place for every endpoint, and a verified caller is left
in the request's state for the endpoints (``service.api.deps.ActorDep``) without a dependency
resolution of its own on the hot paths.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from service.api.limits import WrongTokens, client_address
from service.api.problems import problem, speaking
from service.errors import TooManyRequests, Unauthenticated
from service.flows.context import AppContext
from service.words import detail_of

PROTECTED_PREFIX = "/api/"


def bearer_token(headers: list[tuple[bytes, bytes]]) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header (the scheme is
    case-insensitive, RFC 9110), or None."""
    for name, value in headers:
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            return (token.strip() or None) if scheme.lower() == "bearer" else None
    return None


class BearerAuth:
    """The token check; an address that sent too many wrong tokens is held (429) by
    ``wrong_tokens`` (service.api.limits.WrongTokens)."""

    def __init__(self, app: ASGIApp, wrong_tokens: WrongTokens) -> None:
        self.app = app
        self.wrong_tokens = wrong_tokens

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(PROTECTED_PREFIX):
            await self.app(scope, receive, send)
            return
        context: AppContext = scope["app"].state.context
        token = bearer_token(scope["headers"])
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
            await answer(scope, receive, send)
            return
        except Unauthenticated as refused:
            if token:
                self.wrong_tokens.wrong(address, token)
            with speaking():
                detail = detail_of(refused)
            await problem(refused.status, refused.title, detail)(scope, receive, send)
            return
        if token:
            self.wrong_tokens.valid(token)
        scope.setdefault("state", {})["actor"] = actor
        await self.app(scope, receive, send)
