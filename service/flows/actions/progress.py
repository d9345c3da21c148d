"""An action moves on: its agency acknowledges or completes it; a commander cancels it.

Each public function here is one endpoint's use case and owns its transaction: acknowledging and
completing answer once per Idempotency-Key (service.flows.once), cancelling runs in a
transaction of its own.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from sqlalchemy.ext.asyncio import AsyncSession

from models import Action, Event
from models.base import utcnow
from service.errors import Conflict, InvalidInput, Said
from service.flows.actions.approval import require_approval
from service.flows.actions.dispatch import release_links, run_scene, skip_links, skips
from service.flows.actions.schemas import ActionRead, read
from service.flows.context import AppContext
from service.flows.duties import advances, call_off, move_on, refuse_cancelled
from service.flows.once import Answer, Once, Work, answer_once
from service.plan.actor import Actor
from service.plan.duties import Progress, Step
from service.plan.jurisdiction import require_hq
from service.plan.leadership import acting_hq
from service.plan.timeline import TimelineKind
from service.playbooks.bundle import Playbooks
from service.store import feeds, timeline
from service.store.batch import WriteBatch
from service.store.events import event_time, lock_child
from service.store.transactions import in_transaction


async def acknowledge(
    context: AppContext, actor: Actor, action_id: uuid.UUID, note: str | None, once: Once
) -> Answer:
    """The agency has taken the duty up (pending → acknowledged); the answer is the action."""
    return await answer_once(
        context, actor, once, 200, _step(context, actor, action_id, "acknowledged", note)
    )


@dataclass(frozen=True, slots=True)
class Skip:
    """A report of plan 4's chain sent straight to ``to`` (agency codes), skipping the link
    before them, for ``reason`` (plan 4 必要时可越级上报)."""

    to: tuple[str, ...]
    reason: str | None


async def complete(
    context: AppContext,
    actor: Actor,
    action_id: uuid.UUID,
    note: str | None,
    once: Once,
    skip: Skip | None = None,
) -> Answer:
    """The duty is done (pending or acknowledged → done); the answer is the action. ``skip``: a
    report that went straight to receivers above the next link (plan 4 越级上报)."""
    return await answer_once(
        context, actor, once, 200, _step(context, actor, action_id, "done", note, skip)
    )


async def cancel(
    context: AppContext, actor: Actor, action_id: uuid.UUID, reason: str
) -> ActionRead:
    """A commander of the leading HQ (or above) cancels an open action, with the reason."""
    return await in_transaction(
        context.sessions,
        lambda session: _cancel(session, context.playbooks, actor, action_id, reason, utcnow()),
    )


async def _locked_action(
    session: AsyncSession, action_id: uuid.UUID, agency: str | None = None
) -> tuple[Event, Action]:
    """The action and its event, locked in the one lock order: the event, then the action.

    With ``agency``, another agency's action does not exist for the caller (design § Actions: 404,
    not 403); it is checked again once locked, as a hand-over may have moved it meanwhile.
    """
    own = () if agency is None else (Action.agency == agency,)
    return await lock_child(session, Action, action_id, *own)


async def _own_action(
    session: AsyncSession, actor: Actor, action_id: uuid.UUID
) -> tuple[Event, Action]:
    actor.require("agency")
    return await _locked_action(session, action_id, actor.agency)


# A superseded action is no one's to move on: its job is another item's at the event's level.
SUPERSEDED: Final = Said("响应级别调整后，此任务已由其他任务替代或不再需要")
# The timeline's kind for each word.
VERB_KINDS: Final[dict[Progress, TimelineKind]] = {
    "acknowledged": "action_acknowledged",
    "completed": "action_completed",
    "noted": "action_noted",
}


def _step(
    context: AppContext,
    actor: Actor,
    action_id: uuid.UUID,
    to: Step,
    note: str | None,
    skip: Skip | None = None,
) -> Work:
    """Taking the step ``to`` on the caller's action, at the moment the work runs."""
    return lambda session, batch: _progress(
        session, batch, context.playbooks, actor, action_id, to, note, utcnow(), skip
    )


