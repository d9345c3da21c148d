"""Dispatching duty checklists as actions (design § Dispatch).

An item goes to the units its agency names at the event as it stands (``Scene``: the leading HQ,
the counties hit; service.plan.addressees), once per unit; one that follows another (``after``)
waits until that one is done, and one with a circumstance (``when``) until it holds.

Each dispatch is a fixed number of statements whatever the number of items: one read of the
actions the event already has (none for an event not written yet), at most one bulk UPDATE, one
bump of the agencies' poll counters; the new actions, their ``action.dispatched`` notices and the
timeline entries go in the transaction's write batch (service.store.batch), written with its
other new rows in one round trip.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Final, Literal

from sqlalchemy import and_, case, literal, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from models import Action, Event, EventGrid
from models.base import table_of
from service.flows.actions.schemas import action_json
from service.plan.actor import Actor
from service.plan.addressees import Scene, hit_counties, holds, link_ready, local_regions
from service.plan.clauses import clause_label
from service.plan.duties import PHASES, RESPONSE_PHASES
from service.plan.leadership import CITY_HQ, acting_hq
from service.plan.levels import Level, event_grade
from service.playbooks.agencies import LEADING_HQ
from service.playbooks.bundle import Playbooks
from service.playbooks.checklists import ChecklistItem
from service.store import feeds, outbox, timeline
from service.store.batch import WriteBatch

Held = dict[str, dict[str, str]]
"""An event's actions: key → agency → state."""


def started_items(playbooks: Playbooks, event: Event) -> list[ChecklistItem]:
    """What the event's response owes from its start: the first-response and response items of
    its response level (plan 4, 5.2, 2.2–2.5), and the post-event ones that begin with it (plan
    6.2's investigation group) at the event's grade, not the response's level: plan 6 goes
    "根据事件分级" (service.plan.levels.event_grade). None before a response."""
    level = event.response_level
    if level is None:
        return []
    grade = event_grade(event.peak_level, level) or level
    return [
        item
        for item in playbooks.checklists
        if item.dispatched_at == "started"
        and (grade if item.phase == "post_event" else level) in item.levels
    ]


def response_items(playbooks: Playbooks, level: Level) -> list[ChecklistItem]:
    """The first-response and response items of ``level`` (plan 4, 5.2, 5.3, 5.4)."""
    started = playbooks.checklists.items_at("started", level)
    return [item for item in started if item.phase in RESPONSE_PHASES]


async def scene_of(
    session: AsyncSession, event: Event, *, lead: str | None = None, reconstruction: bool = False
) -> Scene:
    """The event as it stands, read from its grids: who leads (``lead``, when it is about to
    change), which counties are hit."""
    rows = await session.execute(
        select(
            EventGrid.scope,
            EventGrid.region,
            EventGrid.peak_load_lost_mw,
            EventGrid.peak_customers_out,
        ).where(EventGrid.event_id == event.id)
    )
    counties = hit_counties((scope, region, lost, out) for scope, region, lost, out in rows)
    return Scene(lead or acting_hq(event.leading_hq), local_regions(counties), reconstruction)


@dataclass(frozen=True, slots=True)
class Run:
    """One run of plan 4's chain (design § Reporting chain): its number on the event (1, 2 …)
    and the area it reports on, a county hit or the city when none is named (None: a run from
    before runs had an area, which reports on the event's areas as they stand)."""

    number: int
    regarding: str | None


# Why a run of the chain starts: the response starts (首报), a county is hit anew during it, the
# level changes (续报 at the new level), the response ends (终报).
RunReason = Literal["start", "county", "level", "end"]


@dataclass(frozen=True, slots=True)
class _Planned:
    item: ChecklistItem
    agency: str
    reopen: bool
    # The unit whose action comes back (reopen): another than ``agency`` when a leading-hq
    # duty comes back to the HQ that leads now.
    holder: str = ""
    run: Run | None = None


# What a moment that sets duties going brings back: a duty a lowering or a lifting cancelled, or
# one a level change superseded (its job another item's at that level, design § Dispatch).
REOPENED: Final[tuple[str, ...]] = ("cancelled", "superseded")


