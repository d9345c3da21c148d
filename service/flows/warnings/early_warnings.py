"""预警 (plan 3.2.2): the grid side proposes, a government HQ publishes, only it lifts.

Plan 3.2.2.1: the power company reports and proposes (and tells the important users as the case
needs), the power authority judges, the government approves and publishes, and the authority
tells the other departments of its level; 3.2.2.2: publishing sets the warning actions going;
3.2.2.3: 谁发布、谁解除, and lifting ends the related measures.

The power authority (电力运行主管部门) is the one of the government concerned: at a proposal, of
the lowest HQ whose grid covers the whole area (the one that may publish it); once published, of
the HQ that published it (service.plan.addressees, ``local-power-authority``).
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models import EarlyWarning, Event
from models.base import utcnow
from service.errors import Conflict, Forbidden, InvalidInput, Said
from service.flows.actions.dispatch import dispatch, open_monitoring
from service.flows.actions.outstanding import cancel_open
from service.flows.context import AppContext
from service.flows.warnings.schemas import WarningCreate, WarningDecision, WarningRead
from service.plan.actor import Actor
from service.plan.addressees import Scene
from service.plan.duties import OPEN_STATES
from service.plan.jurisdiction import require_area
from service.plan.leadership import CITY_HQ
from service.plan.lifecycle import fire
from service.plan.releases import covering_hq
from service.playbooks.bundle import Playbooks
from service.store import outbox, timeline
from service.store.batch import WriteBatch
from service.store.events import event_time, lock_child, open_event
from service.store.transactions import in_transaction

Change = Callable[[AsyncSession, WriteBatch], Awaitable[EarlyWarning]]


async def propose(
    context: AppContext,
    actor: Actor,
    proposal: WarningCreate,
    event_id: uuid.UUID | None = None,
) -> WarningRead:
    """A dispatcher proposes a warning, for ``event_id`` (the path's) or ``proposal.event_id``;
    with neither it joins the open event naming one of its grids, or a new one opens in
    monitoring (a forecast typhoon comes before any outage)."""
    event_id = event_id or proposal.event_id
    return await _changed(
        context,
        lambda session, batch: _proposed(
            session, batch, context.playbooks, actor, proposal, event_id, utcnow()
        ),
    )


async def publish(
    context: AppContext, actor: Actor, warning_id: uuid.UUID, decision: WarningDecision
) -> WarningRead:
    """Plan 3.2.2.1: the HQ whose region covers the area publishes; 3.2.2.2: actions go out."""
    return await _changed(
        context,
        lambda session, batch: _published(
            session, batch, context.playbooks, actor, warning_id, decision.reason, utcnow()
        ),
    )


async def lift(
    context: AppContext, actor: Actor, warning_id: uuid.UUID, decision: WarningDecision
) -> WarningRead:
    """Plan 3.2.2.3: 谁发布、谁解除 — only the publishing HQ lifts, and the measures end."""
    return await _changed(
        context,
        lambda session, batch: _lifted(
            session, batch, actor, warning_id, decision.reason, utcnow()
        ),
    )


async def _changed(context: AppContext, change: Change) -> WarningRead:
    """``change`` in a transaction of its own (retried on conflicts with concurrent work), its
    rows written through one batch; the warning as it then stands."""

    async def work(session: AsyncSession) -> WarningRead:
        async with WriteBatch(session) as batch:
            warning = await change(session, batch)
        return WarningRead.of(warning)

    return await in_transaction(context.sessions, work)


async def _proposed(
    session: AsyncSession,
    batch: WriteBatch,
    playbooks: Playbooks,
    actor: Actor,
    body: WarningCreate,
    event_id: uuid.UUID | None,
    now: datetime,
) -> EarlyWarning:
    """The proposal recorded, its event opened when there was none, and the proposal's duties
    dispatched (the power authority judges it, plan 3.2.2.1)."""
    actor.require("dispatcher")
    for i, code in enumerate(body.area):
        if code not in playbooks.grids:
            raise InvalidInput(
                f"area[{i}]", Said("未知地区 {region}（见 regions.yaml）", region=code)
            )
    require_area(actor, body.area, playbooks.grids, Said("提出预警"))
    event = await open_event(
        session,
        batch,
        actor,
        now,
        event_id=event_id,
        regions=body.area,
        drill=body.drill,
        opened_by="a warning proposal",
        clause="3.2.2.1",
    )
    now = event_time(event, now)
    opened = batch.holds(event)
    fire(event, "propose_warning")
    warning = EarlyWarning(
        id=uuid.uuid4(),
        event_id=event.id,
        state="proposed",
        area=list(body.area),
        headline=body.headline,
        description=body.description,
        onset=body.onset,
        expires=body.expires,
        proposed_by=actor.id,
        proposed_at=now,
    )
    batch.add_object(warning)
    timeline.record(
        batch,
        event,
        "warning_proposed",
        actor,
        f"warning proposed: {body.headline}",
        clause="3.2.2.1",
        at=now,
        warning_id=str(warning.id),
        area=list(body.area),
        headline=body.headline,
    )
    event.updated_at = now
    covering = covering_hq(body.area, playbooks.grids)
    if opened:
        outbox.emit(batch, event, "event.opened", at=now)
        await open_monitoring(session, batch, playbooks, event, actor, now, covering)
    items = playbooks.checklists.items_at("proposed")
    scene = Scene(covering, (covering,))
    await dispatch(session, batch, playbooks, event, items, actor, now, scene)
    return warning


async def _locked_warning(
    session: AsyncSession, warning_id: uuid.UUID
) -> tuple[Event, EarlyWarning]:
    """The warning and its event, locked in the one lock order: the event, then the warning."""
    return await lock_child(session, EarlyWarning, warning_id)


async def _published(
    session: AsyncSession,
    batch: WriteBatch,
    playbooks: Playbooks,
    actor: Actor,
    warning_id: uuid.UUID,
    reason: str | None,
    now: datetime,
) -> EarlyWarning:
    """The warning published by the caller's HQ, which must cover its area, and the warning
    actions of plan 3.2.2.2 dispatched."""
    actor.require("commander")
    event, warning = await _locked_warning(session, warning_id)
    now = event_time(event, now)
    require_area(actor, warning.area, playbooks.grids, Said("发布此预警"))
    if warning.state != "proposed":
        raise Conflict(
            Said("预警处于“{state}”状态，不是待发布", state=warning.state),
            state=warning.state,
            rule="plan 3.2.2.1",
        )
    fire(event, "publish_warning", has_proposed_warning=warning.state == "proposed")
    warning.state, warning.published_hq = "published", actor.region
    warning.published_by, warning.published_at = actor.id, now
    warning.reason = reason
    timeline.record(
        batch,
        event,
        "warning_published",
        actor,
        f"warning published by {actor.region}: {warning.headline}",
        clause="3.2.2.1",
        at=now,
        warning_id=str(warning.id),
        headline=warning.headline,
    )
    event.updated_at = now
    outbox.emit(batch, event, "warning.published", extra=warning_notice(warning), at=now)
    items = playbooks.checklists.items_at("published")
    publisher = actor.region or CITY_HQ
    scene = Scene(publisher, (publisher,))
    await dispatch(session, batch, playbooks, event, items, actor, now, scene)
    return warning


async def _lifted(
    session: AsyncSession,
    batch: WriteBatch,
    actor: Actor,
    warning_id: uuid.UUID,
    reason: str | None,
    now: datetime,
) -> EarlyWarning:
    """The warning lifted by the HQ that published it, and its open warning actions
    cancelled."""
    actor.require("commander")
    event, warning = await _locked_warning(session, warning_id)
    now = event_time(event, now)
    if warning.state == "published" and warning.published_hq != actor.region:
        raise Forbidden(
            Said("只有发布该预警的指挥部（{hq}）才能解除", hq=warning.published_hq),
            rule="plan 3.2.2.3 谁发布、谁解除",
        )
    if warning.state != "published":
        raise Conflict(
            Said("预警处于“{state}”状态，不是已发布", state=warning.state),
            state=warning.state,
            rule="plan 3.2.2.3",
        )
    fire(event, "lift_warning")
    await cancel_open(
        session,
        batch,
        event,
        phases=("warning",),
        states=OPEN_STATES,
        keep_keys=None,
        reason="warning lifted",
        actor=actor,
        now=now,
        clause="3.2.2.3",
    )
    warning.state, warning.lifted_by, warning.lifted_at = "lifted", actor.id, now
    warning.reason = reason or warning.reason
    timeline.record(
        batch,
        event,
        "warning_lifted",
        actor,
        f"warning lifted: {warning.headline}" + (f" ({reason})" if reason else ""),
        clause="3.2.2.3",
        at=now,
        warning_id=str(warning.id),
        headline=warning.headline,
        reason=reason,
    )
    event.updated_at = now
    outbox.emit(batch, event, "warning.lifted", extra=warning_notice(warning), at=now)
    return warning


def warning_notice(warning: EarlyWarning) -> dict[str, Any]:
    """What a warning's notice says of it, beside the event (everyone hears it: audience None):
    all a public channel publishes of it (plan 3.2.2.1), its times in UTC as stored."""
    return {
        "warning": {
            "id": str(warning.id),
            "headline": warning.headline,
            "description": warning.description,
            "area": list(warning.area),
            "state": warning.state,
            "onset": _moment(warning.onset),
            "expires": _moment(warning.expires),
            "published_hq": warning.published_hq,
            "published_at": _moment(warning.published_at),
            "lifted_at": _moment(warning.lifted_at),
        }
    }


async def standing_warnings_moved(
    session: AsyncSession,
    batch: WriteBatch,
    event: Event,
    previous_response_level: str | None,
    now: datetime,
) -> None:
    """``warning.updated`` for each warning of ``event`` that stands (published, not lifted)
    when its response level moved from ``previous_response_level``: the public's warning
    changes with the level, a CAP ``Update`` of its chain (service.plan.alerts)."""
    if event.response_level == previous_response_level:
        return
    standing = await session.scalars(
        select(EarlyWarning)
        .where(EarlyWarning.event_id == event.id, EarlyWarning.state == "published")
        .order_by(EarlyWarning.published_at, EarlyWarning.id)
    )
    for warning in standing:
        extra = warning_notice(warning) | {"previous_response_level": previous_response_level}
        outbox.emit(batch, event, "warning.updated", extra=extra, at=now)


def _moment(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None
