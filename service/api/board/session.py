"""Signing in to the board: the token in a cookie, and the check that a sign-in or sign-out
form was posted by the board's own page.

The cookie holds the token itself (only its hash is stored, so the database has nothing to
match a session id against), and is:

- ``HttpOnly``: no script reads it, the board's own included;
- ``SameSite=Strict``: a page of another site never makes the browser send it;
- ``Secure`` when the board is served over https (the request's scheme; behind a proxy, uvicorn
  takes it from ``X-Forwarded-Proto`` when the proxy is one it trusts, loopback by default);
- ``Path=/board``: the browser sends it to the board only. The JSON API would not take it
  anyway: the door's token check (``service.api.auth.TokenCheck``) reads the ``Authorization``
  header and nothing else, so a cookie never authenticates a request under /api/.

It lasts ``COOKIE_SECONDS`` (a wall display stays signed in across restarts of its browser);
revoking the token ends the session at the next poll, as it does for the API.

Cross-site request forgery: a sign-in posted by another site could sign the display in as the
attacker (login CSRF), and a sign-out posted by one could blank a wall display. Both forms are
refused unless the browser says they came from this origin, as Go's ``CrossOriginProtection``
judges it: ``Sec-Fetch-Site`` (sent by every current browser, and not settable by a page) must
be ``same-origin`` or ``none`` (typed or bookmarked); without it, an ``Origin`` header must name
this host. A request with neither is not from a browser a page could steer (curl, a script),
and is let through: the form posting the field ``token`` works from the command line too. No
hidden form token is needed on top, and none is kept.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Final
from urllib.parse import urlsplit

from fastapi import Request, Response

from service.api.limits import WrongTokens, client_address
from service.errors import Unauthenticated
from service.flows.context import AppContext
from service.plan.actor import Actor

COOKIE: Final = "outage_board"
COOKIE_PATH: Final = "/board"
COOKIE_SECONDS: Final = 7 * 24 * 3600
# Longer than any token the service makes (43 characters); a longer value is no token.
MAX_TOKEN_CHARS: Final = 200


def cookie_path(request: Request) -> str:
    root: str = request.scope.get("root_path", "")
    return root.rstrip("/") + COOKIE_PATH


def sign_in(request: Request, response: Response, token: str) -> None:
    """Keep ``token`` (or a sign-in link's session secret) in the board's cookie."""
    response.set_cookie(
        COOKIE,
        token,
        max_age=COOKIE_SECONDS,
        path=cookie_path(request),
        secure=request.url.scheme == "https",
        httponly=True,
        samesite="strict",
    )


def sign_out(request: Request, response: Response) -> None:
    response.delete_cookie(
        COOKIE,
        path=cookie_path(request),
        secure=request.url.scheme == "https",
        httponly=True,
        samesite="strict",
    )


async def verified(request: Request, token: str | None) -> Actor | None:
    """The caller ``token`` names, or None: no token, or one unknown or revoked. A wrong one
    counts against the caller's address as it does at the API, and an address held for too
    many raises ``TooManyRequests`` (service.api.limits.WrongTokens)."""
    if not token or len(token) > MAX_TOKEN_CHARS:
        return None
    context: AppContext = request.app.state.context
    wrong_tokens: WrongTokens = request.app.state.wrong_tokens
    address = client_address(request.scope)
    wrong_tokens.check(address, token)
    try:
        actor = await context.tokens.verify_board(token)
    except Unauthenticated:
        wrong_tokens.wrong(address, token)
        return None
    wrong_tokens.valid(token)
    return actor


async def signed_in(request: Request) -> Actor | None:
    """The caller the board's cookie names, acting from the board, or None."""
    actor = await verified(request, request.cookies.get(COOKIE))
    return replace(actor, via="board") if actor is not None else None


def from_this_origin(request: Request) -> bool:
    """Whether a form post may have come from another site's page (module docstring)."""
    site = request.headers.get("sec-fetch-site")
    if site is not None:
        return site in ("same-origin", "none")
    origin = request.headers.get("origin")
    if origin is None:
        return True
    return urlsplit(origin).netloc.lower() == request.headers.get("host", "").lower()
