"""Plan 6.1's figures as plain functions: who led, how long, the restoration curve, and each
agency's answers against its due times. Every expected figure is worked out by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from service.plan.deadlines import DueOn
from service.plan.evaluation import (
    ActionRecord,
    GridFigure,
    LeadChange,
    ReportFigures,
    agency_figures,
    leads,
    minutes_between,
    punctuality,
    response_minutes,
    restoration_curve,
)

T0 = datetime(2026, 7, 20, 6, 0, tzinfo=UTC)
DONE: DueOn = "completion"


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def county(region: str, lost: str) -> GridFigure:
    return GridFigure(region, "county", Decimal(lost))


def observed(minute: float, *grids: GridFigure, received: float | None = None) -> ReportFigures:
    return ReportFigures(at(minute), at(minute if received is None else received), grids)


def test_minutes_are_given_to_a_tenth() -> None:
    assert minutes_between(at(0), at(190)) == Decimal("190.0")
    assert minutes_between(at(0), T0 + timedelta(seconds=100)) == Decimal("1.7")  # 1.666…
    assert minutes_between(at(0), T0 + timedelta(seconds=3)) == Decimal("0.0")  # 0.05 to even


def test_response_minutes_run_to_termination_or_now() -> None:
    assert response_minutes(at(10), at(200), now=at(500)) == Decimal("190.0")
    assert response_minutes(at(10), None, now=at(150)) == Decimal("140.0")
    assert response_minutes(None, None, now=at(150)) is None


def test_leads_keep_each_hq_from_when_it_took_over() -> None:
    changes = [
        LeadChange("330603", at(10)),
        LeadChange("330603", at(20)),  # a rise that kept the lead
        LeadChange("330600", at(30)),
        LeadChange("330000", at(90)),
    ]
    assert leads(changes) == [changes[0], changes[2], changes[3]]


def test_the_curve_replays_the_reports_in_the_order_they_observed() -> None:
    """Two counties; then the city grid is reported, and overall moves to the city's figures
    (the widest scope, as the termination check reads it)."""
    reports = [
        observed(0, county("330603", "100"), county("330604", "50")),
        # arrived last, observed second: it takes its place in time
        observed(30, county("330603", "60"), received=200),
        observed(60, county("330604", "0")),
        observed(90, GridFigure("330600", "city", Decimal("400")), county("330603", "20")),
        observed(120, GridFigure("330600", "city", Decimal("100"))),
    ]
    curve = [(p.at, p.overall) for p in restoration_curve(reversed(reports))]
    assert curve == [
        (at(0), Decimal(0)),  # every grid at its worst
        (at(30), 1 - Decimal(110) / Decimal(150)),  # 110 of the 150 MW lost still out
        (at(60), 1 - Decimal(60) / Decimal(150)),  # 330604 back: 60 of 150 still out
        (at(90), Decimal(0)),  # the city grid, at its worst
        (at(120), Decimal("0.75")),  # 1 − 100/400
    ]


def test_a_grid_that_loses_load_again_pulls_the_curve_back() -> None:
    reports = [
        observed(0, county("330603", "100")),
        observed(30, county("330603", "10")),
        observed(60, county("330603", "120")),  # worse than ever: a new peak
        observed(90, county("330603", "30")),
    ]
    overall = [p.overall for p in restoration_curve(reports)]
    assert overall == [Decimal(0), Decimal("0.9"), Decimal(0), Decimal("0.75")]


def action(
    agency: str,
    state: str = "pending",
    acknowledged: float | None = None,
    cancelled: float | None = None,
    due: float = 60,
    completed: float | None = None,
    due_on: DueOn = "acknowledgement",
) -> ActionRecord:
    return ActionRecord(
        agency=agency,
        state=state,
        dispatched_at=at(0),
        due_at=at(due),
        acknowledged_at=None if acknowledged is None else at(acknowledged),
        cancelled_at=None if cancelled is None else at(cancelled),
        completed_at=None if completed is None else at(completed),
        due_on=due_on,
    )


@pytest.mark.parametrize(
    ("record", "now", "judged"),
    [
        (action("a", "acknowledged", acknowledged=60), 500, "on_time"),  # at the due time
        (action("a", "done", acknowledged=61), 500, "late"),
        (action("a", "cancelled", acknowledged=10, cancelled=90), 500, "on_time"),
        (action("a"), 59, None),  # not due yet
        (action("a"), 61, "late"),  # due, never answered
        (action("a", "cancelled", cancelled=30), 500, None),  # cancelled before it fell due
        (action("a", "cancelled", cancelled=90), 500, "late"),  # fell due while owed
        # due on completion (plan 4's 立即报告): the acknowledgement alone is not the answer
        (action("a", "acknowledged", acknowledged=5, due_on=DONE), 59, None),
        (action("a", "acknowledged", acknowledged=5, due_on=DONE), 61, "late"),
        (action("a", "done", acknowledged=5, completed=60, due_on=DONE), 500, "on_time"),
        (action("a", "done", acknowledged=5, completed=61, due_on=DONE), 500, "late"),
        (action("a", "cancelled", acknowledged=5, cancelled=90, due_on=DONE), 500, "late"),
        (action("a", "cancelled", acknowledged=5, cancelled=30, due_on=DONE), 500, None),
    ],
)
def test_punctuality(record: ActionRecord, now: float, judged: str | None) -> None:
    assert punctuality(record, at(now)) == judged


def test_agency_figures_count_by_hand() -> None:
    actions = [
        action("publicity", "done", acknowledged=40),
        action("publicity", "acknowledged", acknowledged=90),
        action("publicity", "pending"),  # due at 60, the clock at 100: late
        action("publicity", "cancelled", cancelled=20),
        action("water", "acknowledged", acknowledged=5, due=10),
        action("water", "pending", due=240),
    ]
    figures = {f.agency: f for f in agency_figures(actions, now=at(100))}
    publicity = figures["publicity"]
    assert (publicity.dispatched, publicity.on_time, publicity.late) == (4, 1, 2)
    assert (publicity.open, publicity.cancelled) == (2, 1)
    assert publicity.median_ack_minutes == Decimal("65.0")  # (40 + 90) ÷ 2
    water = figures["water"]
    assert (water.dispatched, water.on_time, water.late, water.open) == (2, 1, 0, 2)
    assert water.median_ack_minutes == Decimal("5.0")
    assert [f.agency for f in agency_figures(actions, at(100))] == ["publicity", "water"]


def test_a_report_acknowledged_in_time_but_not_done_is_late() -> None:
    """Plan 4's report is due on its completion: taken up at once and never made, it is late
    (the issue: the evaluation called it on time); made in time, on time."""
    actions = [
        action("power-company", "acknowledged", acknowledged=5, due=30, due_on=DONE),
        action("power-company", "done", acknowledged=5, completed=25, due=30, due_on=DONE),
    ]
    [figures] = agency_figures(actions, now=at(100))
    assert (figures.on_time, figures.late, figures.acknowledged, figures.done) == (1, 1, 2, 1)


def test_an_agency_that_acknowledged_nothing_has_no_median() -> None:
    [figures] = agency_figures([action("transport")], now=at(30))
    assert figures.median_ack_minutes is None
    assert (figures.dispatched, figures.on_time, figures.late, figures.open) == (1, 0, 0, 1)
