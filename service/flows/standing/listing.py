"""Standing tasks as their readers see them: a unit its own; commanders, observers and admins
every unit's (as an agency's actions are read, service.flows.actions.listing). And the board's
常备任务 panel: the open tasks, the overdue first, with its part of the board's version."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from sqlalchemy import ColumnElement, Select, bindparam, case, func, select, true
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from models import StandingTask
from service.errors import Forbidden, NotFound, Said
from service.flows.actions.listing import may_read_agency
from service.flows.context import AppContext
from service.flows.standing.escalation import past_due
from service.flows.standing.schemas import StandingTaskList, StandingTaskRead, read
from service.plan.actor import Actor
from service.plan.duties import OPEN_STATES
from service.plan.standing import is_overdue

# Who reads the register: the roles that read an agency's actions (design § Roles).
READERS: Final = ("commander", "observer", "admin")


def _mine(actor: Actor) -> ColumnElement[bool]:
    """What the actor may know of: an agency its own tasks, the readers every task."""
    if actor.role == "agency":
        return StandingTask.agency == actor.agency
    if actor.role not in READERS:
        raise Forbidden(Said("角色“{role}”不能查看常备任务", role=actor.role))
    return true()


async def list_tasks(
    context: AppContext, actor: Actor, state: str | None, agency: str | None
) -> StandingTaskList:
    """The tasks the caller may read, filtered by ``state`` and ``agency``, in the order raised.
    An agency naming another unit is answered as for a unit it cannot see (404)."""
    mine = _mine(actor)
    query = select(StandingTask).where(mine)
    if agency is not None:
        may_read_agency(actor, agency, context.playbooks.agencies)
        query = query.where(StandingTask.agency == agency)
    if state is not None:
        query = query.where(StandingTask.state == state)
    async with context.read_sessions() as session:
        rows = await session.scalars(
            query.order_by(StandingTask.raised_at, StandingTask.key, StandingTask.agency)
        )
        return StandingTaskList(items=[read(task) for task in rows])


async def get_task(context: AppContext, actor: Actor, task_id: uuid.UUID) -> StandingTaskRead:
    """One task; another unit's does not exist for an agency (404, not 403)."""
    mine = _mine(actor)
    async with context.read_sessions() as session:
        task = await session.scalar(select(StandingTask).where(StandingTask.id == task_id, mine))
    if task is None:
        raise NotFound(Said("常备任务 {id} 不存在", id=task_id))
    return read(task)


# --- the board's panel ----------------------------------------------------------------------


@dataclass(frozen=True)
class StandingPanel:
    """常备任务 on the board: the open tasks the viewer may read, the overdue first, then the
    soonest due; ``at`` is the board's time, which judges them overdue."""

    open: Sequence[StandingTaskRead]
    at: datetime

    @property
    def overdue(self) -> int:
        return sum(1 for task in self.open if self.is_overdue(task))

    def is_overdue(self, task: StandingTaskRead) -> bool:
        return is_overdue(task.state, task.due_at, self.at)


def _board_scope(actor: Actor) -> ColumnElement[bool] | None:
    """What the board shows the actor of the register; None: nothing (a dispatcher, who does
    not read it)."""
    try:
        return _mine(actor)
    except Forbidden:
        return None


async def board_panel(session: AsyncSession, actor: Actor, now: datetime) -> StandingPanel | None:
    """The panel the board shows ``actor`` at ``now``; None for a viewer who does not read the
    register."""
    scope = _board_scope(actor)
    if scope is None:
        return None
    rows = await session.scalars(
        select(StandingTask).where(scope, StandingTask.state.in_(OPEN_STATES))
    )
    tasks = [read(task) for task in rows]
    tasks.sort(key=lambda t: (not is_overdue(t.state, t.due_at, now), t.due_at, t.key, t.agency))
    return StandingPanel(tasks, now)


async def board_version_part(
    reader: AsyncConnection | AsyncSession, actor: Actor, now: datetime
) -> str:
    """The register's part of the board's version (service.flows.events.board), as text to
    hash: how many tasks the viewer sees open, the latest change among them, and how many are
    overdue at ``now``. Every change to an open task moves ``updated_at``; one that closes it
    moves the count; a task running past its due time moves the overdue count, with no write.
    Empty for a viewer who does not read the register."""
    statement = _version_part_statement(actor)
    if statement is None:
        return ""
    row = (await reader.execute(statement, {"now": now})).one()
    return f"|standing:{row[0]}:{row[1]}:{row[2]}"


# The statement of each viewer's part, built once per agency or role: asked on every poll of
# the board, it took 0.2 ms to build, more than to run (as the events' part, which
# service.flows.events.board builds once too). None: a viewer who does not read the register.
_VERSION_PARTS: dict[str, Select[int, datetime | None, int] | None] = {}


def _version_part_statement(actor: Actor) -> Select[int, datetime | None, int] | None:
    key = f"agency:{actor.agency}" if actor.role == "agency" else actor.role
    if key not in _VERSION_PARTS:
        scope = _board_scope(actor)
        _VERSION_PARTS[key] = (
            None
            if scope is None
            else select(
                func.count(),
                func.max(StandingTask.updated_at),
                func.coalesce(func.sum(case((past_due(bindparam("now")), 1), else_=0)), 0),
            ).where(scope, StandingTask.state.in_(OPEN_STATES))
        )
    return _VERSION_PARTS[key]
