"""Filling a database to a step of the growth table (``benchmarks.growth``), fast and consistent.

Filler events are written in process through the service's own store, one transaction per
``CHUNK`` events, never over HTTP (a province's worth of reports one by one would take hours):

* each event is a level-IV response at one county (not the counties the probes report on), its
  grid at 45 % load lost, opened with its ``event_opened`` entry;
* its actions are what ``service.flows.actions.dispatch.dispatch`` gives level IV's immediate
  checklist there (the rows, their ``actions_dispatched`` entries, the agencies' feeds moved);
* the rest of its timeline is ``action_noted`` entries, each agency noting progress on its own
  actions in turn, written by ``service.store.timeline.record``: every entry is chained to the
  one before, and the event's head (``timeline_seq``, ``timeline_hash``) is the last one's, so
  ``audit verify`` holds over the whole database;
* an event that is not to stay open is then closed: its actions done, ``closed_at`` set.

All rows go through a ``WriteBatch`` (one round trip per chunk's statements).
"""

from __future__ import annotations

import itertools
import math
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Final

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from benchmarks.dispatch_cost import bench_actor
from models import Action, Event, EventGrid
from models.base import table_of
from service.flows.actions.dispatch import dispatch, response_items
from service.flows.context import AppContext
from service.plan.actor import Actor
from service.plan.addressees import Scene
from service.plan.lifecycle import OPEN_EVENT_STATES
from service.playbooks.checklists import ChecklistItem
from service.store.batch import WriteBatch
from service.store.timeline import record

# The counties filler events hit: neither 柯桥区 (330603, the reports' event) nor 越城区 (330602,
# the event whose timeline and evaluation are read), so no probe report ever joins one.
FILLER_COUNTIES: Final = ("330604", "330624", "330681", "330683")
CITY_HQ: Final = "330600"
CHUNK: Final = 50  # filler events per transaction
LOAD_MW: Final = Decimal("200")
LOST_MW: Final = Decimal("90")  # 45 %: level IV at a county


@dataclass(frozen=True)
class Step:
    """A step of the growth table: how many actions and timeline entries the database holds in
    all, and how many events are open (the two probe events included)."""

    actions: int
    entries: int
    open_events: int

    @property
    def label(self) -> str:
        return f"{_short(self.actions)}a/{_short(self.entries)}t/{self.open_events}o"