def _plan(
    playbooks: Playbooks,
    items: Sequence[ChecklistItem],
    scene: Scene,
    held: Held,
    reopen: bool,
    run: Run | None = None,
) -> list[_Planned]:
    """The actions to create or reopen: every unit each item names at ``scene`` that has no
    open or done action of it yet (nor a cancelled or superseded one, unless ``reopen``), whose
    circumstance holds and whose link before it is done (within ``run``: ``held`` is its
    actions).

    A ``leading-hq`` item is one duty whoever holds it (a hand-over moves it): any action of its
    key counts, and one that comes back comes to the HQ that leads now. Any other is one duty
    per unit.
    """
    candidates: list[_Planned] = []
    for item in items:
        if item.when is not None and not holds(item.when, scene):
            continue
        for agency in playbooks.agencies.addressees(item.agency, scene):
            states = held.get(item.key, {})
            holder = agency
            if item.agency == LEADING_HQ and states:
                holder, state = next(iter(states.items()))
                if not (reopen and state in REOPENED):
                    agency = holder
            else:
                state = states.get(agency, "")
            if state == "" or (reopen and state in REOPENED):
                candidates.append(_Planned(item, agency, state in REOPENED, holder, run))
    # What would go out now, waiting or not, counts as pending for the links that follow it.
    seen: Held = {key: dict(states) for key, states in held.items()}
    for planned in candidates:
        seen.setdefault(planned.item.key, {})[planned.agency] = "pending"
    after = playbooks.checklists.after
    return [
        p
        for p in candidates
        if p.item.after is None or link_ready(p.item.key, p.agency, after, seen)
    ]


async def _held(session: AsyncSession, batch: WriteBatch, event: Event) -> dict[int, Held]:
    """The event's actions by run (0: those of no run of plan 4's chain): one read, none for an
    event not written yet."""
    held: dict[int, Held] = {}
    if not batch.holds(event):  # an event not written yet has no actions
        found = await session.execute(
            select(Action.key, Action.agency, Action.state, Action.run).where(
                Action.event_id == event.id
            )
        )
        for key, agency, state, run in found:
            held.setdefault(run, {}).setdefault(key, {})[agency] = state
    return held


async def dispatch(
    session: AsyncSession,
    batch: WriteBatch,
    playbooks: Playbooks,
    event: Event,
    items: Sequence[ChecklistItem],
    actor: Actor,
    now: datetime,
    scene: Scene,
    *,
    reopen: bool = True,
    runs: RunReason | None = None,
    areas: Sequence[str] | None = None,
) -> int:
    """Dispatch what of ``items`` the event does not have yet, and (``reopen``) bring back its
    cancelled or superseded duties: a moment that sets duties going (a level, a warning
    published) brings back what an earlier lowering or lifting cancelled; one that only fills
    in (a link released, a county hit anew, a lead taken) leaves a commander's cancellation
    alone.

    The links of plan 4's chain among ``items`` go out only in new runs of the chain, one per
    area (``areas``, by default the 事发地 of ``scene``: each county hit, or the city), started
    for ``runs`` (why); without it they stay where they are (``release_links`` moves a run on).

    Returns how many actions were created or reopened. Each phase's dispatch is one timeline
    entry citing the clauses of its items; each run's start is one (``report_run_started``)
    before its own dispatch's.
    """
    if not items:
        return 0
    held = await _held(session, batch, event)
    chain = playbooks.checklists.chain
    plain = [item for item in items if item.key not in chain]
    planned = _plan(playbooks, plain, scene, held.get(0, {}), reopen)
    started: list[Run] = []
    links = [
        item for item in items if item.key in chain and item.skip_from is None and runs is not None
    ]
    if links:
        number = max(held, default=0)
        for area in areas if areas is not None else scene.local:
            run = Run(number + 1, area)
            in_run = _plan(playbooks, links, replace(scene, local=(area,)), {}, False, run)
            if in_run:
                number += 1
                started.append(run)
                planned += in_run
    return await _put(session, batch, playbooks, event, planned, actor, now, started, runs)


