"""Overdue actions escalate, then are reminded (design § Deadlines).

An action overdue (service.plan.deadlines.is_overdue: past its due time and still owing what
that time asks for, its acknowledgement or, for one due on completion, its completion) is
escalated once (``escalated_at``, timeline ``action_overdue``, notice ``action.overdue``), then
reminded every ``remind_minutes`` from its escalation or its last reminder (``reminded_at``,
timeline ``action_reminder``, notice ``action.reminder``) until it owes nothing more:
acknowledged (done, for one due on completion) or cancelled. Each
notice goes to the action's agency, the HQ leading the event (the city HQ's before any response,
whose authority applies then) and the item's ``escalate_to`` agency; a drill's notices are marked
drill (service.store.outbox.emit), so that only subscriptions asking for drills hear them.

The app's scheduler (service.app) runs this every ``escalation_interval_seconds`` in every worker,
first at start, for real events. A drill's deadlines pass on its own clock (design § Drills): its
actions are chased when its runner moves that clock on (``chase_drill``), not by the job, whose
time is the service's.
Everything it needs is in the database (``due_at``, ``escalated_at``, ``reminded_at``), so a
restart loses nothing: the first run catches up, with one escalation or one reminder per action
however long the service was down (missed reminders are not sent one after another).

How work is claimed, in the one lock order (the event row, then its actions):

1. a plain read lists the events with due work;
2. each event in a transaction of its own: its row locked ``FOR NO KEY UPDATE SKIP LOCKED``
   (service.store.events.try_lock_event). An event another worker or a writer holds is passed
   over for now, so two workers share the events out instead of queueing on each one;
3. under that lock its due actions are read again, ``FOR NO KEY UPDATE SKIP LOCKED``, and
   changed. The condition read under the lock (``escalated_at`` unset; the last notice older
   than the period) is the claim: no action is escalated or reminded twice for one time;
4. the events passed over are taken at the end of the run, waiting for their lock as every
   writer does, so that an event a storm of reports keeps busy is not starved. Another worker may
   have done their work meanwhile, which step 3 then finds done.

A transaction of the job holds one event and waits for nothing else while holding it but the
agencies' poll counters, in sorted order as every writer takes them: it cannot close a circle
with the report path (grids, then the event, then its children). On SQLite a write transaction
holds the database's one writer lock, so work is claimed one transaction at a time.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from models import Action, Event
from service.errors import NotFound
from service.flows.actions.schemas import owing, past_due, read
from service.flows.duties import chase, chase_due
from service.plan.leadership import acting_hq
from service.plan.notifications import NoticeType
from service.playbooks.agencies import AgencyRegistry
from service.store import feeds, outbox, timeline
from service.store.batch import WriteBatch
from service.store.events import lock_event, try_lock_event
from service.store.transactions import in_transaction


@dataclass(frozen=True, slots=True)
class Chased:
    """What a run (or one event's transaction) did: actions escalated, actions reminded."""

    escalated: int = 0
    reminded: int = 0

    def plus(self, other: Chased) -> Chased:
        return Chased(self.escalated + other.escalated, self.reminded + other.reminded)


async def escalate_overdue(
    sessions: async_sessionmaker[AsyncSession],
    agencies: AgencyRegistry,
    now: datetime,
    remind_every: timedelta,
) -> Chased:
    """Escalate every overdue action not yet escalated, and remind those whose last notice is
    ``remind_every`` old; the module's docstring says how the work is claimed."""
    async with sessions() as session:
        due = await session.scalars(
            select(Action.event_id)
            .join(Event, Event.id == Action.event_id)
            .where(Event.drill_clock.is_(None), _due(now, remind_every))
            .distinct()
        )
        event_ids = sorted(set(due))
        await session.rollback()

    async def chase(event_id: uuid.UUID, wait: bool) -> Chased | None:
        work = partial(
            _chase_event,
            agencies=agencies,
            event_id=event_id,
            now=now,
            remind_every=remind_every,
            wait=wait,
        )
        return await in_transaction(sessions, work)

    done = Chased()
    busy: list[uuid.UUID] = []
    for event_id in event_ids:
        chased = await chase(event_id, wait=False)
        if chased is None:
            busy.append(event_id)
        else:
            done = done.plus(chased)
    for event_id in busy:
        done = done.plus(await chase(event_id, wait=True) or Chased())
    return done


def _due(now: datetime, remind_every: timedelta) -> ColumnElement[bool]:
    return chase_due(Action, owing(), past_due(now), now, remind_every)


async def _chase_event(
    session: AsyncSession,
    *,
    agencies: AgencyRegistry,
    event_id: uuid.UUID,
    now: datetime,
    remind_every: timedelta,
    wait: bool,
) -> Chased | None:
    """One event's due actions, escalated or reminded; None when ``wait`` is false and another
    transaction holds the event."""
    if wait:
        try:
            event = await lock_event(session, event_id)
        except NotFound:  # gone since the read (a test emptying its tables)
            return Chased()
    else:
        found = await try_lock_event(session, event_id)
        if found is None:
            return None
        event = found
    return await _chase_locked(session, agencies, event, now, remind_every)


async def chase_drill(
    session: AsyncSession, agencies: AgencyRegistry, event: Event, remind_every: timedelta
) -> Chased:
    """A drill event's due actions, escalated or reminded at its own clock (design § Drills),
    which its runner has just moved on: the caller holds the event's lock."""
    if event.drill_clock is None:
        raise ValueError(f"event {event.id} keeps no clock of its own")
    return await _chase_locked(session, agencies, event, event.drill_clock, remind_every)


async def _chase_locked(
    session: AsyncSession,
    agencies: AgencyRegistry,
    event: Event,
    now: datetime,
    remind_every: timedelta,
) -> Chased:
    """Escalate or remind ``event``'s actions due at ``now``; the caller holds the event."""
    claimed = list(
        await session.scalars(
            select(Action)
            .where(Action.event_id == event.id, _due(now, remind_every))
            .order_by(Action.key, Action.agency)
            .with_for_update(key_share=True, skip_locked=True)
        )
    )
    escalating = [action for action in claimed if action.escalated_at is None]
    await feeds.touch(session, {action.agency for action in escalating}, now)
    lead = agencies.hq_for_region(acting_hq(event.leading_hq))
    async with WriteBatch(session) as batch:
        for action in claimed:
            _tell(batch, event, action, lead, now, first=chase(action, now))
    return Chased(len(escalating), len(claimed) - len(escalating))


def _tell(
    batch: WriteBatch, event: Event, action: Action, lead: str, now: datetime, *, first: bool
) -> None:
    """The timeline entry and the notice of one escalation (``first``) or reminder."""
    audience = sorted({action.agency, lead, *([action.escalate_to] if action.escalate_to else [])})
    still, done = ("", "escalated") if first else ("still ", "reminded")
    answer = "completed" if action.due_on == "completion" else "acknowledged"
    summary = (
        f"{action.agency} has {still}not {answer} {action.key}, due "
        f"{action.due_at.isoformat()}: {done}"
    )
    timeline.record(
        batch,
        event,
        "action_overdue" if first else "action_reminder",
        None,
        summary,
        clause=action.clause,
        at=now,
        action_id=str(action.id),
        agency=action.agency,
        key=action.key,
        due_on=action.due_on,
        notified=audience,
    )
    shown = read(action, event.drill).model_dump(mode="json")
    notice: NoticeType = "action.overdue" if first else "action.reminder"
    outbox.emit(batch, event, notice, audience=audience, extra={"action": shown}, at=now)