def _short(n: int) -> str:
    for size, unit in ((1_000_000, "M"), (1_000, "k")):
        if n >= size and n % (size // 10) == 0:
            return f"{n / size:g}{unit}"
    return str(n)


def parse_steps(spec: str) -> list[Step]:
    """``"1000:10000:5,10000:100000:50"`` → steps (actions:entries:open events), each at
    least the one before."""
    steps = []
    for part in spec.split(","):
        actions, entries, open_events = (int(x) for x in part.strip().split(":"))
        steps.append(Step(actions, entries, open_events))
    for before, after in itertools.pairwise(steps):
        if min(after.actions - before.actions, after.entries - before.entries) < 0 or (
            after.open_events < before.open_events
        ):
            raise ValueError(f"growth steps must grow: {spec}")
    if not steps or min(s.open_events for s in steps) < 2:
        raise ValueError("each growth step keeps the two probe events open (open events ≥ 2)")
    return steps


@dataclass
class Filled:
    """What the database holds so far, probes included (``Filler.counts``)."""

    events: int = 0
    open_events: int = 0
    actions: int = 0
    entries: int = 0
    closed_ids: list[uuid.UUID] = field(default_factory=list)


class Filler:
    """Adds filler events to a database until it holds a step's actions, entries and open
    events (``fill_to``)."""

    def __init__(self, context: AppContext, commander: Actor, now: datetime) -> None:
        self.context = context
        self.commander = commander
        self.agencies: dict[str, Actor] = {}  # a token's actor per agency, who notes its actions
        self.items: list[ChecklistItem] = [
            item
            for item in response_items(context.playbooks, "IV")
            if item.after is None and item.when is None
        ]
        self.clock = now - timedelta(days=365)  # filler events lie in the past, a minute apart
        self.made = 0

    async def counts(self) -> Filled:
        async with self.context.read_sessions() as session:
            events = (await session.execute(select(func.count()).select_from(Event))).scalar_one()
            opened = (
                await session.execute(
                    select(func.count()).where(Event.state.in_(OPEN_EVENT_STATES))
                )
            ).scalar_one()
            actions = (await session.execute(select(func.count()).select_from(Action))).scalar_one()
            entries = (
                await session.execute(select(func.coalesce(func.sum(Event.timeline_seq), 0)))
            ).scalar_one()
        return Filled(events, opened, actions, int(entries))

    async def fill_to(self, step: Step) -> Filled:
        """Add filler events until the database holds ``step``'s actions (rounded up to whole
        events), about its entries, and its open events."""
        now = await self.counts()
        per_event = await self._actions_per_event()
        new_events = max(math.ceil((step.actions - now.actions) / per_event), 0)
        new_open = max(step.open_events - now.open_events, 0)
        new_events = max(new_events, new_open)
        if new_events == 0:
            return now
        entries_each = max((step.entries - now.entries) // new_events, 0)
        made = 0
        while made < new_events:
            size = min(CHUNK, new_events - made)
            opens = max(min(new_open - made, size), 0)
            await self._chunk(size, opens, entries_each)
            made += size
        await self._settle()
        return await self.counts()

    async def _settle(self) -> None:
        """PostgreSQL: VACUUM ANALYZE, which autovacuum would do within minutes of a load this
        size; measured before it, the plans rest on the empty tables' statistics and the
        indexes on the closing's dead rows. SQLite keeps no statistics unless asked (the service
        never asks), so it is measured as it is."""
        if self.context.settings.is_sqlite:
            return
        async with self.context.engine.connect() as connection:
            vacuuming = await connection.execution_options(isolation_level="AUTOCOMMIT")
            await vacuuming.exec_driver_sql("VACUUM ANALYZE")

    async def _actions_per_event(self) -> int:
        """How many actions one filler event holds: learnt from the first one made."""
        if self.made == 0:
            await self._chunk(1, 0, 0)
        async with self.context.read_sessions() as session:
            first = (await session.execute(select(Event.id).order_by(Event.opened_at))).scalar()
            rows = await session.execute(select(Action.id).where(Action.event_id == first))
            return max(len(rows.all()), 1)

    async def _chunk(self, size: int, opens: int, entries_each: int) -> None:
        """``size`` events (the first ``opens`` left open) in one transaction."""
        events: list[Event] = []
        async with self.context.sessions() as session:
            async with WriteBatch(session) as batch:
                for n in range(size):
                    events.append(self._event(batch, self.made + n, still_open=n < opens))
                for event in events:
                    county = self._county_of(event)
                    scene = Scene(county, (county,))
                    await dispatch(
                        session,
                        batch,
                        self.context.playbooks,
                        event,
                        self.items,
                        self.commander,
                        event.opened_at,
                        scene,
                    )
            await session.commit()
            if entries_each > 0:
                await self._notes(session, events, entries_each)
            closed = [e.id for e in events if e.state == "closed"]
            if closed:
                await session.execute(
                    update(Action)
                    .where(Action.event_id.in_(closed))
                    .values(state="done", completed_at=Action.dispatched_at)
                )
                await session.commit()
        self.made += size

    def _event(self, batch: WriteBatch, n: int, *, still_open: bool) -> Event:
        at = self.clock + timedelta(minutes=n)
        county = FILLER_COUNTIES[n % len(FILLER_COUNTIES)]
        event = Event(
            id=uuid.uuid4(),
            state="response" if still_open else "closed",
            level="IV",
            peak_level="IV",
            response_level="IV",
            leading_hq=county,
            opened_at=at,
            updated_at=at,
            closed_at=None if still_open else at + timedelta(hours=12),
            basis=[],
        )
        batch.add_object(event)
        grid = {
            "event_id": event.id,
            "region": county,
            "scope": "county",
            "load_mw": LOAD_MW,
            "load_lost_mw": LOST_MW,
            "customers": None,
            "customers_out": None,
            "observed_at": at,
            "peak_load_lost_mw": LOST_MW,
            "peak_customers_out": None,
        }
        batch.add(table_of(EventGrid), [grid])
        record(batch, event, "event_opened", self.commander, "event opened", clause="1.5", at=at)
        return event

    def _county_of(self, event: Event) -> str:
        return event.leading_hq or CITY_HQ

    async def _notes(
        self, session: AsyncSession, events: Sequence[Event], entries_each: int
    ) -> None:
        """Each event's timeline up to ``entries_each`` entries with its agencies' notes."""
        ids = [e.id for e in events]
        rows = await session.execute(
            select(Action.id, Action.event_id, Action.agency, Action.key, Action.clause)
            .where(Action.event_id.in_(ids))
            .order_by(Action.event_id, Action.key, Action.agency)
        )
        found = rows.all()
        await session.commit()  # the read's transaction ends before a token is made beside it
        held: dict[uuid.UUID, list[tuple[str, str, str, str]]] = {}
        for row in found:
            if self.context.playbooks.agencies.is_real(row.agency):
                if row.agency not in self.agencies:
                    self.agencies[row.agency] = await bench_actor(
                        self.context, "agency", agency=row.agency
                    )
                held.setdefault(row.event_id, []).append(
                    (str(row.id), row.agency, row.key, row.clause)
                )
        async with WriteBatch(session) as batch:
            for event in events:
                actions = held.get(event.id, [])
                for n in range(max(entries_each - event.timeline_seq, 0) if actions else 0):
                    action_id, agency, key, clause = actions[n % len(actions)]
                    record(
                        batch,
                        event,
                        "action_noted",
                        self.agencies[agency],
                        f"{agency} noted {key}",
                        clause=clause,
                        at=event.opened_at + timedelta(seconds=n + 1),
                        action_id=action_id,
                        agency=agency,
                        key=key,
                        note=f"#{n + 1}",
                    )
        await session.commit()
