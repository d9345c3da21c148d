"""Overdue standing tasks escalate, then are reminded (design § Standing duties), as an event's
overdue actions do (service.flows.actions.escalation), by the same notices through the same
outbox, every ``remind_minutes``.

A task's ``due_at`` asks for the duty done (service.plan.standing, by the actions' one rule of
service.plan.deadlines), so a task still open past it, taken up or not, is escalated once
(``escalated_at``, notice ``standing.overdue``), then reminded every ``remind_every`` from its
escalation or its last reminder (``reminded_at``, notice ``standing.reminder``) until it owes
nothing more: done or cancelled, as an overdue action due on its completion is. Each notice goes
to the task's unit, to the city's HQ (the government whose plan the duties are, as the leading
HQ hears of an event's) and to the duty's ``escalate_to``.

Run by the app's job in every worker. The tasks due are claimed in one transaction, ``FOR
UPDATE SKIP LOCKED``, the condition read under the lock being the claim, so that two workers
never escalate or remind one task twice for one time; a task a writer holds waits for the next
run. A restart loses nothing and catches up with one notice per task, not one per period missed.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import BindParameter, ColumnElement, and_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from models import StandingTask
from service.flows.actions.escalation import Chased
from service.flows.duties import chase, chase_due
from service.flows.standing.schemas import read
from service.plan.leadership import CITY_HQ
from service.plan.standing import STANDING_OWING_STATES
from service.playbooks.agencies import AgencyRegistry
from service.store import outbox
from service.store.batch import WriteBatch
from service.store.transactions import in_transaction


def owing() -> ColumnElement[bool]:
    """The task still owes what its due time asks for (``STANDING_OWING_STATES``), in SQL."""
    return StandingTask.state.in_(STANDING_OWING_STATES)


def past_due(now: datetime | BindParameter[datetime]) -> ColumnElement[bool]:
    """The task is overdue at ``now`` (``service.plan.standing.is_overdue`` in SQL): it still
    owes its duty and its due time has passed. As the escalation and the board judge it;
    ``now`` may be a parameter of a statement built once."""
    return and_(owing(), StandingTask.due_at < now)


def _due(now: datetime, remind_every: timedelta) -> ColumnElement[bool]:
    return chase_due(StandingTask, owing(), past_due(now), now, remind_every)


async def escalate_standing(
    sessions: async_sessionmaker[AsyncSession],
    agencies: AgencyRegistry,
    now: datetime,
    remind_every: timedelta,
) -> Chased:
    """Escalate every overdue task not yet escalated, and remind those whose last notice is
    ``remind_every`` old."""
    return await in_transaction(
        sessions, lambda session: _chase(session, agencies, now, remind_every)
    )


async def _chase(
    session: AsyncSession, agencies: AgencyRegistry, now: datetime, remind_every: timedelta
) -> Chased:
    claimed = list(
        await session.scalars(
            select(StandingTask)
            .where(_due(now, remind_every))
            .order_by(StandingTask.due_at, StandingTask.key, StandingTask.agency)
            .with_for_update(skip_locked=True)
        )
    )
    if not claimed:
        return Chased()
    city = agencies.hq_for_region(CITY_HQ)
    escalated = 0
    async with WriteBatch(session) as batch:
        for task in claimed:
            first = chase(task, now)
            if first:
                escalated += 1
            audience = {task.agency, city, *([task.escalate_to] if task.escalate_to else [])}
            outbox.emit_unattached(
                batch,
                "standing.overdue" if first else "standing.reminder",
                {"task": read(task).model_dump(mode="json")},
                audience=audience,
                at=now,
            )
    return Chased(escalated, len(claimed) - escalated)
