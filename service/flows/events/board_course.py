"""What the wall display shows of an event's course beside its duties (design § Board): the
load lost and the customers out as the grids now stand, the response levels it was set to, and
its restoration after each report.

Counted as the termination check counts restoration (``service.plan.restoration``): over the
grids of the widest scope any report named, so a city's figure is not added to its counties'.
The level history and the curve are read as the evaluation report reads them
(``service.flows.events.history``, ``service.plan.evaluation.restoration_curve``), so the board
and the report never tell two stories of one event.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models import Report, ReportSnapshot
from service.flows.events import history
from service.plan.evaluation import (
    CurvePoint,
    GridFigure,
    LevelSet,
    ReportFigures,
    restoration_curve,
)
from service.plan.restoration import SCOPE_WIDTH


@dataclass(frozen=True, slots=True)
class GridNow:
    """One grid of an event as its latest report left it (models.EventGrid's figures)."""

    region: str
    scope: str
    load_lost_mw: Decimal
    customers_out: int | None


@dataclass(frozen=True, slots=True)
class Loss:
    """Plan 1.5's two measures as they stand: MW of load lost and customers (户) out, over the
    widest scope reported; ``customers_out`` None while no report of that scope gave it."""

    load_lost_mw: Decimal | None
    customers_out: int | None
    scope: str | None


NO_LOSS = Loss(None, None, None)


def loss_now(grids: Iterable[GridNow]) -> Loss:
    """The load lost and the customers out now, over the widest scope reported."""
    rows = list(grids)
    if not rows:
        return NO_LOSS
    widest = max(rows, key=lambda g: SCOPE_WIDTH[g.scope]).scope
    chosen = [g for g in rows if g.scope == widest]
    known = [g.customers_out for g in chosen if g.customers_out is not None]
    return Loss(
        load_lost_mw=sum((g.load_lost_mw for g in chosen), Decimal(0)),
        customers_out=sum(known) if known else None,
        scope=widest,
    )


async def level_history(session: AsyncSession, event_id: uuid.UUID) -> list[LevelSet]:
    """The response levels the event was set to, oldest first, with who set each."""
    found = await history.timeline_entries(session, event_id, history.LEVEL_KINDS)
    return history.level_sets(found)


async def restoration_curves(
    session: AsyncSession, event_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[CurvePoint]]:
    """Each event's restoration after each of its reports, in one statement for all of them."""
    if not event_ids:
        return {}
    rows = await session.execute(
        select(
            ReportSnapshot.event_id,
            ReportSnapshot.report_id,
            ReportSnapshot.observed_at,
            Report.received_at,
            ReportSnapshot.region,
            ReportSnapshot.scope,
            ReportSnapshot.load_lost_mw,
        )
        .join(Report, Report.id == ReportSnapshot.report_id)
        .where(ReportSnapshot.event_id.in_(list(event_ids)))
        .order_by(ReportSnapshot.seq)
    )
    by_report: dict[uuid.UUID, dict[uuid.UUID, tuple[datetime, datetime, list[GridFigure]]]] = {}
    for event_id, report_id, observed_at, received_at, region, scope, lost in rows:
        reports = by_report.setdefault(event_id, {})
        reports.setdefault(report_id, (observed_at, received_at, []))[2].append(
            GridFigure(region, scope, lost)
        )
    return {
        event_id: restoration_curve(
            ReportFigures(observed, received, tuple(figures))
            for observed, received, figures in reports.values()
        )
        for event_id, reports in by_report.items()
    }
