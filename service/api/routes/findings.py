"""The evaluators' part of plan 6.1's report: findings and lessons, and the sign-off that makes
the report final. Each route calls one flow of ``service.flows.events.findings``."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter

from service.api.deps import ContextDep, role
from service.api.openapi import problems
from service.api.routes import API_V1
from service.flows.events import findings
from service.flows.events.schemas import FindingCreate, FindingRead, SignOffCreate, SignOffRead
from service.plan.actor import Actor

router = APIRouter(prefix=API_V1, tags=["evaluation"], responses=problems(401, 403, 404, 409, 422))

CommanderDep = Annotated[Actor, role("commander")]


@router.post(
    "/events/{event_id}/evaluation/findings",
    status_code=201,
    summary="Add a finding or a lesson to an evaluation report (plan 6.1)",
    operation_id="add_evaluation_finding",
)
async def post_finding(
    event_id: uuid.UUID, body: FindingCreate, actor: CommanderDep, context: ContextDep
) -> FindingRead:
    """Write a problem found (`kind` `finding`, 分析查找问题) or a lesson drawn (`lesson`,
    总结经验教训) into the event's evaluation report, where it is listed in the order written.

    A commander of the HQ that led the response, or of one above it, may add them once the
    response has ended (the event `terminated` or `closed`) and until the report is signed off.
    Answers 201 with the finding; 409 naming the rule when the response is not over or the
    report is final."""
    return await findings.add_finding(context, actor, event_id, body)


@router.post(
    "/events/{event_id}/evaluation/sign-off",
    status_code=201,
    summary="Sign an evaluation report off (plan 6.1)",
    operation_id="sign_off_evaluation",
)
async def post_sign_off(
    event_id: uuid.UUID, body: SignOffCreate, actor: CommanderDep, context: ContextDep
) -> SignOffRead:
    """Sign the event's evaluation report off with the evaluating `unit` (评估单位) and the
    `signer` (签发): the report is final from then on, its sign-off block filled, and no more
    findings are taken.

    The same commanders as for findings, once the response has ended. Answers 201 with the
    sign-off; 409 naming the rule when the response is not over or the report is already
    signed off."""
    return await findings.sign_off(context, actor, event_id, body)
