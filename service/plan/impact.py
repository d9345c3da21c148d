"""What the outage cost and how each county came back: the 概况 and the restoration per county
of plan 6.1's evaluation (处置评估), from the figures the reports gave.

Plan 6.2 asks the investigation for the 影响范围 (the scope); the evaluation states the facts it
starts from: the most load lost at once and its share of the load, the most customers cut off at
once, the counties hit, and for each county how long after the event opened its load was back to
plan 5.5's 80 % (condition 2) and to 90 % (the figure asked of key areas). Pure functions over
the reports, replayed in the order they observed the grids as ``restoration_curve`` does.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Final

from service.plan.evaluation import GridFigure, ReportFigures, minutes_between
from service.plan.restoration import SCOPE_WIDTH, restored_fraction

# The marks a county's restoration is timed to: plan 5.5 condition 2's 80 % overall, and the
# 90 % it asks of key areas and important cities.
MARKS: Final = (Decimal("0.80"), Decimal("0.90"))


@dataclass(frozen=True, slots=True)
class Impact:
    """The worst the reports showed: load lost at its peak over the widest scope reported, the
    load it was a share of (None when no report gave the load), and the most customers out at
    once (None when no report counted them)."""

    peak_lost_mw: Decimal
    peak_at: datetime | None
    load_mw: Decimal | None
    share: Decimal | None
    customers_out: int | None


@dataclass(frozen=True, slots=True)
class CountyRestoration:
    """One county's load: its peak loss, what is still lost after the last report, its restored
    fraction, and the minutes after ``since`` at which it first reached each of ``MARKS``
    (None: not yet)."""

    region: str
    peak_lost_mw: Decimal
    latest_lost_mw: Decimal
    restored: Decimal
    minutes_to: tuple[Decimal | None, ...]


def _in_order(reports: Iterable[ReportFigures]) -> list[ReportFigures]:
    return sorted(reports, key=lambda r: (r.observed_at, r.received_at))


def impact(reports: Iterable[ReportFigures]) -> Impact:
    """The peak of the load lost at once (summed over the widest scope reported, as the overall
    restoration is) with the load it was lost from, and the peak of the customers out at once.

    After each report the grids stand at their latest figures; the peak is the largest sum any
    report left. The share is that sum over the same grids' load then: 130 MW of 200 MW is 0.65.
    """
    latest: dict[str, GridFigure] = {}
    worst = Impact(Decimal(0), None, None, None, None)
    customers: int | None = None
    for report in _in_order(reports):
        for grid in report.grids:
            latest[grid.region] = grid
        widest = max(SCOPE_WIDTH[g.scope] for g in latest.values())
        chosen = [g for g in latest.values() if SCOPE_WIDTH[g.scope] == widest]
        lost = sum((g.load_lost_mw for g in chosen), Decimal(0))
        counted = [g.customers_out for g in chosen if g.customers_out is not None]
        if counted:
            customers = max(customers or 0, sum(counted))
        if worst.peak_at is None or lost > worst.peak_lost_mw:
            loads = [g.load_mw for g in chosen]
            load = None if None in loads else sum((x for x in loads if x is not None), Decimal(0))
            share = lost / load if load else None
            worst = Impact(lost, report.observed_at, load, share, None)
    return Impact(worst.peak_lost_mw, worst.peak_at, worst.load_mw, worst.share, customers)


def county_restoration(
    reports: Iterable[ReportFigures], since: datetime
) -> list[CountyRestoration]:
    """Each county that lost load, in the order the reports first named it, with the minutes
    from ``since`` (the event's opening) to the first report that showed it at or above each
    mark. The fraction is plan 5.5's (1 − latest ÷ peak so far), so a county is timed to a mark
    only once it had lost load and got that share of its worst back."""
    peak: dict[str, Decimal] = {}
    latest: dict[str, Decimal] = {}
    reached: dict[str, list[Decimal | None]] = {}
    for report in _in_order(reports):
        for grid in report.grids:
            if grid.scope != "county":
                continue
            peak[grid.region] = max(peak.get(grid.region, Decimal(0)), grid.load_lost_mw)
            latest[grid.region] = grid.load_lost_mw
            if peak[grid.region] <= 0:
                continue
            fraction = restored_fraction(grid.load_lost_mw, peak[grid.region])
            marks = reached.setdefault(grid.region, [None] * len(MARKS))
            for index, mark in enumerate(MARKS):
                if marks[index] is None and fraction >= mark:
                    marks[index] = minutes_between(since, report.observed_at)
    return [
        CountyRestoration(
            region=region,
            peak_lost_mw=peak[region],
            latest_lost_mw=latest[region],
            restored=restored_fraction(latest[region], peak[region]),
            minutes_to=tuple(marks),
        )
        for region, marks in reached.items()
    ]
