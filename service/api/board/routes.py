"""The board's pages: /board, /board/updates (polled), /board/login, /board/logout, and an
event's evaluation report opened from the board in the same session
(/board/events/{id}/evaluation.html).

Updates by polling with ETags rather than server-sent events. The service runs several workers
on PostgreSQL, and a change made by one must reach a board served by another: an in-process
notification would not, so any worker's stream would have to ask the database every few seconds
anyway, which is what a poll does, without holding a connection and a task per viewer for
hours, and without anything a proxy may buffer or cut. The poll is cheap where it matters: the
page sends back the version it shows (``If-None-Match``); while nothing changed the answer is a
bodiless 304 after two statements (``service.flows.events.board.board_version``), and a change
is rendered once per worker and served to every viewer of the same scope from there
(``service.api.board.render``), drawing anew only the events it changed (``EventParts``). The
page polls every ``POLL_MS`` (board.js), so a change shows within that plus one answer: well
within 5 s.
"""

from __future__ import annotations

import re
import uuid
from typing import Annotated, Final

from fastapi import APIRouter, Header, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup

from service.api.board.pages import (
    PAGE_HEADERS,
    UPDATE_HEADERS,
    context_of,
    form_of,
    html_page,
    pages_of,
    root_of,
)
from service.api.board.session import (
    COOKIE,
    from_this_origin,
    sign_in,
    sign_out,
    signed_in,
    verified,
)
from service.api.evaluation_report import FONT_FILE, FONTS_PATH, evaluation_page
from service.api.render_pool import RenderPool
from service.api.routes.evaluation import PAGE_POLICY
from service.errors import TooManyRequests
from service.flows.admin.sign_ins import end_board_session, is_session
from service.flows.admin.token_schemas import BOARD_PATH
from service.flows.events import board
from service.flows.events.evaluation import evaluate_event
from service.words import _, current

router = APIRouter(include_in_schema=False)

POLL_MS: Final = 2000
# A page to land on after signing in (a path under /board; token_schemas says why so strict).
NEXT: Final = re.compile(BOARD_PATH)


def _etag(tag: str) -> str:
    return f'W/"{tag}"'


@router.get("/board")
async def board_page(request: Request) -> Response:
    """The whole board for whoever the cookie signs in, or the way to the sign-in form."""
    actor = await signed_in(request)
    if actor is None:
        return RedirectResponse(f"{root_of(request)}/board/login", status_code=303)
    pages = pages_of(request)
    tag, events = await board.current_board(context_of(request), actor, pages)
    page = pages.page(
        "board.html",
        root=root_of(request),
        viewer=actor,
        events=Markup(events.decode()),
        etag=_etag(tag),
        poll_ms=POLL_MS,
    )
    return HTMLResponse(page, headers=PAGE_HEADERS)


@router.get("/board/updates")
async def board_updates(
    request: Request, if_none_match: Annotated[str | None, Header()] = None
) -> Response:
    """The events' part of the board, or 304 while the version sent back is current; 401 once
    the cookie no longer signs anyone in (the page then goes to the sign-in form)."""
    actor = await signed_in(request)
    if actor is None:
        return Response(_("未登录"), status_code=401, media_type="text/plain; charset=utf-8")
    tag, events = await board.current_board(context_of(request), actor, pages_of(request))
    etag = _etag(tag)
    headers = {**UPDATE_HEADERS, "ETag": etag}
    if if_none_match is not None and etag in (t.strip() for t in if_none_match.split(",")):
        return Response(status_code=304, headers=headers)
    return HTMLResponse(events, headers=headers)


@router.get("/board/events/{event_id}/evaluation.html")
async def board_evaluation(request: Request, event_id: uuid.UUID) -> Response:
    """The event's evaluation report (plan 6.1) for whoever the board's cookie signs in, the
    page ``GET /api/v1/events/{id}/evaluation.html`` answers a token: read by the same rule
    (the event as the API lets the caller see it; an agency only when it evaluates or
    investigates the event), since the cookie opens no part of the API
    (``service.api.board.session``)."""
    actor = await signed_in(request)
    if actor is None:
        return RedirectResponse(f"{root_of(request)}/board/login", status_code=303)
    context = context_of(request)
    report = await evaluate_event(context, actor, event_id)
    font_url = f"{root_of(request)}{FONTS_PATH}/{FONT_FILE}"
    renders: RenderPool = request.app.state.render_pool
    levels = context.playbooks.rules.levels
    html = await renders.run(evaluation_page, report, levels, font_url, current())
    headers = {**PAGE_HEADERS, "Content-Security-Policy": PAGE_POLICY}
    return HTMLResponse(html, headers=headers)


def landing(asked: str | None) -> str:
    """Where a sign-in leads: the board page the person asked for (``next``), when it is one (a
    path under /board, never another site or a scheme), else the board."""
    if asked and NEXT.match(asked):
        return asked
    return "/board"


def _login_form(
    request: Request, status: int = 200, error: str | None = None, asked: str | None = None
) -> Response:
    return html_page(request, "login.html", status, error=error, next=landing(asked))


def _cross_site(request: Request) -> Response:
    return _login_form(request, 403, _("请从本站的登录页面提交。"))


@router.get("/board/login")
async def login_form(request: Request) -> Response:
    """The sign-in form: one field, the token; ``next``, the board page to land on after."""
    return _login_form(request, asked=request.query_params.get("next"))


@router.post("/board/login")
async def login(request: Request) -> Response:
    """The form's field ``token``: a valid token is kept in the board's cookie (see
    ``service.api.board.session``) and the board shown; anything else is the form again, 401."""
    if not from_this_origin(request):
        return _cross_site(request)
    fields = await form_of(request)
    token = fields.get("token", "")
    asked = fields.get("next")
    try:
        actor = await verified(request, token)
    except TooManyRequests as held:
        error = _("错误令牌过多：请在 {wait} 秒后重试。", wait=held.retry_after)
        answer = _login_form(request, 429, error, asked)
        answer.headers["Retry-After"] = str(held.retry_after)
        return answer
    if actor is None:
        return _login_form(request, 401, _("令牌无效或已被撤销，请核对后重新输入。"), asked)
    response = RedirectResponse(f"{root_of(request)}{landing(asked)}", status_code=303)
    sign_in(request, response, token)
    return response


@router.post("/board/logout")
async def logout(request: Request) -> Response:
    """Forget the cookie and show the sign-in form (posted from this site's page only)."""
    if not from_this_origin(request):
        return _cross_site(request)
    held = request.cookies.get(COOKIE)
    if held and is_session(held):  # a sign-in link's session ends at its sign-out
        await end_board_session(context_of(request), held)
    response = RedirectResponse(f"{root_of(request)}/board/login", status_code=303)
    sign_out(request, response)
    return response
