"""The records plan 6.1's evaluation lists as they are: the releases (plan 5.5's companion, 5.4)
and who decided them, plan 5.5's conditions in words with who attested them and when, plan 5.3's
requisitions with the government that compensates each (6.3), and the evaluators' own findings
and sign-off. Read in the evaluation's session."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models import (
    Attestation,
    EvaluationFinding,
    EvaluationSignOff,
    Release,
    Requisition,
    StandingTask,
)
from service.flows.events.schemas import (
    EvidenceRead,
    FindingRead,
    ReleaseRecordRead,
    RequisitionRecordRead,
    SignOffRead,
)
from service.flows.schemas import ConditionRead
from service.plan.percent import exact_percent, percent
from service.plan.termination import OVERALL_RESTORED
from service.playbooks.names import PlaybookNames
from service.words import _
from service.words.timeline import actor_words, government_words


async def releases(
    session: AsyncSession, event_id: uuid.UUID, names: PlaybookNames
) -> list[ReleaseRecordRead]:
    """Plan 5.4: what was proposed for release, and which HQ published or rejected it, by whom."""
    rows = await session.scalars(
        select(Release).where(Release.event_id == event_id).order_by(Release.proposed_at)
    )
    return [
        ReleaseRecordRead(
            headline=r.headline,
            state=r.state,
            proposer=names.unit(r.proposer_agency)
            if r.proposer_agency
            else actor_words(r.proposer),
            proposed_at=r.proposed_at,
            approver=actor_words(r.decider) if r.decider else None,
            hq=names.hq(r.decided_hq) if r.decided_hq else None,
            decided_at=r.decided_at,
        )
        for r in rows
    ]


async def requisitions(
    session: AsyncSession, event_id: uuid.UUID, names: PlaybookNames
) -> list[RequisitionRecordRead]:
    """Plan 5.3's register: what was requisitioned, from whom, by which unit, whether given
    back, and the government of the 事发地 it was for, which compensates it (plan 6.3)."""
    rows = await session.scalars(
        select(Requisition)
        .where(Requisition.event_id == event_id)
        .order_by(Requisition.requisitioned_at, Requisition.recorded_at, Requisition.id)
    )
    return [
        RequisitionRecordRead(
            kind=r.kind,
            what=r.what,
            owner=r.owner,
            quantity=r.quantity,
            unit=r.unit,
            requisitioned_at=r.requisitioned_at,
            by=names.unit(r.agency),
            government=government_words(r.region, names),
            returned_at=r.returned_at,
        )
        for r in rows
    ]


async def evidence(
    session: AsyncSession, event_id: uuid.UUID, conditions: Sequence[ConditionRead]
) -> list[EvidenceRead]:
    """Each condition of plan 5.5 in words: the latest statement on it that stands (neither
    withdrawn nor voided) with who made it and when (it decides, as in the termination check),
    or the load figures."""
    statements = await session.scalars(
        select(Attestation)
        .where(
            Attestation.event_id == event_id,
            Attestation.withdrawn_at.is_(None),
            Attestation.voided_at.is_(None),
        )
        .order_by(Attestation.at)
    )
    latest: dict[str, Attestation] = {s.condition: s for s in statements}
    found = []
    for condition in conditions:
        if condition.key == "load_restored":
            overall = condition.figures.overall if condition.figures else None
            text = (
                _("尚无调度报告给出负荷数据")
                if overall is None
                else _(
                    "整体负荷恢复 {overall}（要求 {threshold} 以上）",
                    overall=percent(overall),
                    threshold=exact_percent(OVERALL_RESTORED),
                )
            )
            found.append(
                EvidenceRead(key=condition.key, met=condition.met, text=text, by=None, at=None)
            )
            continue
        statement = latest.get(condition.key)
        found.append(
            EvidenceRead(
                key=condition.key,
                met=condition.met,
                text=statement.evidence if statement else _("尚无确认"),
                by=actor_words(statement.actor) if statement else None,
                at=statement.at if statement else None,
            )
        )
    return found


async def findings(session: AsyncSession, event_id: uuid.UUID) -> list[FindingRead]:
    rows = await session.scalars(
        select(EvaluationFinding)
        .where(EvaluationFinding.event_id == event_id)
        .order_by(EvaluationFinding.at, EvaluationFinding.id)
    )
    listed = list(rows)
    # the revisions of the plan (plan 8.1) each finding raised
    raised: dict[uuid.UUID, list[uuid.UUID]] = defaultdict(list)
    if any(row.kind == "finding" for row in listed):
        tasks = await session.execute(
            select(StandingTask.finding_id, StandingTask.id)
            .where(StandingTask.event_id == event_id, StandingTask.finding_id.is_not(None))
            .order_by(StandingTask.agency)
        )
        for finding_id, task_id in tasks:
            if finding_id is not None:
                raised[finding_id].append(task_id)
    return [FindingRead.of(row, raised[row.id]) for row in listed]


async def sign_off(session: AsyncSession, event_id: uuid.UUID) -> SignOffRead | None:
    row = await session.get(EvaluationSignOff, event_id)
    return None if row is None else SignOffRead.of(row)
