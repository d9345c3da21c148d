"""Restoration figures (plan 5.5 condition 2): restored = 1 − latest lost ÷ peak lost, per grid
and over the widest scope reported."""

from __future__ import annotations

from decimal import Decimal

import pytest

from service.plan.restoration import GridLoss, restoration, restored_fraction


@pytest.mark.parametrize(
    ("latest", "peak", "restored"),
    [
        ("20", "100", "0.8"),
        ("15.1", "151.0", "0.9"),
        ("60.4", "302.0", "0.8"),
        ("1491118.62", "7455593.1", "0.8"),  # floats make it 0.7999999999999999
        # the widest figures a report carries: still exact to the last place
        ("99999999.9999999", "999999999.999999", "0.9"),
        ("0", "0", "1"),  # a grid that never lost load is wholly restored
        ("120", "100", "0"),
    ],
)
def test_restored_fraction(latest: str, peak: str, restored: str) -> None:
    assert restored_fraction(Decimal(latest), Decimal(peak)) == Decimal(restored)


@pytest.mark.parametrize(
    ("latest", "peak", "bound"),
    [
        ("15.100001", "151.0", "0.9"),
        ("100000000", "999999999.999999", "0.9"),  # 0.9 − 1e-16 or so
        ("40.000001", "200", "0.8"),
    ],
)
def test_the_smallest_step_short_of_a_bound_stays_below_it(
    latest: str, peak: str, bound: str
) -> None:
    assert restored_fraction(Decimal(latest), Decimal(peak)) < Decimal(bound)


def test_restoration_uses_the_widest_scope() -> None:
    result = restoration(
        [
            GridLoss("330600", "city", Decimal(100), Decimal(1000)),
            GridLoss("330603", "county", Decimal(50), Decimal(50)),
        ]
    )
    assert result.scope == "city"
    assert result.overall == Decimal("0.9")
    assert result.grids == {"330600": Decimal("0.9"), "330603": Decimal(0)}


def test_restoration_sums_counties() -> None:
    result = restoration(
        [
            GridLoss("330603", "county", Decimal(10), Decimal(60)),
            GridLoss("330604", "county", Decimal(10), Decimal(40)),
        ]
    )
    assert result.overall == Decimal("0.8")
    assert restoration([]).overall is None
