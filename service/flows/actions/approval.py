"""A government's approval recorded on a duty that requires one (plan 5.3: 各级应急指挥部…报经
当地政府批准，对重点地区和重点部位实施紧急控制).

The duty's checklist item says ``requires: approval``, copied onto its action at dispatch; the
action cannot be completed (``require_approval``, called as it is completed) until the approval is
recorded here: which government, who approved, when, and the reference. It is recorded once, by
the agency holding the action (the HQ that asked) or by a commander of the leading HQ or one
above it, while the action is open; it is kept on the action and put on the timeline.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Final

from sqlalchemy.ext.asyncio import AsyncSession

from models import Action, Event
from models.base import utcnow
from service.errors import Conflict, InvalidInput, Said
from service.flows.actions.schemas import ActionRead, ApprovalCreate, read
from service.flows.context import AppContext
from service.plan.actor import Actor
from service.plan.duties import OPEN_STATES
from service.plan.jurisdiction import lead_or_holder
from service.plan.leadership import acting_hq
from service.plan.requisitions import approves_for
from service.playbooks.bundle import Playbooks
from service.store import feeds, timeline
from service.store.batch import WriteBatch
from service.store.events import event_time, lock_child
from service.store.transactions import in_transaction

RULE: Final = "plan 5.3: 报经当地政府批准 (the local government's approval comes first)"


def require_approval(action: Action) -> None:
    """Refuse (409) to complete an action whose item requires an approval not yet recorded."""
    if action.requires == "approval" and action.approval is None:
        raise Conflict(
            Said("此任务须报经当地政府批准：请先记录政府的批准，再完成任务"),
            rule=RULE,
            requires="approval",
        )


async def record_approval(
    context: AppContext, actor: Actor, action_id: uuid.UUID, body: ApprovalCreate
) -> ActionRead:
    """Record the government's approval on the action; the answer is the action with it."""

    async def work(session: AsyncSession) -> ActionRead:
        async with WriteBatch(session) as batch:
            event, action = await _approvable(session, context.playbooks, actor, action_id)
            now = event_time(event, utcnow())
            _check(body, action, event, context.playbooks, now + context.settings.future_tolerance)
            action.approval = {
                "government": body.government,
                "approver": body.approver,
                "approved_at": body.approved_at.isoformat(),
                "reference": body.reference,
                "recorded_by": actor.label,
                "recorded_at": now.isoformat(),
            }
            action.updated_at = now
            await feeds.touch(session, [action.agency], now)
            timeline.record(
                batch,
                event,
                "action_approved",
                actor,
                f"{action.key} approved by the government of {body.government}: {body.reference}",
                clause="5.3",
                at=now,
                action_id=str(action.id),
                agency=action.agency,
                key=action.key,
                government=body.government,
                approver=body.approver,
                approved_at=body.approved_at.isoformat(),
                reference=body.reference,
            )
            return read(action, event.drill)

    return await in_transaction(context.sessions, work)


async def _approvable(
    session: AsyncSession, playbooks: Playbooks, actor: Actor, action_id: uuid.UUID
) -> tuple[Event, Action]:
    """The action and its event, locked, once the caller may record its approval and it awaits
    one: the agency holding it (another's is 404), or a commander at or above the leading HQ."""
    actor.require("agency", "commander")
    own = (Action.agency == actor.agency,) if actor.role == "agency" else ()
    event, action = await lock_child(session, Action, action_id, *own)
    # The agency's holding was checked as the action was locked: another's action is 404.
    lead = acting_hq(event.leading_hq)
    lead_or_holder(actor, lead, playbooks.grids, Said("记录政府批准"), "5.3", holders=("agency",))
    if action.requires != "approval":
        raise Conflict(Said("此任务无须政府批准"), rule=RULE)
    if action.state not in OPEN_STATES:
        raise Conflict(
            Said("任务处于“{state}”，不再记录批准", state=action.state), state=action.state
        )
    if action.approval is not None:
        raise Conflict(
            Said(
                "{government}的批准已记录（{reference}）",
                government=action.approval.get("government", ""),
                reference=action.approval.get("reference", ""),
            ),
            rule=RULE,
        )
    return event, action


def _check(
    body: ApprovalCreate, action: Action, event: Event, playbooks: Playbooks, latest: datetime
) -> None:
    """The government is a 当地政府 of the HQ holding the duty, and the approval was given
    while the event stood: not before it opened, nor later than now."""
    grids = playbooks.grids
    holder = playbooks.agencies.get(action.agency)
    hq = holder.region if holder is not None else None
    if body.government not in grids or (
        hq is not None and not approves_for(body.government, hq, grids)
    ):
        raise InvalidInput(
            "government",
            Said(
                "{government} 不是 {hq} 的当地政府：须为指挥部本级、上级或其辖区内的政府",
                government=body.government,
                hq=hq or action.agency,
            ),
        )
    if body.approved_at > latest:
        raise InvalidInput("approved_at", Said("批准时间晚于当前时间"))
    if body.approved_at < event.opened_at:
        raise InvalidInput("approved_at", Said("批准时间早于事件开启"))
