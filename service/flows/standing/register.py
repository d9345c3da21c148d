"""Raising standing tasks (design § Standing duties): one per duty, unit and period.

- The year's duties (``raise_yearly``), by the app's job, at start and then every escalation
  interval: the tasks of the current year (Beijing time) that are missing, due by its end. The
  unique (key, agency, period) makes it idempotent: run by every worker, each task is raised
  once, and a playbook that gained a duty or a unit mid-year raises just the new ones.
- A revision of the plan (plan 8.1), by an evaluation's finding marked for it
  (``raise_for_finding``, in the finding's transaction): each ``after_findings`` duty, one task
  per unit, naming the finding and its event (a drill's too).
- The counties' revisions (plan 8.1 根据本预案制(修)订), when a revision of the city's plan is done
  (``raise_after_revision``, in that transaction): each ``after_revision`` duty, for each unit
  holding no such task still open (it revises against the plan as it then stands).

Each task raised tells its unit (``standing.raised``), in the transaction that raised it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from models import EvaluationFinding, Event, StandingTask
from service.flows.standing.schemas import task_json
from service.plan.duties import OPEN_STATES
from service.plan.standing import (
    due_after,
    finding_period,
    revision_period,
    year_end,
    year_of,
    yearly_period,
)
from service.playbooks.bundle import Playbooks
from service.playbooks.standing import StandingDuty
from service.store import outbox
from service.store.batch import WriteBatch
from service.store.standing import TASKS, insert_new, lock_raising
from service.store.transactions import in_transaction


def task_row(
    duty: StandingDuty,
    agency: str,
    period: str,
    due_at: datetime,
    version: str,
    now: datetime,
    **source: Any,
) -> dict[str, Any]:
    """A new task's row: every column named, nothing happened to it yet. ``source``: what
    raised it (``event_id``, ``finding_id``, ``from_drill``, ``source_task_id``)."""
    return {
        "id": uuid.uuid4(),
        "key": duty.key,
        "agency": agency,
        "period": period,
        "recurrence": duty.recurrence,
        "clause": duty.clause,
        "title": duty.title,
        "detail": duty.detail,
        "state": "pending",
        "playbook_version": version,
        "raised_at": now,
        "due_at": due_at,
        "acknowledged_at": None,
        "completed_at": None,
        "cancelled_at": None,
        "cancel_reason": None,
        "escalated_at": None,
        "reminded_at": None,
        "escalate_to": duty.escalate_to,
        "note": None,
        "updated_at": now,
        "event_id": None,
        "finding_id": None,
        "from_drill": False,
        "source_task_id": None,
        **source,
    }


def tell_raised(batch: WriteBatch, rows: Iterable[Mapping[str, Any]], now: datetime) -> None:
    """A ``standing.raised`` notice to the unit of each task raised."""
    for row in rows:
        data = {"task": task_json(row)}
        outbox.emit_unattached(batch, "standing.raised", data, audience=[row["agency"]], at=now)


async def raise_yearly(
    sessions: async_sessionmaker[AsyncSession], playbooks: Playbooks, now: datetime
) -> int:
    """Raise the current year's missing tasks; how many were raised. A plain read first finds
    what is missing, so that a year already raised costs one statement and no write."""
    year = year_of(now)
    period = yearly_period(year)
    wanted = {
        (duty.key, agency): duty
        for duty in playbooks.standing.recurring("yearly")
        for agency in duty.agencies
    }
    async with sessions() as session:
        held = (
            await session.execute(
                select(StandingTask.key, StandingTask.agency).where(StandingTask.period == period)
            )
        ).all()
        await session.rollback()
    already = {(key, agency) for key, agency in held}
    missing = [
        task_row(duty, agency, period, year_end(year), playbooks.checklists.version, now)
        for (key, agency), duty in wanted.items()
        if (key, agency) not in already
    ]
    if not missing:
        return 0

    async def work(session: AsyncSession) -> int:
        async with WriteBatch(session) as batch:
            raised = await insert_new(session, missing)
            tell_raised(batch, raised, now)
        return len(raised)

    return await in_transaction(sessions, work)


def raise_for_finding(
    batch: WriteBatch,
    playbooks: Playbooks,
    event: Event,
    finding: EvaluationFinding,
    now: datetime,
) -> list[dict[str, Any]]:
    """The revision tasks a finding marked for revision raises (plan 8.1), added to the
    finding's write batch after the finding itself; their rows."""
    rows = [
        task_row(
            duty,
            agency,
            finding_period(finding.id),
            due_after(now, duty.due_days or 0),
            playbooks.checklists.version,
            now,
            event_id=event.id,
            finding_id=finding.id,
            from_drill=bool(event.drill),
        )
        for duty in playbooks.standing.recurring("after_findings")
        for agency in duty.agencies
    ]
    batch.add(TASKS, rows)
    tell_raised(batch, rows, now)
    return rows


async def raise_after_revision(
    session: AsyncSession,
    batch: WriteBatch,
    playbooks: Playbooks,
    revision: StandingTask,
    now: datetime,
) -> int:
    """The tasks the completion of ``revision`` (a revision of the city's plan) raises: each
    ``after_revision`` duty for each of its units that holds none of it open; how many."""
    rows: list[dict[str, Any]] = []
    for duty in playbooks.standing.recurring("after_revision"):
        await lock_raising(session, duty.key)
        still_open = set(
            await session.scalars(
                select(StandingTask.agency).where(
                    StandingTask.key == duty.key, StandingTask.state.in_(OPEN_STATES)
                )
            )
        )
        rows += [
            task_row(
                duty,
                agency,
                revision_period(revision.id),
                due_after(now, duty.due_days or 0),
                playbooks.checklists.version,
                now,
                source_task_id=revision.id,
            )
            for agency in duty.agencies
            if agency not in still_open
        ]
    batch.add(TASKS, rows)
    tell_raised(batch, rows, now)
    return len(rows)
