"""The readiness register's flows (service.flows.standing), driven with explicit times on SQLite
and PostgreSQL: the year's duties raised once per unit and year, by any number of workers at
once; an overdue task escalated once, then reminded until it is done (due on its completion, by
the actions' one rule), with notices of no event to its unit, the city's HQ and 市应急办."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update

from models import OutboxMessage, StandingTask
from service.flows.actions.escalation import Chased
from service.flows.context import AppContext
from service.flows.standing.escalation import escalate_standing
from service.flows.standing.register import raise_yearly
from service.plan.standing import year_end

MIDYEAR = datetime(2026, 7, 20, 6, 0, tzinfo=UTC)
# 00:00 on 1 January 2027, Beijing time: the 2026 tasks are due then.
DUE = year_end(2026)
PERIOD = timedelta(minutes=30)


def yearly_pairs(context: AppContext) -> set[tuple[str, str]]:
    """(duty, unit) of every yearly duty of the playbook: one task each per year."""
    return {
        (duty.key, agency)
        for duty in context.playbooks.standing.recurring("yearly")
        for agency in duty.agencies
    }


async def tasks(context: AppContext) -> list[StandingTask]:
    async with context.sessions() as session:
        query = select(StandingTask).order_by(StandingTask.period, StandingTask.key)
        return list(await session.scalars(query))


async def notices(context: AppContext, *types: str) -> list[OutboxMessage]:
    async with context.sessions() as session:
        query = select(OutboxMessage).where(OutboxMessage.type.in_(types))
        return list(await session.scalars(query.order_by(OutboxMessage.created_at)))


async def chase(context: AppContext, now: datetime) -> Chased:
    return await escalate_standing(context.sessions, context.playbooks.agencies, now, PERIOD)


async def test_the_years_duties_are_raised_once_per_unit_and_year(context: AppContext) -> None:
    pairs = yearly_pairs(context)
    assert await raise_yearly(context.sessions, context.playbooks, MIDYEAR) == len(pairs)
    # the job runs again every interval, in every worker: nothing more that year
    assert await raise_yearly(context.sessions, context.playbooks, MIDYEAR + PERIOD) == 0
    raised = await tasks(context)
    assert {(t.key, t.agency) for t in raised} == pairs
    assert {(t.period, t.recurrence, t.state, t.due_at) for t in raised} == {
        ("2026", "yearly", "pending", DUE)
    }
    assert {t.playbook_version for t in raised} == {context.playbooks.checklists.version}
    told = await notices(context, "standing.raised")
    assert Counter((m.data["task"]["key"], *(m.audience or [])) for m in told) == Counter(pairs)
    assert {(m.event_id, m.drill, m.data["drill"]) for m in told} == {(None, False, False)}

    # Beijing's new year, still 31 December in UTC: the 2027 tasks
    assert await raise_yearly(context.sessions, context.playbooks, DUE) == len(pairs)
    assert Counter(t.period for t in await tasks(context)) == {
        "2026": len(pairs),
        "2027": len(pairs),
    }


async def test_workers_raising_at_once_raise_each_task_once(context: AppContext) -> None:
    raised = await asyncio.gather(
        *(raise_yearly(context.sessions, context.playbooks, MIDYEAR) for _ in range(3))
    )
    pairs = yearly_pairs(context)
    assert sum(raised) == len(pairs)
    assert len(await tasks(context)) == len(pairs)
    assert len(await notices(context, "standing.raised")) == len(pairs)


async def test_an_overdue_task_escalates_once_then_is_reminded_until_done(
    context: AppContext,
) -> None:
    await raise_yearly(context.sessions, context.playbooks, MIDYEAR)
    raised = await tasks(context)
    count = len(raised)
    taken_up = next(t for t in raised if t.key == "standing.power-company.drill")
    done = next(t for t in raised if t.key == "standing.economy-it.drill")
    async with context.sessions() as session:
        # the drill taken up but not held; the plan's drill held
        await session.execute(
            update(StandingTask)
            .where(StandingTask.id == taken_up.id)
            .values(state="acknowledged", acknowledged_at=MIDYEAR)
        )
        await session.execute(
            update(StandingTask).where(StandingTask.id == done.id).values(state="done")
        )
        await session.commit()

    assert await chase(context, DUE) == Chased()  # due then, not past it
    second = timedelta(seconds=1)
    # open past due, taken up or not: escalated once
    assert await chase(context, DUE + second) == Chased(escalated=count - 1)
    assert await chase(context, DUE + 2 * second) == Chased()
    assert await chase(context, DUE + PERIOD) == Chased()  # a period after escalating, not before
    # reminded until done: taken up is not done (due on completion, as an action can be)
    assert await chase(context, DUE + PERIOD + second) == Chased(reminded=count - 1)
    # a run after a long pause reminds once, not once per period missed
    assert await chase(context, DUE + timedelta(days=3)) == Chased(reminded=count - 1)
    # done: owes nothing more
    async with context.sessions() as session:
        await session.execute(
            update(StandingTask).where(StandingTask.id == taken_up.id).values(state="done")
        )
        await session.commit()
    assert await chase(context, DUE + timedelta(days=4)) == Chased(reminded=count - 2)

    overdue = await notices(context, "standing.overdue")
    reminders = await notices(context, "standing.reminder")
    assert Counter(m.data["task"]["id"] for m in overdue) == Counter(
        str(t.id) for t in raised if t.id != done.id
    )
    assert Counter(m.data["task"]["id"] for m in reminders)[str(taken_up.id)] == 2
    assert len(reminders) == 2 * (count - 1) + count - 2
    for message in overdue + reminders:
        task = message.data["task"]
        # its unit, the city's government (through its HQ's code), and 市应急办
        assert set(message.audience or ()) == {task["agency"], "hq-city", "emergency-office"}
        assert (message.event_id, message.drill) == (None, False)
        assert task["escalated_at"] is not None
    stored = {t.id: t for t in await tasks(context)}
    assert stored[taken_up.id].reminded_at == DUE + timedelta(days=3)
    assert stored[done.id].escalated_at is None


async def test_workers_chasing_at_once_escalate_each_task_once(context: AppContext) -> None:
    count = await raise_yearly(context.sessions, context.playbooks, MIDYEAR)
    late = DUE + timedelta(seconds=1)
    runs = await asyncio.gather(*(chase(context, late) for _ in range(3)))
    assert sum(run.escalated for run in runs) == count
    assert sum(run.reminded for run in runs) == 0
    assert len(await notices(context, "standing.overdue")) == count
