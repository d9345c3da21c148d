"""A sign-in link opened: /board/sign-in/{code} (design § Duty page).

GET shows who the link signs in as and a button; only the button's POST (from this page, as
every board form) spends the link, opens a board session and lands on the page the link names.
A link a chat app fetched for its preview is thus still unspent when its person taps it.
"""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from service.api.board.pages import context_of, html_page, root_of
from service.api.board.session import COOKIE_SECONDS, from_this_origin, sign_in
from service.errors import CoordinatorError
from service.flows.admin.sign_ins import offer, use_sign_in_link
from service.words import _, detail_of

router = APIRouter(include_in_schema=False)


@router.get("/board/sign-in/{code}")
async def sign_in_page(request: Request, code: str) -> Response:
    """Who the link signs in as, and the button that does it; or why it cannot."""
    try:
        found = await offer(context_of(request), code)
    except CoordinatorError as error:
        return html_page(request, "sign_in_link.html", error.status, error=detail_of(error))
    return html_page(request, "sign_in_link.html", who=found.actor)


@router.post("/board/sign-in/{code}")
async def use_link(request: Request, code: str) -> Response:
    """Spend the link: a board session in the cookie, and on to the page it names."""
    if not from_this_origin(request):
        error = _("请从本站的登录页面提交。")
        return html_page(request, "sign_in_link.html", 403, error=error)
    lasts = timedelta(seconds=COOKIE_SECONDS)
    try:
        opened = await use_sign_in_link(context_of(request), code, lasts)
    except CoordinatorError as error:
        return html_page(request, "sign_in_link.html", error.status, error=detail_of(error))
    response = RedirectResponse(f"{root_of(request)}{opened.next or '/board'}", status_code=303)
    sign_in(request, response, opened.secret)
    return response
