"""The requisition register of an event (plan 5.3 紧急情况下可依法征用、调用车辆和物资、人员), which
plan 6.3's compensation is paid from (对…紧急调集、征用有关单位的人力、物资、财力…给予补助或补偿).

Who keeps it: the unit holding the event's 5.3 requisition duty (the leading HQ, or the HQ it was
handed to), or a commander of the leading HQ or of one above it. Entries are registered while the
response runs and after it, until the event closes (what was requisitioned is often written down
later, and given back in the aftermath). Each is registered for one 事发地, whose government's
6.3 compensation duty lists it (``service.plan.requisitions``). Every write locks the event, then
the entry, as every command on an event does, and goes on the timeline.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from datetime import datetime
from typing import Final

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models import Action, Event, Requisition
from models.base import utcnow
from service.errors import Conflict, Forbidden, InvalidInput, NotFound, Said
from service.flows.actions.dispatch import scene_of
from service.flows.context import AppContext
from service.flows.response.requisition_schemas import (
    RequisitionCreate,
    RequisitionList,
    RequisitionRead,
    RequisitionReturn,
)
from service.plan.actor import Actor
from service.plan.jurisdiction import lead_or_holder
from service.plan.leadership import acting_hq
from service.plan.requisitions import (
    COMPENSATION_DUTY,
    REQUISITION_DUTY,
    compensates,
    registered_for,
)
from service.playbooks.bundle import Playbooks
from service.store import timeline
from service.store.batch import WriteBatch
from service.store.events import event_time, get_event, lock_child, lock_event
from service.store.transactions import in_transaction

# The event's states in which the register is kept: the response and its aftermath (plan 6).
KEPT_IN: Final = ("response", "terminated")
RULE_STATE: Final = (
    "plan 5.3, 6.3: requisitions are registered from the response until the event closes"
)
RULE_KEEPER: Final = (
    "plan 5.3: the unit holding the requisition duty, or a commander of the leading HQ"
)


async def register(
    context: AppContext, actor: Actor, event_id: uuid.UUID, body: RequisitionCreate
) -> RequisitionRead:
    """Register one thing requisitioned for the event; the answer is the entry."""
    playbooks = context.playbooks

    async def work(session: AsyncSession) -> RequisitionRead:
        async with WriteBatch(session) as batch:
            actor.require("agency", "commander")
            event = await lock_event(session, event_id)
            await _require_keeper(session, playbooks, actor, event, Said("登记征用"))
            _require_kept(event)
            now = event_time(event, utcnow())
            agency = _requisitioner(body.agency, actor, event, playbooks)
            await _check_region(session, event, body.region)
            _check_moment("requisitioned_at", body.requisitioned_at, event, now, context)
            entry = Requisition(
                id=uuid.uuid4(),
                event_id=event.id,
                kind=body.kind,
                what=body.what,
                owner=body.owner,
                quantity=body.quantity,
                unit=body.unit,
                requisitioned_at=body.requisitioned_at,
                agency=agency,
                region=body.region,
                note=body.note,
                actor_id=actor.id,
                actor=actor.label,
                recorded_at=now,
            )
            batch.add_object(entry)
            timeline.record(
                batch,
                event,
                "requisition_recorded",
                actor,
                f"{agency} requisitioned {body.quantity} {body.unit} of {body.what} "
                f"from {body.owner} for {body.region}",
                clause="5.3",
                at=now,
                requisition_id=str(entry.id),
                requisitioned=body.kind,
                what=body.what,
                owner=body.owner,
                quantity=str(body.quantity),
                unit=body.unit,
                agency=agency,
                region=body.region,
                requisitioned_at=body.requisitioned_at.isoformat(),
            )
        return RequisitionRead.of(entry)

    return await in_transaction(context.sessions, work)


async def mark_returned(
    context: AppContext, actor: Actor, requisition_id: uuid.UUID, body: RequisitionReturn
) -> RequisitionRead:
    """Register that an entry was given back (归还); the answer is the entry."""
    playbooks = context.playbooks

    async def work(session: AsyncSession) -> RequisitionRead:
        async with WriteBatch(session) as batch:
            actor.require("agency", "commander")
            event, entry = await lock_child(session, Requisition, requisition_id)
            what = Said("登记征用归还")
            try:
                await _require_keeper(session, playbooks, actor, event, what)
            except NotFound as exc:  # the event is not the agency's: nor is its register
                raise NotFound(Said("征用登记 {id} 不存在", id=requisition_id)) from exc
            _require_kept(event)
            if entry.returned_at is not None:
                raise Conflict(
                    Said("此项征用已登记归还（{by}）", by=entry.returned_by or ""),
                    rule=RULE_STATE,
                )
            now = event_time(event, utcnow())
            returned = body.returned_at or now
            _check_moment("returned_at", returned, event, now, context)
            if returned < entry.requisitioned_at:
                raise InvalidInput("returned_at", Said("归还时间早于征用时间"))
            entry.returned_at, entry.return_note, entry.returned_by = (
                returned,
                body.note,
                actor.label,
            )
            timeline.record(
                batch,
                event,
                "requisition_returned",
                actor,
                f"{entry.what} returned to {entry.owner}",
                clause="5.3",
                at=now,
                requisition_id=str(entry.id),
                what=entry.what,
                owner=entry.owner,
                region=entry.region,
                returned_at=returned.isoformat(),
                note=body.note,
            )
        return RequisitionRead.of(entry)

    return await in_transaction(context.sessions, work)


async def list_requisitions(
    context: AppContext, actor: Actor, event_id: uuid.UUID
) -> RequisitionList:
    """The event's register, in the order requisitioned. Every role but an agency reads it
    whole; an agency reads it whole when it holds the 5.3 requisition duty, and the entries it
    compensates when it holds the 6.3 compensation duty (403 for any other agency)."""
    async with context.read_sessions() as session:
        event = await get_event(session, actor, event_id)  # 404 for an event not the caller's
        entries = await _entries(session, event.id)
        if actor.role != "agency" or actor.agency is None:
            return RequisitionList(items=entries)
        held = await _duties_held(session, event.id, actor.agency)
        if REQUISITION_DUTY in held:
            return RequisitionList(items=entries)
        if COMPENSATION_DUTY in held:
            government = _region_of(context.playbooks, actor.agency)
            return RequisitionList(items=_of_area(context.playbooks, government, entries))
        raise Forbidden(
            Said("只有承担预案5.3征用任务或6.3补偿任务的单位可以查看征用登记"),
            rule="plan 5.3, 6.3",
        )


async def to_compensate(
    session: AsyncSession, playbooks: Playbooks, action: Action
) -> list[RequisitionRead] | None:
    """What the 6.3 compensation duty ``action`` compensates: the event's requisitions of its
    government's area (plan 6.3 所在地政府); None for any other duty."""
    if action.key != COMPENSATION_DUTY:
        return None
    government = _region_of(playbooks, action.agency)
    return _of_area(playbooks, government, await _entries(session, action.event_id))


