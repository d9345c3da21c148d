"""Plan 6.1's evaluation report (处置评估) of one event, read from its own records.

Readable at any time: a running event's report is partial (``partial``), its response counted
to now. The figures are computed by ``service.plan.evaluation``; this module reads the event's
timeline, reports, actions and attestations into it.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Final

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models import Action, Event, Report, ReportSnapshot
from models.base import utcnow
from service.errors import Forbidden, Said
from service.flows.context import AppContext
from service.flows.events import evaluation_form as form
from service.flows.events import evaluation_records as records
from service.flows.events import history
from service.flows.events.schemas import (
    ChronologyEntry,
    EvaluationRead,
    LeadRead,
    LevelRead,
    RestorationPoint,
    TerminationRead,
)
from service.flows.response.termination import termination_conditions
from service.flows.schemas import ConditionRead
from service.plan.actor import Actor
from service.plan.evaluation import (
    EVALUATOR_CLAUSES,
    ActionRecord,
    GridFigure,
    ReportFigures,
    evaluates,
    leads,
    response_minutes,
    restoration_curve,
)
from service.playbooks.bundle import Playbooks
from service.store.events import get_event
from service.words.timeline import actor_words, entry_text

# States in which the response is over for good: the report is whole.
FINISHED: Final = ("terminated", "closed")


async def evaluate_event(context: AppContext, actor: Actor, event_id: uuid.UUID) -> EvaluationRead:
    """The evaluation report of the event ``actor`` may read, as its records stand now, read in
    one read-only session."""
    async with context.read_sessions() as session:
        event = await get_event(session, actor, event_id)
        if actor.role == "agency":
            await _require_evaluator(session, actor, event)
        return await evaluate(session, context.playbooks, event, utcnow())


async def _require_evaluator(session: AsyncSession, actor: Actor, event: Event) -> None:
    """An agency reads the report only when it evaluates or investigates the event (plan 6.1,
    6.2: the power authority of the event's grade)."""
    held = await session.execute(
        select(Action.clause, Action.state).where(
            Action.event_id == event.id,
            Action.agency == actor.agency,
            Action.clause.in_(EVALUATOR_CLAUSES),
        )
    )
    if not evaluates((clause, state) for clause, state in held):
        raise Forbidden(
            Said("只有承担本事件处置评估或事件调查的单位可以阅读评估报告"), rule="plan 6.1"
        )


async def evaluate(
    session: AsyncSession, playbooks: Playbooks, event: Event, now: datetime
) -> EvaluationRead:
    """The evaluation report of ``event`` as its records stand at ``now``."""
    found = await history.timeline_entries(session, event.id, history.CHRONOLOGY_KINDS)
    started = next((e.at for e in found if e.kind == "response_started"), None)
    ended = next((e.at for e in found if e.kind == "response_terminated"), None)
    reports, causes = await _reports(session, event.id)
    actions = await _actions(session, event.id)
    overview, counties = form.restoration_by_county(playbooks, reports, event.opened_at, causes)
    conditions = [
        ConditionRead.of(c) for c in await termination_conditions(session, playbooks, event)
    ]
    signed = await records.sign_off(session, event.id)
    return EvaluationRead(
        event_id=event.id,
        drill=event.drill,
        state=event.state,
        partial=event.state not in FINISHED,
        generated_at=now,
        opened_at=event.opened_at,
        closed_at=event.closed_at,
        peak_level=event.peak_level,
        levels=[LevelRead(level=s.level, at=s.at, by=s.by) for s in history.level_sets(found)],
        leading_hqs=[
            LeadRead(region=lead.region, name=playbooks.grids.hq_name(lead.region), since=lead.at)
            for lead in leads(history.lead_changes(found))
        ],
        response_started_at=started,
        response_ended_at=ended,
        response_minutes=response_minutes(started, ended, now),
        restoration=[
            RestorationPoint(at=p.at, overall=p.overall) for p in restoration_curve(reports)
        ],
        agencies=form.agencies(playbooks, actions, now),
        termination=TerminationRead(conditions=conditions),
        chronology=[
            ChronologyEntry(
                seq=e.seq,
                at=e.at,
                kind=e.kind,
                actor=e.actor,
                summary=e.summary,
                by=actor_words(e.actor),
                text=entry_text(e.kind, e.data, e.actor, playbooks.names),
            )
            for e in found
        ],
        overview=overview,
        counties=counties,
        lapses=form.late_duties(playbooks, actions, now),
        report_links=form.reporting_chain(playbooks, actions, now),
        releases=await records.releases(session, event.id, playbooks.names),
        evidence=await records.evidence(session, event.id, conditions),
        findings=await records.findings(session, event.id),
        sign_off=signed,
        final=signed is not None,
        requisitions=await records.requisitions(session, event.id, playbooks.names),
    )


async def _reports(
    session: AsyncSession, event_id: uuid.UUID
) -> tuple[list[ReportFigures], list[str]]:
    """The event's reports with their grids' figures, and the causes they named in order."""
    rows = await session.execute(
        select(
            ReportSnapshot.report_id,
            ReportSnapshot.observed_at,
            Report.received_at,
            Report.cause,
            ReportSnapshot.region,
            ReportSnapshot.scope,
            ReportSnapshot.load_lost_mw,
            ReportSnapshot.load_mw,
            ReportSnapshot.customers_out,
        )
        .join(Report, Report.id == ReportSnapshot.report_id)
        .where(ReportSnapshot.event_id == event_id)
        .order_by(ReportSnapshot.seq)
    )
    by_report: dict[uuid.UUID, tuple[datetime, datetime, list[GridFigure]]] = {}
    causes: dict[str, None] = {}
    for report_id, observed, received, cause, region, scope, lost, load, out in rows:
        causes[cause] = None
        by_report.setdefault(report_id, (observed, received, []))[2].append(
            GridFigure(region, scope, lost, load, out)
        )
    figures = [
        ReportFigures(observed, received, tuple(grids))
        for observed, received, grids in by_report.values()
    ]
    return figures, list(causes)


async def _actions(session: AsyncSession, event_id: uuid.UUID) -> list[ActionRecord]:
    rows = await session.execute(
        select(
            Action.agency,
            Action.state,
            Action.dispatched_at,
            Action.due_at,
            Action.acknowledged_at,
            Action.cancelled_at,
            Action.completed_at,
            Action.key,
            Action.title,
            Action.due_on,
            Action.superseded_at,
            Action.run,
            Action.regarding,
        ).where(Action.event_id == event_id)
    )
    return [ActionRecord(**row._mapping) for row in rows]
