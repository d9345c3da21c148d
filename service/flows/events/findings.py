"""The evaluators' part of plan 6.1's report: findings and lessons added to it, and the sign-off
that makes it final.

Plan 6.1: after the response ends (应急响应终止后) the evaluation is made, its findings
(分析查找问题) and lessons (总结经验教训) written into the report (形成处置评估报告). So both are
taken only once the response is over, only from a commander of the HQ that led it or of one
above it (plan 5.5: the government that started the response ends it), and only until the
report is signed off: a signed report is a record, and a finding after it would change what was
signed. Each write locks the event, as every command on it does.

A problem found may ask for the plan's revision (``revise``, plan 8.1): the finding then raises
the standing task of that revision (service.flows.standing.register), in its transaction.
"""

from __future__ import annotations

import uuid
from typing import Final

from sqlalchemy.ext.asyncio import AsyncSession

from models import EvaluationFinding, EvaluationSignOff, Event
from models.base import utcnow
from service.errors import Conflict, Said
from service.flows.context import AppContext
from service.flows.events.schemas import FindingCreate, FindingRead, SignOffCreate, SignOffRead
from service.flows.standing.register import raise_for_finding
from service.plan.actor import Actor
from service.plan.jurisdiction import require_hq
from service.playbooks.bundle import Playbooks
from service.store.batch import WriteBatch
from service.store.events import lock_event
from service.store.transactions import in_transaction

# States in which the response is over for good (as the evaluation reads them).
ENDED: Final = ("terminated", "closed")
RULE_ENDED: Final = "plan 6.1: the evaluation is made after the response ends (应急响应终止后)"
RULE_FINAL: Final = "plan 6.1: a signed-off evaluation report is final"


async def _open_evaluation(
    session: AsyncSession, playbooks: Playbooks, actor: Actor, event_id: uuid.UUID, what: Said
) -> Event:
    """The event, locked, once the caller may write its evaluation and it is not yet final."""
    actor.require("commander")
    event = await lock_event(session, event_id)
    require_hq(actor, event.leading_hq, playbooks.grids, what, "6.1")
    if event.state not in ENDED:
        raise Conflict(
            Said("{what}：应急响应尚未结束；事件处于“{state}”", what=what, state=event.state),
            state=event.state,
            rule=RULE_ENDED,
        )
    if await session.get(EvaluationSignOff, event.id) is not None:
        raise Conflict(Said("{what}：评估报告已签发", what=what), rule=RULE_FINAL)
    return event


async def add_finding(
    context: AppContext, actor: Actor, event_id: uuid.UUID, body: FindingCreate
) -> FindingRead:
    """Add a finding or a lesson to the event's evaluation report."""

    async def work(session: AsyncSession) -> FindingRead:
        async with WriteBatch(session) as batch:
            event = await _open_evaluation(
                session, context.playbooks, actor, event_id, Said("添加评估发现")
            )
            now = utcnow()
            finding = EvaluationFinding(
                id=uuid.uuid4(),
                event_id=event.id,
                kind=body.kind,
                text=body.text,
                actor_id=actor.id,
                actor=actor.label,
                at=now,
            )
            batch.add_object(finding)
            raised = []
            if body.revise:
                # plan 8.1: the plan is revised by the problems its use found, a drill's too
                raised = raise_for_finding(batch, context.playbooks, event, finding, now)
        return FindingRead.of(finding, [row["id"] for row in raised])

    return await in_transaction(context.sessions, work)


async def sign_off(
    context: AppContext, actor: Actor, event_id: uuid.UUID, body: SignOffCreate
) -> SignOffRead:
    """Sign the event's evaluation report off: final from now, with its unit and signer."""

    async def work(session: AsyncSession) -> SignOffRead:
        async with WriteBatch(session) as batch:
            event = await _open_evaluation(
                session, context.playbooks, actor, event_id, Said("签发评估报告")
            )
            signed = EvaluationSignOff(
                event_id=event.id,
                unit=body.unit,
                signer=body.signer,
                actor_id=actor.id,
                actor=actor.label,
                at=utcnow(),
            )
            batch.add_object(signed)
        return SignOffRead.of(signed)

    return await in_transaction(context.sessions, work)
