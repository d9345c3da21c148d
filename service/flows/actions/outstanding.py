"""What becomes of an event's actions already out (design § Dispatch): cancelled when what set
them going is over (a lowering, a termination, a warning lifted, a dismissal); superseded when a
level (or grade) change gives their job to another item, or to none; or, the leading HQ's
pending duties, handed to the HQ that now leads, due afresh. Each is one bulk UPDATE (a hand-over
reads what moves first) and, when it changed anything, a bump of the agencies' poll counters and
one timeline entry (``actions_cancelled``, ``actions_superseded``, ``actions_handed_over``)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from sqlalchemy import case, literal, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from models import Action, Event
from models.base import table_of
from service.flows.actions.dispatch import started_items
from service.plan.actor import Actor
from service.plan.addressees import Scene
from service.plan.duties import OPEN_STATES
from service.plan.levels import event_grade
from service.playbooks.agencies import LEADING_HQ
from service.playbooks.bundle import Playbooks
from service.store import feeds, timeline
from service.store.batch import WriteBatch


async def cancel_open(
    session: AsyncSession,
    batch: WriteBatch,
    event: Event,
    *,
    phases: Sequence[str],
    states: Sequence[str],
    keep_keys: Iterable[str] | None,
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
        query = query.where(Action.key.not_in(list(keep_keys)))
    rows = (await session.execute(query)).all()
    cancelled = sorted({key for key, _agency in rows})
    await feeds.touch(session, {agency for _key, agency in rows}, now)
    if rows:
        timeline.record(
            batch,
            event,
            "actions_cancelled",
            actor,
            f"{len(rows)} action(s) cancelled: {reason}",
            clause=clause,
            at=now,
            keys=cancelled,
            reason=reason,
        )
    return len(rows)


async def supersede(
    session: AsyncSession,
    batch: WriteBatch,
    playbooks: Playbooks,
    event: Event,
    scene: Scene,
    actor: Actor,
    now: datetime,
    clause: str,
) -> int:
    """Settle the duties after a level (or grade) change: the open actions (pending or
    acknowledged) of every item whose job (``job:``) another item does at the event's response
    level (its grade, for plan 6's), or no item, are superseded: no longer open, due or chased.
    The item that does the job now goes out with the caller's dispatch, and a lowering brings
    the lower level's back (dispatch reopens superseded actions as it does cancelled ones).

    The timeline entry (``actions_superseded``) names the keys and who held them, and what
    replaced each: the item and the units it goes to at ``scene`` (none: no longer needed)."""
    level = event.response_level
    grade = event_grade(event.peak_level, level)
    replaced = playbooks.checklists.superseded(level, grade)
    if not replaced:
        return 0
    rows = (
        await session.execute(
            update(Action)
            .where(
                Action.event_id == event.id,
                Action.key.in_(list(replaced)),
                Action.state.in_(OPEN_STATES),
            )
            .values(state="superseded", superseded_at=now, updated_at=now)
            .returning(Action.key, Action.agency)
            .execution_options(synchronize_session=False)
        )
    ).all()
    if not rows:
        return 0
    held: dict[str, list[str]] = {}
    for key, agency in sorted(rows):
        held.setdefault(key, []).append(agency)
    await feeds.touch(session, {agency for _key, agency in rows}, now)
    by: dict[str, dict[str, object] | None] = {}
    for key in held:
        item = replaced[key]
        units = [] if item is None else playbooks.agencies.addressees(item.agency, scene)
        by[key] = {"key": item.key, "agencies": units} if item is not None and units else None
    timeline.record(
        batch,
        event,
        "actions_superseded",
        actor,
        f"{len(rows)} open action(s) superseded at level {level} (grade {grade})",
        clause=clause,
        at=now,
        keys=list(held),
        agencies=sorted({agency for _key, agency in rows}),
        held=held,
        replaced_by=by,
        level=level,
        grade=grade,
    )
    return len(rows)


async def hand_over(
    session: AsyncSession,
    batch: WriteBatch,
    playbooks: Playbooks,
    event: Event,
    lead_hq: str,
    actor: Actor,
    now: datetime,
    clause: str,
) -> int:
    """Give the pending ``leading-hq`` duties of the response's level to the HQ that now leads,
    due afresh from now (the item's minutes) and not yet escalated or reminded: the new holder's
    clock starts when it receives them. Acknowledged ones stay with whoever took them up, and so
    do duties of another level the event still holds (the city's 会商 of a III risen to II stays
    the city's, plan 5.2.2: it responds under the province). A county keeps its own area's
    duties (``county-hq``) whoever leads."""
    in_level = {item.key for item in started_items(playbooks, event)}
    keys = [
        key
        for key, item in playbooks.checklists.by_key.items()
        if item.agency == LEADING_HQ and key in in_level
    ]
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
    due = {
        key: literal(
            now + timedelta(minutes=playbooks.checklists.by_key[key].due_minutes),
            table_of(Action).c.due_at.type,
        )
        for key, _ in moving
    }
    await session.execute(
        update(Action)
        .where(
            Action.event_id == event.id,
            Action.state == "pending",
            Action.key.in_([key for key, _ in moving]),
        )
        .values(
            agency=agency,
            due_at=case(due, value=Action.key),
            escalated_at=None,
            reminded_at=None,
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    await feeds.touch(session, {old for _, old in moving} | {agency}, now)
    timeline.record(
        batch,
        event,
        "actions_handed_over",
        actor,
        f"{len(moving)} pending duty(ies) of the leading HQ handed to {agency}",
        clause=clause,
        at=now,
        keys=sorted(key for key, _ in moving),
        agency=agency,
    )
    return len(moving)
