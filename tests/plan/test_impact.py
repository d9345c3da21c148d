"""The 概况 and the restoration per county of plan 6.1's evaluation, as plain functions over
reports; every figure worked out by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from service.plan.evaluation import GridFigure, ReportFigures
from service.plan.impact import county_restoration, impact

T0 = datetime(2026, 7, 20, 6, 0, tzinfo=UTC)
KEQIAO, SHANGYU, CITY = "330603", "330604", "330600"


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def grid(
    region: str, lost: str, load: str | None = "200", out: int | None = None, scope: str = "county"
) -> GridFigure:
    return GridFigure(region, scope, Decimal(lost), None if load is None else Decimal(load), out)


def observed(minute: float, *grids: GridFigure) -> ReportFigures:
    return ReportFigures(at(minute), at(minute), grids)


def test_the_peak_is_the_largest_loss_at_once_with_its_share_of_the_load() -> None:
    reports = [
        observed(0, grid(KEQIAO, "50", out=9000)),
        observed(30, grid(SHANGYU, "60", load="300", out=12000)),  # 50 + 60 of 500: 0.22
        observed(45, grid(KEQIAO, "130", out=40000)),  # 130 + 60 = 190 of 500: the peak
        observed(90, grid(KEQIAO, "20", out=1000), grid(SHANGYU, "10", load="300")),
    ]
    found = impact(reports)
    assert (found.peak_lost_mw, found.peak_at, found.load_mw) == (Decimal(190), at(45), 500)
    assert found.share == Decimal("0.38")
    # the most out at once: 40 000 in 柯桥区 and 上虞区's 12 000 at 45, more than the
    # 1 000 counted at 90 (上虞区 uncounted then)
    assert found.customers_out == 52000


def test_a_report_of_a_wider_scope_is_counted_over_its_own_grids() -> None:
    reports = [
        observed(0, grid(KEQIAO, "130")),
        observed(10, grid(CITY, "400", load="2000", scope="city"), grid(KEQIAO, "140")),
    ]
    found = impact(reports)
    assert (found.peak_lost_mw, found.load_mw, found.share) == (400, 2000, Decimal("0.2"))
    assert found.customers_out is None  # no report counted them


def test_no_load_given_leaves_the_share_unknown() -> None:
    found = impact([observed(0, grid(KEQIAO, "80", load=None))])
    assert (found.peak_lost_mw, found.load_mw, found.share) == (80, None, None)
    assert impact([]).peak_at is None


def test_each_county_is_timed_to_80_and_90_percent_from_the_opening() -> None:
    reports = [
        observed(0, grid(KEQIAO, "50"), grid(SHANGYU, "0")),
        observed(30, grid(KEQIAO, "130"), grid(SHANGYU, "100")),
        observed(90, grid(KEQIAO, "26"), grid(SHANGYU, "30")),  # 0.8 exactly; 0.7
        observed(180, grid(KEQIAO, "13"), grid(SHANGYU, "15")),  # 0.9 exactly; 0.85
    ]
    keqiao, shangyu = county_restoration(reports, since=at(0))
    assert (keqiao.region, keqiao.peak_lost_mw, keqiao.latest_lost_mw) == (KEQIAO, 130, 13)
    assert keqiao.restored == Decimal("0.9")
    assert keqiao.minutes_to == (Decimal("90.0"), Decimal("180.0"))
    assert shangyu.restored == Decimal("0.85")
    assert shangyu.minutes_to == (Decimal("180.0"), None)  # not yet at 90 %


def test_a_county_that_never_lost_load_is_not_listed() -> None:
    reports = [observed(0, grid(KEQIAO, "0")), observed(10, grid(CITY, "5", scope="city"))]
    assert county_restoration(reports, since=at(0)) == []
