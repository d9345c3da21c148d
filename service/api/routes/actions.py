"""Actions: agencies poll (ETag / 304), acknowledge and complete; commanders cancel."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Header, Request
from fastapi.responses import Response
from pydantic import BaseModel

from models.base import utcnow
from service.api.deps import (
    ActorDep,
    AgencyDep,
    CommanderDep,
    ContextDep,
    ReadSessionDep,
    SessionDep,
)
from service.api.openapi import problems
from service.flows import actions
from service.flows.actions import ActionCancel, ActionNote, ActionRead
from service.flows.context import AppContext
from service.plan.actor import Actor
from service.plan.duties import ActionState
from service.store.events import get_event

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
        tag = await actions.etag(connection, code, state, event_id)
    if if_none_match is not None and tag in (t.strip() for t in if_none_match.split(",")):
        return Response(status_code=304, headers={"ETag": tag})
    # Read after the tag: a change in between sends newer items under an older tag, which only
    # costs the next poll a full answer; never the reverse.
    async with context.read_sessions() as session:
        items = await actions.list_for_agency(session, code, state, event_id)
    response.headers["ETag"] = tag
    return ActionList(items=items)


@router.get("/events/{event_id}/actions")
async def get_event_actions(
    event_id: uuid.UUID, actor: ActorDep, session: ReadSessionDep
) -> ActionList:
    """The event's actions (an agency: only its own)."""
    await get_event(session, actor, event_id)
    return ActionList(items=await actions.list_for_event(session, actor, event_id))


@router.post("/actions/{action_id}/ack", responses=problems(409))
async def post_ack(
    action_id: uuid.UUID, body: ActionNote, actor: AgencyDep, session: SessionDep
) -> ActionRead:
    action = await actions.progress(session, actor, action_id, "acknowledged", body.note, utcnow())
    await session.commit()
    return actions.read(action)


@router.post("/actions/{action_id}/complete", responses=problems(409))
async def post_complete(
    action_id: uuid.UUID, body: ActionNote, actor: AgencyDep, session: SessionDep
) -> ActionRead:
    action = await actions.progress(session, actor, action_id, "done", body.note, utcnow())
    await session.commit()
    return actions.read(action)


@router.post("/actions/{action_id}/cancel", responses=problems(409))
async def post_cancel(
    action_id: uuid.UUID,
    body: ActionCancel,
    actor: CommanderDep,
    session: SessionDep,
    context: ContextDep,
) -> ActionRead:
    action = await actions.cancel(
        session, context.playbooks, actor, action_id, body.reason, utcnow()
    )
    await session.commit()
    return actions.read(action)