async def _progress(
    session: AsyncSession,
    batch: WriteBatch,
    playbooks: Playbooks,
    actor: Actor,
    action_id: uuid.UUID,
    to: Step,
    note: str | None,
    now: datetime,
    skip: Skip | None = None,
) -> ActionRead:
    """Acknowledge or complete an action of the caller's agency.

    Repeating it, or acknowledging a done action, changes nothing but a new note, which is kept
    (and put on the timeline); a cancelled or superseded action is a 409, and so is completing
    one whose required approval is not recorded. Completing one starts the clocks of the links
    that waited for it (plan 4), in the same transaction; a report completed going straight to
    receivers above the next link (``skip``, plan 4 越级上报) starts theirs instead. A receipt
    of plan 4's chain is done when acknowledged: receiving the report is all it asks.
    """
    event, action = await _own_action(session, actor, action_id)
    now = event_time(event, now)
    refuse_cancelled(action)
    if action.state == "superseded":
        raise Conflict(SUPERSEDED, state="superseded")
    passed: tuple[str, ...] = ()
    if skip is not None:
        passed = await _check_skip(session, playbooks, event, action, skip)
    if action.key in playbooks.checklists.receipts:
        # A report received (plan 4's chain's end) asks only for its acknowledgement: 确认接报
        # is the whole duty, so acknowledging it completes it.
        to = "done"
    if to == "done" and advances(action, to):
        require_approval(action)  # plan 5.3: an approval required comes first
    verb = move_on(action, to, note, now)
    if verb is None:
        return read(action, event.drill)
    await feeds.touch(session, [action.agency], now)
    timeline.record(
        batch,
        event,
        VERB_KINDS[verb],
        actor,
        f"{action.agency} {verb} {action.key}",
        clause=action.clause,
        at=now,
        action_id=str(action.id),
        agency=action.agency,
        key=action.key,
        note=note,
        **(
            {"skip_to": list(skip.to), "skip_reason": skip.reason, "skipped": list(passed)}
            if skip is not None
            else {}
        ),
    )
    if verb == "completed" and skip is not None:
        await skip_links(session, batch, playbooks, event, action, skip.to, actor, now)
    elif verb == "completed":
        await release_links(session, batch, playbooks, event, action, actor, now)
    return read(action, event.drill)


async def _check_skip(
    session: AsyncSession, playbooks: Playbooks, event: Event, action: Action, skip: Skip
) -> tuple[str, ...]:
    """Plan 4 "必要时可越级上报": only a report the chain lets skip (a county's 一般 report), only
    to the receivers above the link it skips, with a reason, and as it is completed. Returns
    the units of the links skipped."""
    if action.state == "done":
        raise Conflict(Said("此报告已完成；越级上报须在完成报告时说明"), state="done")
    allowed = skips(playbooks, action.key, await run_scene(session, event, action))
    names = playbooks.names
    if not allowed.allowed:
        raise _plan_4(
            "skip_to",
            Said("预案4只允许初判为一般时区、县(市)电力运行主管部门的报告越级上报，此任务不能越级"),
        )
    if not skip.to:
        raise _plan_4(
            "skip_to",
            Said(
                "越级上报须写明报送至哪一级；可报送：{allowed}",
                allowed="、".join(names.unit(code) for code in allowed.allowed),
            ),
        )
    wrong = [code for code in skip.to if code not in allowed.allowed]
    if wrong:
        raise _plan_4(
            "skip_to",
            Said(
                "{wrong}不是此报告越级可报送的上级；可报送：{allowed}",
                wrong="、".join(names.unit(code) for code in wrong),
                allowed="、".join(names.unit(code) for code in allowed.allowed),
            ),
        )
    if not skip.reason:
        raise _plan_4("skip_reason", Said("越级上报须说明理由"))
    return allowed.passed


def _plan_4(field: str, said: Said) -> InvalidInput:
    refused = InvalidInput(field, said)
    refused.extra["rule"] = "plan 4"
    return refused


async def _cancel(
    session: AsyncSession,
    playbooks: Playbooks,
    actor: Actor,
    action_id: uuid.UUID,
    reason: str,
    now: datetime,
) -> ActionRead:
    """Cancelling again is harmless; a done action is a 409."""
    async with WriteBatch(session) as batch:
        actor.require("commander")
        event, action = await _locked_action(session, action_id)
        now = event_time(event, now)
        require_hq(actor, acting_hq(event.leading_hq), playbooks.grids, Said("取消此任务"), "5.1")
        if action.state == "superseded":
            raise Conflict(SUPERSEDED, state="superseded")
        if call_off(action, reason, now):
            await feeds.touch(session, [action.agency], now)
            timeline.record(
                batch,
                event,
                "action_cancelled",
                actor,
                f"{action.key} cancelled: {reason}",
                clause=action.clause,
                at=now,
                action_id=str(action.id),
                agency=action.agency,
                key=action.key,
                reason=reason,
            )
            # A link cancelled as not needed does not hold up the ones after it.
            await release_links(session, batch, playbooks, event, action, actor, now)
        return read(action, event.drill)
