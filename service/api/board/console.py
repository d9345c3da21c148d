"""The command console on the board: /board/events/{id}/console (design § Command console), where
a commander or dispatcher gives the event's commands without the API: publishes or lifts its
warnings, approves or rejects its releases (plan 5.4), starts or moves the response level with a
reason, attests plan 5.5's conditions with
evidence or withdraws a statement, and ends the response once the termination check passes.

Each button is drawn only for whom the plan lets act (service.flows.response.console); each form
goes through the API's flows, with their checks; a refusal shows on the console in words, success
redirects back to it (post/redirect/get). Forms are refused unless posted from this site, as every
board form is.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Final

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from service.api.board.duties import to_sign_in
from service.api.board.pages import context_of, form_of, html_page, root_of
from service.api.board.session import from_this_origin, signed_in
from service.errors import CoordinatorError
from service.flows.context import AppContext
from service.flows.once import Once
from service.flows.releases import review
from service.flows.releases.schemas import ReleaseApproval, ReleaseRejection
from service.flows.response import attestations, levels, termination
from service.flows.response.console import console
from service.flows.response.schemas import (
    AttestationCreate,
    LevelChange,
    Termination,
    WithdrawalCreate,
)
from service.flows.warnings import early_warnings
from service.flows.warnings.schemas import WarningDecision
from service.plan.actor import Actor
from service.words import _, detail_of

router = APIRouter(include_in_schema=False)

CONSOLE: Final = "/board/events/{event_id}/console"
# What the console says after a form went through (``?did=``).
DONE_WORDS: Final = {
    "publish": lambda: _("预警已发布。"),
    "lift": lambda: _("预警已解除。"),
    "approve": lambda: _("信息已批准发布。"),
    "reject": lambda: _("信息发布已退回。"),
    "start": lambda: _("已启动应急响应。"),
    "level": lambda: _("已调整响应级别。"),
    "attest": lambda: _("已确认终止条件。"),
    "withdraw": lambda: _("已撤回该确认。"),
    "terminate": lambda: _("已终止应急响应。"),
}
Form = dict[str, str]
Step = Callable[[AppContext, Actor, uuid.UUID, Form], Awaitable[object]]


async def _publish(context: AppContext, actor: Actor, event_id: uuid.UUID, form: Form) -> object:
    body = WarningDecision.model_validate({"reason": form.get("reason") or None})
    return await early_warnings.publish(context, actor, _warning_of(form), body)


async def _lift(context: AppContext, actor: Actor, event_id: uuid.UUID, form: Form) -> object:
    body = WarningDecision.model_validate({"reason": form.get("reason") or None})
    return await early_warnings.lift(context, actor, _warning_of(form), body)


async def _approve(context: AppContext, actor: Actor, event_id: uuid.UUID, form: Form) -> object:
    body = ReleaseApproval.model_validate({"reason": form.get("reason") or None})
    return await review.approve(context, actor, _release_of(form), body.reason)


async def _reject(context: AppContext, actor: Actor, event_id: uuid.UUID, form: Form) -> object:
    body = ReleaseRejection.model_validate({"reason": form.get("reason")})
    return await review.reject(context, actor, _release_of(form), body.reason)


def _release_of(form: Form) -> uuid.UUID:
    return uuid.UUID(form.get("release", ""))


def _warning_of(form: Form) -> uuid.UUID:
    return uuid.UUID(form.get("warning", ""))


async def _start(context: AppContext, actor: Actor, event_id: uuid.UUID, form: Form) -> object:
    body = LevelChange.model_validate({"level": form.get("level"), "reason": form.get("reason")})
    return await levels.start_response(context, actor, event_id, body)


async def _level(context: AppContext, actor: Actor, event_id: uuid.UUID, form: Form) -> object:
    body = LevelChange.model_validate({"level": form.get("level"), "reason": form.get("reason")})
    return await levels.set_level(context, actor, event_id, body)


async def _attest(context: AppContext, actor: Actor, event_id: uuid.UUID, form: Form) -> object:
    body = AttestationCreate.model_validate(
        {"condition": form.get("condition"), "evidence": form.get("evidence")}
    )
    # the key drawn into the form: a statement sent twice (a double tap) is made once
    drawn = form.get("once", "")[:160]
    path = f"/api/v1/events/{event_id}/attestations"
    once = Once.of(f"{drawn}:attest" if drawn else None, "POST", path, body)
    return await attestations.attest(context, actor, event_id, body, once)


async def _withdraw(context: AppContext, actor: Actor, event_id: uuid.UUID, form: Form) -> object:
    body = WithdrawalCreate(reason=form.get("reason", ""))
    statement = uuid.UUID(form.get("attestation", ""))
    return await attestations.withdraw(context, actor, event_id, statement, body)


async def _terminate(context: AppContext, actor: Actor, event_id: uuid.UUID, form: Form) -> object:
    body = Termination(
        reason=form.get("reason") or None, reconstruction=form.get("reconstruction") == "on"
    )
    return await termination.terminate(context, actor, event_id, body)


STEPS: Final[dict[str, Step]] = {
    "publish": _publish,
    "lift": _lift,
    "approve": _approve,
    "reject": _reject,
    "start": _start,
    "level": _level,
    "attest": _attest,
    "withdraw": _withdraw,
    "terminate": _terminate,
}


async def _page(
    request: Request, actor: Actor, event_id: uuid.UUID, status: int = 200, **values: object
) -> Response:
    try:
        shown = await console(context_of(request), actor, event_id)
    except CoordinatorError as error:
        return html_page(
            request, "console.html", error.status, viewer=actor, shown=None, error=detail_of(error)
        )
    drawn = uuid.uuid4().hex
    return html_page(
        request, "console.html", status, viewer=actor, shown=shown, once=drawn, **values
    )


@router.get(CONSOLE)
async def console_page(request: Request, event_id: uuid.UUID) -> Response:
    """The event's console; ``?did=`` says which command went through."""
    actor = await signed_in(request)
    if actor is None:
        return to_sign_in(request)
    did = DONE_WORDS.get(request.query_params.get("did", ""))
    return await _page(request, actor, event_id, done=did() if did else None)


@router.post(CONSOLE + "/{command}")
async def command(request: Request, event_id: uuid.UUID, command: str) -> Response:
    """One command of the console, with its form's fields."""
    actor = await signed_in(request)
    if actor is None:
        return to_sign_in(request)
    step = STEPS.get(command)
    if step is None:
        return await _page(request, actor, event_id, 404, error=_("没有这个操作。"))
    if not from_this_origin(request):
        return await _page(request, actor, event_id, 403, error=_("请从本站的指挥台提交。"))
    form = await form_of(request)
    try:
        await step(context_of(request), actor, event_id, form)
    except ValidationError:
        error = _("请完整填写：级别、理由、条件与依据须填写，且不超过长度限制。")
        return await _page(request, actor, event_id, 422, error=error)
    except ValueError:  # a warning's or an attestation's id that is no id
        return await _page(request, actor, event_id, 404, error=_("没有这一项。"))
    except CoordinatorError as error:
        return await _page(request, actor, event_id, error.status, error=detail_of(error))
    here = CONSOLE.format(event_id=event_id)
    return RedirectResponse(f"{root_of(request)}{here}?did={command}", status_code=303)
