"""Sign-in links (design § Duty page): an admin mints one for a token, over the API or the
command line, and sends it to the person who holds the token; opened on a phone it signs them in
to the board once, without typing the token, and lands on the page it names.

Opening the link shows who it signs in as and a button; only the button (a POST from the page)
uses it, so a chat app fetching the link for a preview does not spend it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from models.base import utcnow
from service.flows.admin.token_schemas import SignInLinkCreate, SignInLinkCreated
from service.flows.context import AppContext
from service.plan.actor import Actor
from service.store import sign_ins
from service.store.tokens import SESSION_PREFIX
from service.store.transactions import in_transaction


@dataclass(frozen=True, slots=True)
class Offer:
    """What an unspent link would sign in as, and where it lands."""

    actor: Actor
    next: str | None


@dataclass(frozen=True, slots=True)
class Opened:
    """A board session a link opened: its secret (for the cookie) and where it lands."""

    secret: str
    next: str | None


async def mint_sign_in_link(
    context: AppContext, token_id: uuid.UUID, body: SignInLinkCreate
) -> SignInLinkCreated:
    """A link for the token ``token_id``, working once for ``body.minutes``."""

    async def work(session: AsyncSession) -> SignInLinkCreated:
        expires_at = utcnow() + timedelta(minutes=body.minutes)
        link, code = await sign_ins.new_link(session, token_id, body.next, expires_at)
        url = f"{context.settings.public_url.rstrip('/')}/board/sign-in/{code}"
        return SignInLinkCreated(
            token_id=token_id, url=url, next=link.next, expires_at=link.link_expires_at
        )

    return await in_transaction(context.sessions, work)


async def offer(context: AppContext, code: str) -> Offer:
    """Who the link ``code`` signs in as, while it may be used (404, 409 otherwise)."""
    async with context.read_sessions() as session:
        link, token = await sign_ins.find_link(session, code, utcnow())
    return Offer(Actor(token.id, token.name, token.role, token.agency, token.region), link.next)


async def use_sign_in_link(context: AppContext, code: str, lasts: timedelta) -> Opened:
    """Spend the link ``code``: a board session for its token, lasting ``lasts``."""

    async def work(session: AsyncSession) -> Opened:
        link, secret = await sign_ins.open_session(session, code, utcnow(), lasts)
        return Opened(secret, link.next)

    return await in_transaction(context.sessions, work)


def is_session(secret: str) -> bool:
    """Whether the board's cookie holds a session a link opened, rather than a token."""
    return secret.startswith(SESSION_PREFIX)


async def end_board_session(context: AppContext, secret: str) -> None:
    """Sign the session out: it ends now, in this worker at once and in every other by the
    token cache's time."""

    async def work(session: AsyncSession) -> str:
        return await sign_ins.end_session(session, secret, utcnow())

    context.tokens.forget(await in_transaction(context.sessions, work))
