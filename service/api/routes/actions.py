"""Actions: agencies poll (ETag / 304), acknowledge and complete; commanders cancel."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from models.base import utcnow
from service.api.deps import (
    ActorDep,
    AgencyDep,
    CommanderDep,
    ContextDep,
    ReadSessionDep,
)
from service.api.openapi import problems
from service.flows.actions import progress as actions
from service.flows.actions.progress import ActionCancel, ActionNote
from service.flows.actions.schemas import ActionRead
from service.flows.context import AppContext
from service.flows.once import Once, answer_once
from service.plan.actor import Actor
from service.plan.duties import ActionState
from service.store.batch import WriteBatch
from service.store.events import get_event
from service.store.transactions import in_transaction

router = APIRouter(tags=["actions"], responses=problems(401, 403, 404, 422))


class ActionList(BaseModel):
    items: list[ActionRead]


@router.get("/agencies/{code}/actions", response_model=ActionList, responses=problems(304))
async def get_agency_actions(
    code: str,
    request: Request,
    response: Response,
    state: ActionState | None = None,
    event_id: uuid.UUID | None = None,
    drill: Annotated[
        bool | None, Query(description="only drills (true) or only real events (false)")
    ] = None,
    if_none_match: Annotated[str | None, Header()] = None,
) -> Any:
    """An agency's actions, for polling: send the ETag back as If-None-Match to get 304.

    The poll is the hottest path an agency has: the caller and the context are read straight
    from the request (no dependencies to resolve), the tag is checked on a bare connection, and
    a session is opened only when there is something new to send.
    """
    actor: Actor = request.state.actor  # verified at the door (service.api.auth)
    context: AppContext = request.app.state.context
    actions.may_read_agency(actor, code, context.playbooks.agencies)
    async with context.read_engine.connect() as connection:
        tag = await actions.etag(connection, code, state, event_id, drill)
    if if_none_match is not None and tag in (t.strip() for t in if_none_match.split(",")):
        return Response(status_code=304, headers={"ETag": tag})
    # Read after the tag: a change in between sends newer items under an older tag, which only
    # costs the next poll a full answer; never the reverse.
    async with context.read_sessions() as session:
        items = await actions.list_for_agency(session, code, state, event_id, drill)
    response.headers["ETag"] = tag
    return ActionList(items=items)


@router.get("/events/{event_id}/actions")
async def get_event_actions(
    event_id: uuid.UUID, actor: ActorDep, session: ReadSessionDep
) -> ActionList:
    """The event's actions (an agency: only its own)."""
    await get_event(session, actor, event_id)
    return ActionList(items=await actions.list_for_event(session, actor, event_id))


IdempotencyKey = Annotated[str | None, Header(min_length=1, max_length=200)]


async def _progress(
    request: Request,
    actor: Actor,
    action_id: uuid.UUID,
    body: ActionNote,
    to: Literal["acknowledged", "done"],
    idempotency_key: str | None,
) -> Response:
    """Acknowledge or complete, once per Idempotency-Key."""
    context: AppContext = request.app.state.context

    async def work(session: AsyncSession, batch: WriteBatch) -> bytes:
        action = await actions.progress(
            session, batch, context.playbooks, actor, action_id, to, body.note, utcnow()
        )
        return action.model_dump_json().encode()

    once = Once.of(idempotency_key, "POST", request.url.path, body)
    answer = await answer_once(context, actor, once, 200, work)
    return Response(answer.body, status_code=answer.status, media_type="application/json")


@router.post("/actions/{action_id}/ack", response_model=ActionRead, responses=problems(409, 503))
async def post_ack(
    action_id: uuid.UUID,
    body: ActionNote,
    actor: AgencyDep,
    request: Request,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """Acknowledge: the agency has taken the duty up. Repeating it is harmless."""
    return await _progress(request, actor, action_id, body, "acknowledged", idempotency_key)


@router.post(
    "/actions/{action_id}/complete", response_model=ActionRead, responses=problems(409, 503)
)
async def post_complete(
    action_id: uuid.UUID,
    body: ActionNote,
    actor: AgencyDep,
    request: Request,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """Complete: the duty is done. Repeating it is harmless."""
    return await _progress(request, actor, action_id, body, "done", idempotency_key)


@router.post("/actions/{action_id}/cancel", responses=problems(409, 503))
async def post_cancel(
    action_id: uuid.UUID,
    body: ActionCancel,
    actor: CommanderDep,
    context: ContextDep,
) -> ActionRead:
    async def work(session: AsyncSession) -> ActionRead:
        return await actions.cancel(
            session, context.playbooks, actor, action_id, body.reason, utcnow()
        )

    return await in_transaction(context.sessions, work)