async def _entries(session: AsyncSession, event_id: uuid.UUID) -> list[RequisitionRead]:
    rows = await session.scalars(
        select(Requisition)
        .where(Requisition.event_id == event_id)
        .order_by(Requisition.requisitioned_at, Requisition.recorded_at, Requisition.id)
    )
    return [RequisitionRead.of(row) for row in rows]


def _of_area(
    playbooks: Playbooks, government: str | None, entries: list[RequisitionRead]
) -> list[RequisitionRead]:
    if government is None:
        return []
    return [e for e in entries if compensates(government, e.region, playbooks.grids)]


def _region_of(playbooks: Playbooks, agency: str) -> str | None:
    """The region of the government an HQ's code stands for (plan 5.5: once dissolved, its code
    stands for its government)."""
    found = playbooks.agencies.get(agency)
    return found.region if found is not None else None


async def _duties_held(session: AsyncSession, event_id: uuid.UUID, agency: str) -> set[str]:
    """The keys of the register's two duties that ``agency`` holds at the event, in any state."""
    keys = await session.scalars(
        select(Action.key).where(
            Action.event_id == event_id,
            Action.agency == agency,
            Action.key.in_((REQUISITION_DUTY, COMPENSATION_DUTY)),
        )
    )
    return set(keys)


async def _require_keeper(
    session: AsyncSession, playbooks: Playbooks, actor: Actor, event: Event, what: Said
) -> None:
    """The caller keeps the event's register: a commander of the leading HQ (the city's before
    any leads) or above; or the agency holding the 5.3 requisition duty. An agency holding no
    duty of the event does not see it (404)."""
    lead = acting_hq(event.leading_hq)
    if lead_or_holder(actor, lead, playbooks.grids, what, "5.3", holders=("agency",)) == "lead":
        return
    agency = actor.agency or ""
    seen = await session.scalar(
        select(Action.key).where(Action.event_id == event.id, Action.agency == agency).limit(1)
    )
    if seen is None:
        raise NotFound(Said("事件 {id} 不存在", id=event.id))
    if REQUISITION_DUTY not in await _duties_held(session, event.id, agency):
        raise Forbidden(
            Said("{what}：只有承担预案5.3征用任务的单位或牵头指挥部的指挥长可以办理", what=what),
            rule=RULE_KEEPER,
        )


def _require_kept(event: Event) -> None:
    if event.state not in KEPT_IN:
        raise Conflict(
            Said(
                "只能在应急响应中或其后期处置中登记征用；此事件处于“{state}”",
                state=event.state,
            ),
            state=event.state,
            rule=RULE_STATE,
        )


def _requisitioner(named: str | None, actor: Actor, event: Event, playbooks: Playbooks) -> str:
    """The unit that requisitioned: as named (a unit of agencies.yaml), else the caller's
    agency, else the HQ leading the event (a commander registering it)."""
    if named is not None:
        if not playbooks.agencies.is_real(named):
            raise InvalidInput(
                "agency", Said("没有单位 {agency}（见 agencies.yaml）", agency=named)
            )
        return named
    if actor.agency is not None:
        return actor.agency
    return playbooks.agencies.hq_for_region(acting_hq(event.leading_hq))


async def _check_region(session: AsyncSession, event: Event, region: str) -> None:
    """The entry's 事发地 is one whose government the 6.3 compensation duty goes to."""
    local: Collection[str] = (await scene_of(session, event)).local
    if not registered_for(region, tuple(local)):
        raise InvalidInput(
            "region",
            Said(
                "{region} 不是本事件的事发地，其政府不承担补偿；可登记为：{allowed}",
                region=region,
                allowed=", ".join(local),
            ),
        )


def _check_moment(
    field: str, moment: datetime, event: Event, now: datetime, context: AppContext
) -> None:
    """A moment of the register lies within the event: not before it opened, nor later than
    now (give or take the future tolerance reports have)."""
    if moment > now + context.settings.future_tolerance:
        raise InvalidInput(field, Said("{field} 晚于当前时间", field=field))
    if moment < event.opened_at:
        raise InvalidInput(field, Said("{field} 早于事件开启", field=field))
