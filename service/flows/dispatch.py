"""Dispatching duty checklists as actions (design.md "Dispatch moments").

Each dispatch is a fixed number of statements whatever the number of items: one read of the keys
the event already has (none for an event not written yet), at most one bulk UPDATE, one bump of
the agencies' poll counters; the new actions and timeline entries go in the transaction's write
batch (service.store.batch), written with its other new rows in one round trip.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy import case, literal, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from models import Action, Event
from models.base import table_of
from service.plan.actor import Actor
from service.plan.duties import RESPONSE_PHASES, Phase
from service.plan.levels import Level
from service.playbooks.agencies import LEADING_HQ
from service.playbooks.bundle import Playbooks
from service.playbooks.checklists import ChecklistItem
from service.store import feeds, timeline
from service.store.batch import WriteBatch

PHASE_CLAUSE: Final[dict[Phase, str]] = {
    "warning": "3.2.2.2",
    "first_response": "5.2",
    "response": "5.2",
    "post_event": "6",
}


def response_items(playbooks: Playbooks, level: Level) -> list[ChecklistItem]:
    """The first-response and response items of ``level`` (plan 4, 5.2, 5.3, 5.4)."""
    return [
        item for phase in RESPONSE_PHASES for item in playbooks.checklists.items_for(phase, level)
    ]


async def dispatch(
    session: AsyncSession,
    batch: WriteBatch,
    playbooks: Playbooks,
    event: Event,
    items: Sequence[ChecklistItem],
    actor: Actor,
    now: datetime,
    lead_hq: str,
) -> int:
    """Dispatch the items this event does not have yet (by key); reopen cancelled ones.

    Returns how many actions were created or reopened. ``leading-hq`` items go to the agency of
    ``lead_hq``: the HQ leading the response, or the one that published a warning.
    """
    if not items:
        return 0
    have: dict[str, str] = {}
    if not batch.holds(event):  # an event not written yet has no actions
        found = await session.execute(
            select(Action.key, Action.state).where(Action.event_id == event.id)
        )
        have = {key: state for key, state in found}
    fresh = [item for item in items if item.key not in have]
    reopen = {item.key: item for item in items if have.get(item.key) == "cancelled"}
    version = playbooks.checklists.version
    rows: list[dict[str, Any]] = [
        {
            "id": uuid.uuid4(),
            "event_id": event.id,
            "key": item.key,
            "agency": _agency_of(playbooks, item, lead_hq),
            "phase": item.phase,
            "level": event.response_level if item.phase != "warning" else None,
            "clause": item.clause,
            "title": item.title,
            "detail": item.detail,
            "state": "pending",
            "playbook_version": version,
            "dispatched_at": now,
            "due_at": now + timedelta(minutes=item.due_minutes),
            "updated_at": now,
        }
        for item in fresh
    ]
    batch.add(table_of(Action), rows)
    touched: set[str] = {row["agency"] for row in rows}
    if reopen:
        # A level that comes back brings its duties back as new: pending, due the item's minutes
        # from now, not yet acknowledged or escalated. The cancellation stays in the timeline.
        due = {
            key: literal(now + timedelta(minutes=item.due_minutes), table_of(Action).c.due_at.type)
            for key, item in reopen.items()
        }
        reopened = await session.scalars(
            update(Action)
            .where(Action.event_id == event.id, Action.key.in_(list(reopen)))
            .values(
                state="pending",
                cancelled_at=None,
                cancel_reason=None,
                acknowledged_at=None,
                completed_at=None,
                escalated_at=None,
                dispatched_at=now,
                due_at=case(due, value=Action.key),
                updated_at=now,
            )
            .returning(Action.agency)
            .execution_options(synchronize_session=False)
        )
        touched.update(reopened)
    await feeds.touch(session, touched, now)
    count = len(fresh) + len(reopen)
    if count:
        phases = sorted({item.phase for item in items})
        timeline.record(
            batch,
            event,
            "actions_dispatched",
            actor,
            f"{count} action(s) dispatched ({', '.join(phases)})",
            clause=PHASE_CLAUSE[phases[0]],
            at=now,
            keys=[item.key for item in fresh] + list(reopen),
            playbook_version=version,
        )
    return count


async def cancel_open(
    session: AsyncSession,
    batch: WriteBatch,
    event: Event,
    *,
    phases: Sequence[str],
    states: Sequence[str],
    keep_keys: Sequence[str] | None,
    reason: str,
    actor: Actor,
    now: datetime,
    clause: str,
) -> int:
    """Cancel the event's actions in ``phases`` and ``states`` whose key is not in ``keep_keys``."""
    query = (
        update(Action)
        .where(
            Action.event_id == event.id,
            Action.phase.in_(phases),
            Action.state.in_(states),
        )
        .values(state="cancelled", cancelled_at=now, cancel_reason=reason, updated_at=now)
        .returning(Action.key, Action.agency)
        .execution_options(synchronize_session=False)
    )
    if keep_keys is not None:
        query = query.where(Action.key.not_in(keep_keys))
    rows = (await session.execute(query)).all()
    cancelled = [key for key, _agency in rows]
    await feeds.touch(session, {agency for _key, agency in rows}, now)
    if cancelled:
        timeline.record(
            batch,
            event,
            "actions_cancelled",
            actor,
            f"{len(cancelled)} action(s) cancelled: {reason}",
            clause=clause,
            at=now,
            keys=sorted(cancelled),
            reason=reason,
        )
    return len(cancelled)


async def hand_over(
    session: AsyncSession,
    batch: WriteBatch,
    playbooks: Playbooks,
    event: Event,
    lead_hq: str,
    actor: Actor,
    now: datetime,
) -> int:
    """Give the pending ``leading-hq`` duties to the HQ that now leads at the same level
    (plan 2.2: across districts the city organises); acknowledged ones stay with whoever took
    them up. A change of level does not hand over: a county keeps its own area's duties under
    the city's command (plan 2.2), and the new level brings the new lead's items."""
    keys = [key for key, item in playbooks.checklists.by_key.items() if item.agency == LEADING_HQ]
    agency = playbooks.agencies.hq_for_region(lead_hq)
    moving = (
        await session.execute(
            select(Action.key, Action.agency).where(
                Action.event_id == event.id,
                Action.state == "pending",
                Action.key.in_(keys),
                Action.agency != agency,
            )
        )
    ).all()
    if not moving:
        return 0
    await session.execute(
        update(Action)
        .where(Action.event_id == event.id, Action.key.in_([key for key, _ in moving]))
        .values(agency=agency, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    await feeds.touch(session, {old for _, old in moving} | {agency}, now)
    timeline.record(
        batch,
        event,
        "actions_handed_over",
        actor,
        f"{len(moving)} pending duty(ies) of the leading HQ handed to {agency}",
        clause="2.2",
        at=now,
        keys=sorted(key for key, _ in moving),
        agency=agency,
    )
    return len(moving)


def _agency_of(playbooks: Playbooks, item: ChecklistItem, lead_hq: str) -> str:
    if item.agency != LEADING_HQ:
        return item.agency
    return playbooks.agencies.hq_for_region(lead_hq)
