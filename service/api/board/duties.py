"""A unit's duty page: /board/duties (我的任务) and one duty at /board/duties/{action_id}, where its
duty officer acknowledges (确认) and completes (完成) a duty, from a phone first.

Signed in as the board is (the token in its cookie, ``service.api.board.session``), with the
unit's own token. Acting goes through the same flows as ``POST /api/v1/actions/{id}/ack`` and
``…/complete`` (service.flows.actions.progress), with their checks and their refusals, which the
page shows in words. Each form:

- is refused unless the browser says it was posted from this site (``from_this_origin``, as the
  sign-in form is), and the cookie is ``SameSite=Strict`` besides;
- carries a key made when the page was drawn (``once``), used as the request's Idempotency-Key:
  a second tap, or the form sent again from the browser's history, gets the first answer and
  changes nothing again;
- ends in a redirect to the duty (post/redirect/get), so that reloading the page sends nothing.

A person not signed in is sent to the sign-in form and, once signed in, back to the page they
asked for (``next``).
"""

from __future__ import annotations

import uuid
from typing import Final
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from service.api.board.pages import context_of, form_of, html_page, root_of
from service.api.board.session import from_this_origin, signed_in
from service.errors import CoordinatorError
from service.flows.actions import progress
from service.flows.actions.my_duties import Duty, unit_duties, unit_duty
from service.flows.actions.schemas import ActionCompletion, ActionNote
from service.flows.once import Once
from service.plan.actor import Actor
from service.words import _, detail_of

router = APIRouter(include_in_schema=False)

DUTIES: Final = "/board/duties"
# What the duty page says after a form went through (``?did=``), by what was done.
DONE_WORDS: Final = {"ack": lambda: _("已确认。"), "complete": lambda: _("已完成。")}


def to_sign_in(request: Request) -> Response:
    """The sign-in form, which brings the person back here once signed in."""
    here = request.url.path.removeprefix(root_of(request))
    if request.url.query:
        here += f"?{request.url.query}"
    return RedirectResponse(f"{root_of(request)}/board/login?next={quote(here)}", status_code=303)


def _refused(
    request: Request, actor: Actor, error: CoordinatorError, duty: Duty | None
) -> Response:
    """A refusal from the flows, in words, on the page that asked (the duty's, or a bare one)."""
    said = detail_of(error)
    if duty is None:
        return html_page(request, "duty_refused.html", error.status, viewer=actor, error=said)
    return _duty_page(request, actor, duty, error.status, error=said)


def _duty_page(
    request: Request, actor: Actor, duty: Duty, status: int = 200, **values: object
) -> Response:
    return html_page(
        request, "duty.html", status, viewer=actor, duty=duty, once=uuid.uuid4().hex, **values
    )


@router.get(DUTIES)
async def duties_page(request: Request) -> Response:
    """我的任务: the unit's open duties across events, overdue first, and those done below."""
    actor = await signed_in(request)
    if actor is None:
        return to_sign_in(request)
    try:
        duties = await unit_duties(context_of(request), actor)
    except CoordinatorError as error:
        return _refused(request, actor, error, None)
    return html_page(request, "duties.html", viewer=actor, duties=duties, once=uuid.uuid4().hex)


@router.get(DUTIES + "/{action_id}")
async def duty_page(request: Request, action_id: uuid.UUID) -> Response:
    """One duty, with its forms while it is open; ``?did=ack|complete`` says what went through."""
    actor = await signed_in(request)
    if actor is None:
        return to_sign_in(request)
    try:
        duty = await unit_duty(context_of(request), actor, action_id)
    except CoordinatorError as error:
        return _refused(request, actor, error, None)
    did = DONE_WORDS.get(request.query_params.get("did", ""))
    return _duty_page(request, actor, duty, done=did() if did else None)


@router.post(DUTIES + "/{action_id}/{step}")
async def act(request: Request, action_id: uuid.UUID, step: str) -> Response:
    """确认 (``ack``) or 完成 (``complete``) the duty, with the form's ``note`` and ``once``."""
    if step not in DONE_WORDS:
        return html_page(request, "duty_refused.html", 404, viewer=None, error=_("没有这个操作。"))
    if not from_this_origin(request):
        error = _("请从本站的任务页面提交。")
        return html_page(request, "duty_refused.html", 403, viewer=None, error=error)
    actor = await signed_in(request)
    if actor is None:
        return to_sign_in(request)
    context = context_of(request)
    fields = await form_of(request)
    note = fields.get("note") or None
    drawn = fields.get("once", "")[:160]
    key = f"{drawn}:{step}" if drawn else None  # one form, two buttons: a key for each
    try:
        duty = await unit_duty(context, actor, action_id)
    except CoordinatorError as error:
        return _refused(request, actor, error, None)
    try:
        body = ActionNote(note=note) if step == "ack" else ActionCompletion(note=note)
    except ValidationError:
        return _duty_page(request, actor, duty, 422, error=_("说明过长或含有不能保存的字符。"))
    path = f"/api/v1/actions/{action_id}/{step}"  # the same answer as the API's, once per key
    once = Once.of(key, "POST", path, body)
    try:
        if step == "ack":
            await progress.acknowledge(context, actor, action_id, note, once)
        else:
            await progress.complete(context, actor, action_id, note, once)
    except CoordinatorError as error:
        return _refused(request, actor, error, duty)
    return RedirectResponse(f"{root_of(request)}{DUTIES}/{action_id}?did={step}", status_code=303)
