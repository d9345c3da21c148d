"""What worsens the situation (plan 5.5, design § Termination): more load lost on a grid than an
attestation knew, or a grid newly hit. Anything else voids nothing."""

from __future__ import annotations

from decimal import Decimal

import pytest

from service.plan.relapse import Fresh, Known, Worse, worsened

KEQIAO, YUECHENG = "330603", "330602"
# What an attestation knew: 柯桥区 back to 20 MW lost (it lost 100 at worst); 越城区 in the
# event, but it never lost anything.
KNEW = {
    KEQIAO: Known.of(Decimal(20), Decimal(100), None),
    YUECHENG: Known.of(Decimal(0), Decimal(0), 0),
}


def test_known_is_hit_when_the_grid_ever_lost_load_or_customers() -> None:
    assert KNEW[KEQIAO] == Known(Decimal(20), hit=True)
    assert KNEW[YUECHENG] == Known(Decimal(0), hit=False)
    assert Known.of(Decimal(0), Decimal(0), 5).hit is True


@pytest.mark.parametrize(
    ("fresh", "worse"),
    [
        # more load lost on a grid it knew, by the least a report can carry
        (
            Fresh(KEQIAO, Decimal("20.000001")),
            [Worse(KEQIAO, Decimal(20), Decimal("20.000001"), False)],
        ),
        # as much, or less: the situation is no worse
        (Fresh(KEQIAO, Decimal(20)), []),
        (Fresh(KEQIAO, Decimal(5)), []),
        # a grid it knew had lost nothing, now losing load
        (Fresh(YUECHENG, Decimal(1)), [Worse(YUECHENG, Decimal(0), Decimal(1), True)]),
        # ... or customers only
        (Fresh(YUECHENG, Decimal(0), 30), [Worse(YUECHENG, Decimal(0), Decimal(0), True)]),
        (Fresh(YUECHENG, Decimal(0), 0), []),
        # a grid not in the event then
        (Fresh("330681", Decimal(3)), [Worse("330681", None, Decimal(3), True)]),
        (Fresh("330681", Decimal(0)), []),
    ],
)
def test_worse_is_more_load_lost_than_known_or_a_grid_newly_hit(
    fresh: Fresh, worse: list[Worse]
) -> None:
    assert worsened(KNEW, [fresh]) == worse


def test_customers_out_on_a_grid_already_hit_are_not_a_new_hit() -> None:
    assert worsened(KNEW, [Fresh(KEQIAO, Decimal(10), 5000)]) == []


def test_every_grid_worse_is_named_in_the_reports_order() -> None:
    fresh = [Fresh(YUECHENG, Decimal(2)), Fresh(KEQIAO, Decimal(1)), Fresh(KEQIAO, Decimal(30))]
    assert [w.region for w in worsened(KNEW, fresh)] == [YUECHENG, KEQIAO]
