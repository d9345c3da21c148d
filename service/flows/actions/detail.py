"""One action as its reader sees it (``GET /actions/{id}``): the action, and for plan 6.3's
compensation duty the requisitions it compensates (design § Approvals and requisitions)."""

from __future__ import annotations

import uuid

from pydantic import Field

from models import Action
from service.errors import NotFound, Said
from service.flows.actions.schemas import ActionRead, read, with_drill
from service.flows.context import AppContext
from service.flows.response.requisition_schemas import RequisitionRead
from service.flows.response.requisitions import to_compensate
from service.plan.actor import Actor


class ActionDetail(ActionRead):
    """An action, with what it concerns beyond its own record."""

    requisitions: list[RequisitionRead] | None = Field(
        default=None,
        description="for plan 6.3's compensation duty, the event's requisitions of its "
        "government's area, in the order requisitioned (the register of plan 5.3); null for "
        "any other duty",
    )


async def read_action(context: AppContext, actor: Actor, action_id: uuid.UUID) -> ActionDetail:
    """The action ``action_id``: any role reads any action, an agency only its own (another's
    does not exist for it: 404)."""
    async with context.read_sessions() as session:
        query = with_drill().where(Action.id == action_id)
        if actor.role == "agency":
            query = query.where(Action.agency == actor.agency)
        found = (await session.execute(query)).first()
        if found is None:
            raise NotFound(Said("任务 {id} 不存在", id=action_id))
        action, drill = found
        shown = read(action, drill)
        owed = await to_compensate(session, context.playbooks, action)
        return ActionDetail(**dict(shown), requisitions=owed)
