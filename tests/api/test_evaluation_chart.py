"""The restoration curve of the evaluation report (service.api.evaluation_report), drawn alone:
its time axis labelled at round steps in Beijing time, its series each in a colour of its own."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from service.api.evaluation_report import restoration_chart
from service.flows.events.schemas import RestorationPoint

T0 = datetime(2026, 7, 20, 6, 0, tzinfo=UTC)  # 14:00 in Beijing


def curve(*points: tuple[float, str]) -> list[RestorationPoint]:
    return [RestorationPoint(at=T0 + timedelta(minutes=m), overall=Decimal(v)) for m, v in points]


def x_labels(svg: str) -> list[str]:
    axis = svg[svg.index('class="axis x"') : svg.index('class="series')]
    return re.findall(r"<text [^>]*>([^<]*)</text>", axis)


@pytest.mark.parametrize(
    ("minutes", "labels"),
    [
        (200, ["14:00", "14:30", "15:00", "15:30", "16:00", "16:30", "17:00", "17:30"]),
        (50, ["14:00", "14:10", "14:20", "14:30", "14:40", "14:50", "15:00"]),
        (
            30 * 60,  # past midnight in Beijing: the day is shown
            ["07-20 12:00", "07-20 18:00", "07-21 00:00", "07-21 06:00", "07-21 12:00"],
        ),
    ],
)
def test_the_time_axis_is_labelled_at_round_beijing_times(minutes: int, labels: list[str]) -> None:
    points = curve((0, "0"), (minutes / 2, "0.5"), (minutes, "0.9"))
    svg = restoration_chart(points, T0 + timedelta(minutes=minutes))
    assert svg is not None
    assert x_labels(svg)[: len(labels)] == labels
    assert "北京时间" in svg


def test_the_curve_the_reports_and_the_threshold_have_their_own_colours() -> None:
    svg = restoration_chart(curve((0, "0"), (90, "0.6")), T0 + timedelta(minutes=120))
    assert svg is not None
    colours = [re.search(rf"\.color-{n} [^{{]*\{{stroke:(#[0-9a-f]{{6}})", svg) for n in range(3)]
    found = [c.group(1) for c in colours if c is not None]
    assert len(found) == 3 and len(set(found)) == 3, found


def test_no_figures_no_chart() -> None:
    assert restoration_chart([], T0) is None
