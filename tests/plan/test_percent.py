"""How a share reads (service.plan.percent): a measured figure rounded down to a tenth of a
percent, so that it never reads as a bound it falls short of (plan 5.5: 80% 以上 includes the
number, 0.79996 is not 80%); a bound of the plan's tables as the plan writes it."""

from __future__ import annotations

from decimal import Decimal

import pytest

from service.plan.percent import exact_percent, percent
from service.plan.termination import KEY_AREA_RESTORED, OVERALL_RESTORED
from service.playbooks.classification import load_rules
from tests.helpers import PLAYBOOKS_DIR


@pytest.mark.parametrize(
    ("fraction", "shown"),
    [
        (Decimal("0.79996"), "79.9%"),
        (Decimal("0.7999999999"), "79.9%"),
        (Decimal("0.8"), "80.0%"),
        (Decimal("0.80001"), "80.0%"),
        (Decimal("0.89999"), "89.9%"),
        (Decimal("0.9"), "90.0%"),
        (Decimal("1"), "100.0%"),
        (Decimal("0"), "0.0%"),
        (Decimal("0.00099"), "0.0%"),
        (0.79996, "79.9%"),  # a chart's float
        (0.3, "30.0%"),  # the float just below 0.3 still reads 30.0%
        (0.8, "80.0%"),
        (None, "—"),
    ],
)
def test_a_figure_is_rounded_down_to_a_tenth(fraction: Decimal | float | None, shown: str) -> None:
    assert percent(fraction) == shown


def _bounds() -> list[Decimal]:
    """Every bound the plan compares a share with: 5.5's two, and each of 1.5's bands."""
    bands = [
        band
        for rule in load_rules(PLAYBOOKS_DIR / "classification.yaml").rules
        for band in (rule.load_lost, rule.customers_out)
        if band is not None
    ]
    found = {OVERALL_RESTORED, KEY_AREA_RESTORED}
    found |= {band.min for band in bands} | {band.below for band in bands if band.below}
    return sorted(found)


@pytest.mark.parametrize("bound", _bounds(), ids=exact_percent)
def test_a_figure_reads_at_or_above_a_bound_exactly_when_it_is(bound: Decimal) -> None:
    """What the page shows and what the rule decides agree on either side of every bound."""
    steps = [Decimal(10) ** -k for k in range(3, 13)]
    figures = [bound - step for step in steps] + [bound] + [bound + step for step in steps]
    for figure in figures:
        shown = Decimal(percent(figure).removesuffix("%"))
        assert (shown >= bound * 100) is (figure >= bound), (figure, percent(figure))


@pytest.mark.parametrize(
    ("bound", "shown"),
    [
        (Decimal("0.80"), "80%"),
        (Decimal("0.9"), "90%"),
        (Decimal("0.13"), "13%"),
        (Decimal("0.05"), "5%"),
        (Decimal("0.135"), "13.5%"),
        (Decimal("1"), "100%"),
    ],
)
def test_a_bound_reads_as_the_plan_writes_it(bound: Decimal, shown: str) -> None:
    assert exact_percent(bound) == shown
