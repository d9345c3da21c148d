"""Taking a report in: store it, reclassify the event, start or raise its response (plan 1.5, 5.1).

One transaction per report (``submit_report``). The event row is locked first (``FOR UPDATE`` on
PostgreSQL, ``BEGIN IMMEDIATE`` on SQLite) so that two reports on one event never interleave.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from models import Event, EventGrid, Report, ReportSnapshot
from models.base import table_of, utcnow
from service.errors import Forbidden, InvalidInput, Said
from service.flows.actions.dispatch import RunReason, dispatch, open_monitoring, started_items
from service.flows.actions.outstanding import hand_over
from service.flows.context import AppContext
from service.flows.once import Answer, Once, answer_once
from service.flows.reports.classify import check_grids
from service.flows.reports.event_grids import Hit, merge_grids
from service.flows.reports.schemas import ReportAccepted, ReportCreate, SnapshotCreate
from service.flows.response.attestations import relapse, void_worsened
from service.flows.response.levels import (
    begin_response,
    change_level,
    follow_grade,
    level_notice,
)
from service.flows.schemas import HQ, BasisRead
from service.plan.actor import Actor
from service.plan.addressees import Scene, local_regions
from service.plan.classification import Basis, Classification, classify
from service.plan.grids import GridRegistry
from service.plan.leadership import CITY_HQ, acting_hq, higher_lead, hq_rank, leading_hq
from service.plan.levels import event_grade, level_rank, max_level
from service.plan.lifecycle import fire
from service.playbooks.bundle import Playbooks
from service.store import outbox, timeline
from service.store.batch import WriteBatch
from service.store.events import event_time, grids_of, open_event


async def submit_report(
    context: AppContext, actor: Actor, once: Once, body: ReportCreate
) -> Answer:
    """POST /reports: take ``body`` in, in a transaction of its own (retried on conflicts), once
    per ``Idempotency-Key`` when ``once`` carries one; the answer is ``ReportAccepted``'s JSON."""
    return await answer_once(
        context,
        actor,
        once,
        201,
        lambda session, batch: report_answer(session, batch, context, actor, body),
    )


async def report_answer(
    session: AsyncSession, batch: WriteBatch, context: AppContext, actor: Actor, body: ReportCreate
) -> ReportAccepted:
    """Take the report in (``take_report``) at this moment; the answer is what it gives."""
    return await take_report(session, batch, context, actor, body, utcnow())


def check_jurisdiction(
    actor: Actor, snapshots: Sequence[SnapshotCreate], grids: GridRegistry
) -> None:
    """A dispatcher limited to a region reports only the grids within it."""
    if actor.region is None:
        return
    for i, snapshot in enumerate(snapshots):
        if not grids.is_within(snapshot.region, actor.region):
            field = f"snapshots[{i}].region"
            raise Forbidden(
                Said(
                    "{field}：此调度员只能报送 {region} 范围内的电网，不能报送 {grid}",
                    field=field,
                    region=actor.region,
                    grid=snapshot.region,
                ),
                field=field,
            )


def basis_json(basis: Iterable[Basis]) -> list[dict[str, Any]]:
    """The basis as stored: exact decimals kept as strings."""
    return [
        {
            "scope": b.scope,
            "region": b.region,
            "level": b.level,
            "clause": b.clause,
            "metric": b.metric,
            "value": str(b.value),
            "threshold": b.threshold,
        }
        for b in basis
    ]


async def take_report(
    session: AsyncSession,
    batch: WriteBatch,
    context: AppContext,
    actor: Actor,
    body: ReportCreate,
    now: datetime,
) -> ReportAccepted:
    """Store ``body`` and move its event; the caller writes the batch and commits."""
    grids = context.playbooks.grids
    check_grids(body.snapshots, grids)
    check_jurisdiction(actor, body.snapshots, grids)
    # What the report says alone is worked out before its event is locked: the lock is held
    # only for what depends on the event.
    report_class = classify(body.snapshots, context.playbooks.rules)
    report_id = uuid.uuid4()
    measured = [s.model_dump() for s in body.snapshots]

    event = await open_event(
        session,
        batch,
        actor,
        now,
        event_id=body.event_id,
        regions=[s.region for s in body.snapshots],
        drill=body.drill,
        opened_by="a report",
        clause="4",
    )
    # A drill's report is observed on the drill's clock, which may run ahead of the service's.
    now = event_time(event, now)
    limit = now + context.settings.future_tolerance
    if body.observed_at > limit:
        raise InvalidInput(
            "observed_at",
            Said(
                "observed_at {at} 超出当前时间 {seconds} 秒以上",
                at=body.observed_at.isoformat(),
                seconds=context.settings.future_tolerance_seconds,
            ),
        )
    opened = batch.holds(event)
    before = (event.level, event.response_level)
    event_grids = {} if opened else await grids_of(session, event)
    worse = relapse(event, event_grids, body)  # the grids as they stood before it, plan 5.5
    event_class, new_grids, hit = merge_grids(event_grids, event, body, context.playbooks.rules)
    timeline.record(
        batch,
        event,
        "report",
        actor,
        _report_summary(report_class, len(body.snapshots)),
        clause="1.5",
        at=now,
        report_id=str(report_id),
        level=report_class.level,
        cause=body.cause,
    )
    if worse:
        await void_worsened(session, batch, event, worse, report_id, now)
    if body.etr is not None:
        event.etr = body.etr
    event.updated_at = now
    await _advance(
        session, batch, context.playbooks, event, actor, report_class, event_class, hit, now
    )
    if not opened:
        await level_notice(session, batch, event, before, now)
    # The report's own rows are new by definition: they go in with the event's other new rows
    # in one round trip, with none of the unit of work's bookkeeping.
    batch.add(
        table_of(Report),
        [
            {
                "id": report_id,
                "event_id": event.id,
                "observed_at": body.observed_at,
                "received_at": now,
                "cause": body.cause,
                "etr": body.etr,
                "note": body.note,
                "level": report_class.level,
                "basis": basis_json(report_class.basis),
                "actor_id": actor.id,
            }
        ],
    )
    batch.add(
        table_of(ReportSnapshot),
        [
            {
                "report_id": report_id,
                "event_id": event.id,
                "observed_at": body.observed_at,
                **snapshot,
            }
            for snapshot in measured
        ],
    )
    batch.add(table_of(EventGrid), new_grids)
    return ReportAccepted(
        event_id=event.id,
        report_id=report_id,
        level=report_class.level,
        level_name=report_class.level_name,
        event_level=event.level,
        peak_level=event.peak_level,
        response_level=event.response_level,
        state=event.state,
        leading_hq=HQ.of(event.leading_hq, grids),
        basis=[BasisRead.of(b) for b in report_class.basis],
    )


