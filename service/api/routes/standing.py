"""Standing tasks (design § Standing duties): the readiness register of plan chapters 7 and 8.1.
Units list, acknowledge and complete theirs; commanders of the city's HQ cancel one. Each route
calls one flow of ``service.flows.standing``."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from service.api.deps import ActorDep, AgencyDep, CommanderDep, ContextDep
from service.api.idempotency import IdempotencyKey, answered, once_of
from service.api.openapi import problems
from service.api.routes import API_V1
from service.flows.actions.schemas import ActionCancel, ActionNote
from service.flows.context import AppContext
from service.flows.standing import listing, progress
from service.flows.standing.schemas import StandingTaskList, StandingTaskRead
from service.plan.duties import ActionState

router = APIRouter(prefix=API_V1, tags=["standing"], responses=problems(401, 403, 404, 422))


@router.get(
    "/standing-tasks",
    summary="List the standing tasks (plan 7, 8.1)",
    operation_id="list_standing_tasks",
)
async def get_standing_tasks(
    actor: ActorDep,
    context: ContextDep,
    state: Annotated[ActionState | None, Query(description="only tasks in this state")] = None,
    agency: Annotated[str | None, Query(description="only this unit's tasks")] = None,
) -> StandingTaskList:
    """The readiness register: the duties of plan chapters 7 and 8.1 that belong to no event
    (the yearly drill, the reserves, the plan's revision after an evaluation's findings …), one
    task per duty, unit and period, in the order raised, each with its clause, its due time
    (``due_at``: when it is to be done by) and how far it got (``state``).

    A unit (agency token) reads its own (another unit's code is 404); commanders, observers and
    admins read every unit's."""
    return await listing.list_tasks(context, actor, state, agency)


@router.get(
    "/standing-tasks/{task_id}",
    summary="Read one standing task",
    operation_id="get_standing_task",
)
async def get_standing_task(
    task_id: uuid.UUID, actor: ActorDep, context: ContextDep
) -> StandingTaskRead:
    """One standing task, to whoever may read it (another unit's is 404 to an agency)."""
    return await listing.get_task(context, actor, task_id)


@router.post(
    "/standing-tasks/{task_id}/ack",
    response_model=StandingTaskRead,
    responses=problems(409, 503),
    summary="Acknowledge a standing task",
    operation_id="acknowledge_standing_task",
)
async def post_ack(
    task_id: uuid.UUID,
    body: ActionNote,
    actor: AgencyDep,
    request: Request,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """The unit has taken the duty up: a pending task becomes ``acknowledged``. A standing task
    is due on its completion: past ``due_at`` it stays overdue, and reminded, until done. Only
    the unit that owes it (another's task is 404). Repeating it changes nothing but a new
    ``note``; a cancelled task is 409."""
    context: AppContext = request.app.state.context
    once = once_of(request, idempotency_key, body)
    return answered(await progress.acknowledge(context, actor, task_id, body.note, once))


@router.post(
    "/standing-tasks/{task_id}/complete",
    response_model=StandingTaskRead,
    responses=problems(409, 503),
    summary="Complete a standing task",
    operation_id="complete_standing_task",
)
async def post_complete(
    task_id: uuid.UUID,
    body: ActionNote,
    actor: AgencyDep,
    request: Request,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """The duty is done: a pending or acknowledged task becomes ``done``. Only the unit that
    owes it (another's task is 404). Completing a revision of the city's plan (plan 8.1) raises
    each county's revision of its own plan. Repeating it changes nothing but a new ``note``; a
    cancelled task is 409."""
    context: AppContext = request.app.state.context
    once = once_of(request, idempotency_key, body)
    return answered(await progress.complete(context, actor, task_id, body.note, once))


@router.post(
    "/standing-tasks/{task_id}/cancel",
    responses=problems(409, 503),
    summary="Cancel a standing task",
    operation_id="cancel_standing_task",
)
async def post_cancel(
    task_id: uuid.UUID, body: ActionCancel, actor: CommanderDep, context: ContextDep
) -> StandingTaskRead:
    """A commander of the city's HQ (or the province's) cancels an open task that is not
    needed, saying why in ``reason``. Cancelling again is harmless; a done task is 409."""
    return await progress.cancel(context, actor, task_id, body.reason)