async def _put(
    session: AsyncSession,
    batch: WriteBatch,
    playbooks: Playbooks,
    event: Event,
    planned: Sequence[_Planned],
    actor: Actor,
    now: datetime,
    started: Sequence[Run] = (),
    why: RunReason | None = None,
) -> int:
    """Write what ``planned`` says: the new actions in the batch, the reopened ones by one
    UPDATE, a notice each, the agencies' poll counters, the timeline entries."""
    fresh = [p for p in planned if not p.reopen]
    reopened = [p for p in planned if p.reopen]
    version = playbooks.checklists.version
    rows: list[dict[str, Any]] = [
        {
            "id": uuid.uuid4(),
            "event_id": event.id,
            "key": p.item.key,
            "agency": p.agency,
            "phase": p.item.phase,
            "level": event.response_level if p.item.phase in LEVELLED else None,
            "clause": p.item.clause,
            "title": p.item.title,
            "detail": p.item.detail,
            "state": "pending",
            "playbook_version": version,
            "dispatched_at": now,
            "due_at": now + timedelta(minutes=p.item.due_minutes),
            "due_on": p.item.due_on,
            "escalate_to": p.item.escalate_to,
            "requires": p.item.requires,
            "updated_at": now,
            "run": p.run.number if p.run else 0,
            "regarding": p.run.regarding if p.run else None,
        }
        for p in fresh
    ]
    batch.add(table_of(Action), rows)
    touched: set[str] = {row["agency"] for row in rows}
    if reopened:
        rows += await _reopen(session, event, reopened, now)
        touched.update(p.agency for p in reopened)
        touched.update(p.holder for p in reopened)
    for row in rows:
        # One notice per action, heard by its agency's subscriptions (design § Notifications).
        outbox.emit(
            batch,
            event,
            "action.dispatched",
            audience=[row["agency"]],
            extra={"action": action_json(row, drill=bool(event.drill))},
            at=now,
        )
    await feeds.touch(session, touched, now)
    for phase in PHASES:
        group = [p for p in planned if p.item.phase == phase and p.run is None]
        if group:
            _record(batch, event, actor, now, phase, group, version)
    runs = list(dict.fromkeys(p.run for p in planned if p.run is not None))
    for run in runs:
        if run in started:
            timeline.record(
                batch,
                event,
                "report_run_started",
                actor,
                f"plan 4 run {run.number} ({why}) on {run.regarding}",
                clause="4",
                at=now,
                run=run.number,
                regarding=run.regarding,
                reason=why,
                level=event.response_level,
            )
        group = [p for p in planned if p.run == run]
        _record(batch, event, actor, now, group[0].item.phase, group, version, run)
    return len(planned)


# Phases whose actions carry the response level they were dispatched at.
LEVELLED: frozenset[str] = frozenset({"first_response", "response", "post_event"})


async def _reopen(
    session: AsyncSession, event: Event, reopen: Sequence[_Planned], now: datetime
) -> list[dict[str, Any]]:
    # A level that comes back brings its duties back as new: pending, due the item's minutes
    # from now, not yet acknowledged, escalated or reminded; a leading-hq duty with the HQ that
    # leads now. The cancellation (or the superseding) stays in the timeline.
    due = {
        p.item.key: literal(
            now + timedelta(minutes=p.item.due_minutes), table_of(Action).c.due_at.type
        )
        for p in reopen
    }
    moved = [
        (and_(Action.key == p.item.key, Action.agency == p.holder), literal(p.agency))
        for p in reopen
        if p.holder != p.agency
    ]
    to = {"agency": case(*moved, else_=Action.agency)} if moved else {}
    reopened = await session.execute(
        update(Action)
        .where(
            Action.event_id == event.id,
            Action.run == 0,
            tuple_(Action.key, Action.agency).in_([(p.item.key, p.holder) for p in reopen]),
        )
        .values(
            state="pending",
            **to,
            cancelled_at=None,
            cancel_reason=None,
            superseded_at=None,
            acknowledged_at=None,
            completed_at=None,
            escalated_at=None,
            reminded_at=None,
            dispatched_at=now,
            due_at=case(due, value=Action.key),
            updated_at=now,
        )
        .returning(*table_of(Action).c)
        .execution_options(synchronize_session=False)
    )
    return [dict(row._mapping) for row in reopened]


def _record(
    batch: WriteBatch,
    event: Event,
    actor: Actor,
    now: datetime,
    phase: str,
    group: Sequence[_Planned],
    version: str,
    run: Run | None = None,
) -> None:
    keys = list(dict.fromkeys(p.item.key for p in group))
    timeline.record(
        batch,
        event,
        "actions_dispatched",
        actor,
        f"{len(group)} action(s) dispatched ({phase})",
        clause=clause_label(p.item.clause for p in group),
        at=now,
        keys=keys,
        agencies=sorted({p.agency for p in group}),
        phase=phase,
        playbook_version=version,
        **({"run": run.number, "regarding": run.regarding} if run else {}),
    )