async def _advance(
    session: AsyncSession,
    batch: WriteBatch,
    playbooks: Playbooks,
    event: Event,
    actor: Actor,
    report_class: Classification,
    event_class: Classification,
    hit: Hit,
    now: datetime,
) -> None:
    """Plan 5.1: a level reaching IV starts the response; a higher one raises it at once.

    The level a report "reached" is the higher of its own and the event's as it now stands, so a
    late report that shows a worse moment still counts. Levels are never lowered here, nor is
    the lead handed down. An event that opens sets its monitoring going (plan 3.2.1); a report
    naming a county hit anew during a response gives that county's HQ its duties (plan 2.2).
    """
    reached = max_level(report_class.level, event_class.level)
    event.level = event_class.level
    event.basis = basis_json(event_class.basis)
    graded = event_grade(event.peak_level, event.response_level)
    event.peak_level = max_level(event.peak_level, reached)
    before = event.state
    opened = batch.holds(event)
    fire(event, "report", reaches_response=level_rank(reached) > 0)
    if opened:
        # Told before the duties it brings: its level and state as the report leaves them.
        outbox.emit(batch, event, "event.opened", at=now)
        # Plan 3.2.1: the power company's monitoring goes with every event, one that opens
        # straight into a response as well (it ends with the response, plan 5.5).
        await open_monitoring(session, batch, playbooks, event, actor, now)
    if event.state != "response" or reached is None:
        return
    basis = event_class.basis + report_class.basis
    local = local_regions(hit.after)
    if before != "response":
        lead = leading_hq(reached, basis) or CITY_HQ
        summary = f"level {reached} response started by the system on the report"
        scene = Scene(lead, local)
        # Who decided (plan 2.1 has the government consent to the HQ; the service's documented
        # choice is to start the response on the report's figures, the HQ records the consent)
        await begin_response(
            session,
            batch,
            playbooks,
            event,
            reached,
            scene,
            actor,
            now,
            summary,
            decided_by="service",
        )
        return
    if level_rank(reached) > level_rank(event.response_level):
        lead = higher_lead(event.leading_hq, leading_hq(reached, basis) or CITY_HQ)
        reason = f"a report reached level {reached}"
        scene = Scene(lead, local)
        await change_level(
            session, batch, playbooks, event, reached, scene, actor, now, reason, by_report=True
        )
        return
    regraded = event_grade(event.peak_level, event.response_level) != graded
    if regraded:
        # A response held above the figures (a commander raised it) sees its grade rise: plan 6
        # follows the grade (its duties go out below).
        scene = Scene(acting_hq(event.leading_hq), local)
        await follow_grade(session, batch, playbooks, event, scene, actor, now)
    candidate = leading_hq(event.response_level, basis)
    if candidate is not None and hq_rank(candidate) > hq_rank(event.leading_hq):
        previous_hq = event.leading_hq
        event.leading_hq = candidate
        timeline.record(
            batch,
            event,
            "leading_hq_changed",
            actor,
            f"several grids now reach {event.response_level}: {candidate} leads "
            "(the service's rule, design § Who leads; plan 2.2 says the city leads 必要时)",
            clause="5.1",
            at=now,
            leading_hq=candidate,
            previous=previous_hq,
        )
        await hand_over(session, batch, playbooks, event, candidate, actor, now, clause="5.1")
    if (hit.after - hit.before or regraded) and event.response_level is not None:
        # A county hit anew: its HQ's duties (plan 2.2), and the cross-region ones now due; a
        # new grade: its plan 6 duties.
        items = started_items(playbooks, event)
        scene = Scene(acting_hq(event.leading_hq), local)
        # plan 4: a county hit anew reports (a run of the chain for it)
        anew = sorted(hit.after - hit.before)
        runs: RunReason | None = "county" if anew else None
        await dispatch(
            session,
            batch,
            playbooks,
            event,
            items,
            actor,
            now,
            scene,
            reopen=False,
            runs=runs,
            areas=anew,
        )


def _report_summary(result: Classification, grid_count: int) -> str:
    level = f"level {result.level} ({result.level_name})" if result.level else "below threshold"
    return f"report on {grid_count} grid(s): {level}"
