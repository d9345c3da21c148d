"""Closing an event: dismissed from monitoring when it never needed a response (plan 1.5), or
closed once its post-event work is done (plan 6)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from models import Action, Event
from service.errors import Conflict, Said
from service.flows.actions.outstanding import cancel_open
from service.flows.context import AppContext
from service.flows.events.schemas import EventRead
from service.flows.response.running import run_command, run_guarded
from service.flows.response.schemas import Closure, Dismissal
from service.plan.actor import Actor
from service.plan.duties import OPEN_STATES, PHASES
from service.plan.jurisdiction import require_area, require_hq
from service.plan.lifecycle import fire
from service.playbooks.bundle import Playbooks
from service.store import outbox, timeline
from service.store.batch import WriteBatch
from service.store.events import event_area


async def dismiss(
    context: AppContext, actor: Actor, event_id: uuid.UUID, dismissal: Dismissal
) -> EventRead:
    """Close an event that never needed a response (design § Lifecycle: monitoring → closed)."""
    playbooks, reason = context.playbooks, dismissal.reason

    async def command(
        session: AsyncSession, batch: WriteBatch, event: Event, now: datetime
    ) -> None:
        require_area(actor, await event_area(session, event), playbooks.grids, Said("撤销本事件"))
        fire(event, "dismiss")
        event.closed_at = event.updated_at = now
        await cancel_open(
            session,
            batch,
            event,
            phases=PHASES,
            states=OPEN_STATES,
            keep_keys=None,
            reason=f"event dismissed: {reason}",
            actor=actor,
            now=now,
            clause="1.5",
        )
        # Plan 1.5: it never became a 大面积停电事件 that needed a response.
        timeline.record(
            batch,
            event,
            "event_dismissed",
            actor,
            f"dismissed: {reason}",
            clause="1.5",
            at=now,
            reason=reason,
        )
        # A dismissal closes the event too (monitoring → closed): the same notice, saying so.
        extra = {"reason": reason, "dismissed": True}
        outbox.emit(batch, event, "event.closed", extra=extra, at=now)

    return await run_command(context, actor, event_id, command)


async def still_owed(session: AsyncSession, event: Event, playbooks: Playbooks) -> list[str]:
    """Keys of the actions an event's closing waits for: the post-event work (plan 6) neither
    done nor cancelled, and plan 4's reports that outlive the response, which a closed event
    would leave owed for ever: the links of its final run (终报) not done, and the receipts not
    yet acknowledged (acknowledging a report received is its answer)."""
    checklists = playbooks.checklists
    return list(
        await session.scalars(
            select(Action.key).where(
                Action.event_id == event.id,
                or_(
                    and_(
                        or_(
                            Action.phase == "post_event",
                            Action.key.in_(sorted(checklists.chain - checklists.receipts)),
                        ),
                        Action.state.in_(OPEN_STATES),
                    ),
                    and_(Action.key.in_(sorted(checklists.receipts)), Action.state == "pending"),
                ),
            )
        )
    )


async def close(
    context: AppContext, actor: Actor, event_id: uuid.UUID, closure: Closure
) -> EventRead:
    """Plan 6: close once every post-event action is done or cancelled with a reason, and plan
    4's reports after the response are made and received (``still_owed``); a refusal names the
    open ones and is kept on the timeline."""
    playbooks, reason = context.playbooks, closure.reason

    async def command(
        session: AsyncSession, batch: WriteBatch, event: Event, now: datetime
    ) -> None:
        require_hq(actor, event.leading_hq, playbooks.grids, Said("关闭本事件"), "6")
        links = playbooks.checklists.chain
        owed = await still_owed(session, event, playbooks) if event.state == "terminated" else []
        try:
            fire(event, "close", post_event_work_done=not owed)
        except Conflict as refused:
            if owed:
                reports = [key for key in owed if key in links]
                if reports:
                    said = Said(
                        "仍有 {n} 项后期处置或信息报告任务未完成（其中信息报告 {reports} 项）",
                        n=len(owed),
                        reports=len(reports),
                    )
                else:
                    said = Said("仍有 {n} 项后期处置任务未完成", n=len(owed))
                refused.restate(said)
                rule = "plan " + ", ".join(
                    clause
                    for clause, some in (("4", reports), ("6", len(reports) < len(owed)))
                    if some
                )
                refused.extra.update(open=sorted(owed), rule=rule, guard="close")
            raise
        event.closed_at = event.updated_at = now
        timeline.record(
            batch,
            event,
            "event_closed",
            actor,
            "event closed" + (f": {reason}" if reason else ""),
            clause="6",
            at=now,
        )
        outbox.emit(batch, event, "event.closed", extra={"reason": reason}, at=now)

    return await run_guarded(context, actor, event_id, command)