async def open_monitoring(
    session: AsyncSession,
    batch: WriteBatch,
    playbooks: Playbooks,
    event: Event,
    actor: Actor,
    now: datetime,
    lead: str = CITY_HQ,
) -> int:
    """Plan 3.2.1: an event that opens sets the power company's monitoring going."""
    items = playbooks.checklists.items_at("opened")
    return await dispatch(session, batch, playbooks, event, items, actor, now, Scene(lead))


async def release_links(
    session: AsyncSession,
    batch: WriteBatch,
    playbooks: Playbooks,
    event: Event,
    action: Action,
    actor: Actor,
    now: datetime,
) -> int:
    """``action`` was done or cancelled: dispatch the links of its run of plan 4's chain that
    were waiting for it (plan 4: each report's clock starts when the one before it is done),
    while the response runs, and after it ended for its final run (终报; by then every other
    run's open links but the receipts are superseded, and a receipt releases nothing). Returns
    how many went out."""
    if action.key not in playbooks.checklists.links or action.run == 0:
        return 0
    if event.state not in ("response", "terminated"):
        return 0
    level = action.level or event.response_level
    if level is None:
        return 0
    chain = playbooks.checklists.chain
    items = [
        i
        for i in playbooks.checklists.items_at("started", level)
        if i.key in chain and i.skip_from is None
    ]
    return await _in_run(session, batch, playbooks, event, action, items, actor, now)


async def run_scene(session: AsyncSession, event: Event, action: Action) -> Scene:
    """The event as ``action``'s run of plan 4's chain sees it: the area it reports on."""
    if action.regarding is None:  # a run from before runs had an area: the event's areas
        return await scene_of(session, event)
    return Scene(acting_hq(event.leading_hq), (action.regarding,))


@dataclass(frozen=True, slots=True)
class Skips:
    """Where a report may go straight (plan 4 必要时可越级上报): the receivers above the links it
    skips (``allowed``), and the units those links name (``passed``)."""

    allowed: tuple[str, ...]
    passed: tuple[str, ...]


def skips(playbooks: Playbooks, key: str, scene: Scene) -> Skips:
    """The receivers a report of ``key`` may go straight to at ``scene`` (its run's area), and
    the units of the links it then skips."""
    checklists = playbooks.checklists
    allowed = [
        agency
        for item in checklists.skips.get(key, ())
        if item.when is None or holds(item.when, scene)
        for agency in playbooks.agencies.addressees(item.agency, scene)
    ]
    passed = [
        agency
        for item in checklists
        if item.after == key
        and item.skip_from is None
        and (item.when is None or holds(item.when, scene))
        for agency in playbooks.agencies.addressees(item.agency, scene)
    ]
    return Skips(tuple(dict.fromkeys(allowed)), tuple(dict.fromkeys(passed)))


async def skip_links(
    session: AsyncSession,
    batch: WriteBatch,
    playbooks: Playbooks,
    event: Event,
    action: Action,
    receivers: Sequence[str],
    actor: Actor,
    now: datetime,
) -> int:
    """Plan 4 必要时可越级上报: ``action``, a report, was done going straight to ``receivers``
    (checked against ``skips``): their receipts go out now in its run, their clocks starting
    now, and the links it skipped never do. Returns how many went out."""
    items = [
        item for item in playbooks.checklists.skips.get(action.key, ()) if item.agency in receivers
    ]
    return await _in_run(session, batch, playbooks, event, action, items, actor, now)


async def _in_run(
    session: AsyncSession,
    batch: WriteBatch,
    playbooks: Playbooks,
    event: Event,
    action: Action,
    items: Sequence[ChecklistItem],
    actor: Actor,
    now: datetime,
) -> int:
    """Dispatch what of ``items`` is ready in ``action``'s run, after ``action`` moved on."""
    scene = await run_scene(session, event, action)
    await session.flush()  # the action's new state, for the read of what the run holds
    run = Run(action.run, action.regarding)
    held = (await _held(session, batch, event)).get(run.number, {})
    planned = _plan(playbooks, items, scene, held, False, run)
    return await _put(session, batch, playbooks, event, planned, actor, now)
