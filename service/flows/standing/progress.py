"""A standing task moves on: its unit acknowledges or completes it; a commander of the city's HQ
(or the province's) cancels it, by the steps an action takes (service.flows.duties), with no
event: the task is the one row locked.

Acknowledging and completing answer once per Idempotency-Key (service.flows.once); cancelling
runs in a transaction of its own. Completing a revision of the city's plan raises the counties'
revisions (plan 8.1) in the same transaction.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from models import StandingTask
from models.base import utcnow
from service.errors import Said
from service.flows.context import AppContext
from service.flows.duties import call_off, move_on, refuse_cancelled
from service.flows.once import Answer, Once, Work, answer_once
from service.flows.standing.register import raise_after_revision
from service.flows.standing.schemas import StandingTaskRead, read
from service.plan.actor import Actor
from service.plan.duties import Step
from service.plan.jurisdiction import require_command
from service.plan.leadership import CITY_HQ
from service.playbooks.bundle import Playbooks
from service.store.batch import WriteBatch
from service.store.standing import lock_task
from service.store.transactions import in_transaction


async def acknowledge(
    context: AppContext, actor: Actor, task_id: uuid.UUID, note: str | None, once: Once
) -> Answer:
    """The unit has taken the duty up (pending → acknowledged); the answer is the task."""
    return await answer_once(
        context, actor, once, 200, _step(context, actor, task_id, "acknowledged", note)
    )


async def complete(
    context: AppContext, actor: Actor, task_id: uuid.UUID, note: str | None, once: Once
) -> Answer:
    """The duty is done (pending or acknowledged → done); the answer is the task."""
    return await answer_once(
        context, actor, once, 200, _step(context, actor, task_id, "done", note)
    )


async def cancel(
    context: AppContext, actor: Actor, task_id: uuid.UUID, reason: str
) -> StandingTaskRead:
    """A commander of the city's HQ (or above) cancels an open task, with the reason."""
    return await in_transaction(
        context.sessions,
        lambda session: _cancel(session, context.playbooks, actor, task_id, reason, utcnow()),
    )


def _step(
    context: AppContext, actor: Actor, task_id: uuid.UUID, to: Step, note: str | None
) -> Work:
    """Taking the step ``to`` on the caller's task."""
    return lambda session, batch: _progress(
        session, batch, context.playbooks, actor, task_id, to, note
    )


async def _progress(
    session: AsyncSession,
    batch: WriteBatch,
    playbooks: Playbooks,
    actor: Actor,
    task_id: uuid.UUID,
    to: Step,
    note: str | None,
) -> StandingTaskRead:
    """Move a task of the caller's unit forward only; repeating it, or acknowledging a done
    task, changes nothing but a new note. A cancelled task is a 409."""
    actor.require("agency")
    task = await lock_task(session, task_id, StandingTask.agency == actor.agency)
    now = utcnow()
    refuse_cancelled(task)
    if move_on(task, to, note, now) == "completed" and task.recurrence == "after_findings":
        await raise_after_revision(session, batch, playbooks, task, now)
    return read(task)


async def _cancel(
    session: AsyncSession,
    playbooks: Playbooks,
    actor: Actor,
    task_id: uuid.UUID,
    reason: str,
    now: datetime,
) -> StandingTaskRead:
    """Cancelling again is harmless; a done task is a 409. The duties are the city's plan's,
    which the city's government issued (plan 8.1): its HQ's commanders, or the province's."""
    actor.require("commander")
    # the resource before the jurisdiction (design § Errors)
    task = await lock_task(session, task_id)
    require_command(
        actor,
        CITY_HQ,
        playbooks.grids,
        Said("取消此常备任务"),
        rule="plan 8.1: the city's government issued the plan: its HQ (or the province's)",
    )
    call_off(task, reason, now)
    return read(task)
