"""Who leads (plan 5.1, 2.2) and who may act for whom (service.plan.jurisdiction)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from service.plan.jurisdiction import at_or_above
from service.plan.leadership import CITY_HQ, PROVINCE_HQ, commanded_lead, hq_rank, leading_hq
from service.playbooks.grids import load_regions
from tests.helpers import PLAYBOOKS_DIR


@dataclass(frozen=True)
class Fired:
    scope: str
    region: str
    level: str


@pytest.mark.parametrize(
    ("level", "basis", "lead"),
    [
        (None, [], None),
        ("I", [Fired("province", "330000", "I")], PROVINCE_HQ),
        ("II", [Fired("city", "330600", "II")], PROVINCE_HQ),
        ("III", [Fired("county", "330603", "III")], CITY_HQ),
        ("IV", [Fired("county", "330603", "IV")], "330603"),
        # the same county by load and by customers is still one county
        ("IV", [Fired("county", "330603", "IV"), Fired("county", "330603", "IV")], "330603"),
        ("IV", [Fired("county", "330603", "IV"), Fired("county", "330604", "IV")], CITY_HQ),
        ("IV", [Fired("city", "330600", "IV")], CITY_HQ),
        ("IV", [Fired("province", "330000", "IV")], CITY_HQ),
        # a county whose rule is at another level (a response lowered to IV) does not share it
        ("IV", [Fired("county", "330603", "IV"), Fired("county", "330604", "III")], "330603"),
        # discretionary response: no rule fired at its level
        ("IV", [], CITY_HQ),
    ],
)
def test_leading_hq(level: str | None, basis: list[Fired], lead: str | None) -> None:
    assert leading_hq(level, basis) == lead


def test_hq_ranks_and_jurisdiction() -> None:
    grids = load_regions(PLAYBOOKS_DIR / "regions.yaml")
    assert hq_rank(PROVINCE_HQ) > hq_rank(CITY_HQ) > hq_rank("330603") > hq_rank(None)
    assert at_or_above(CITY_HQ, "330603", grids)
    assert at_or_above(PROVINCE_HQ, "330603", grids)
    assert at_or_above("330603", "330603", grids)
    assert not at_or_above("330603", CITY_HQ, grids)
    assert not at_or_above("330603", "330604", grids)
    assert not at_or_above(None, "330603", grids)


@pytest.mark.parametrize(
    ("level", "commander", "basis", "lead"),
    [
        ("IV", "330603", [], "330603"),
        ("IV", CITY_HQ, [], CITY_HQ),
        ("IV", PROVINCE_HQ, [], CITY_HQ),
        ("IV", CITY_HQ, [Fired("county", "330604", "IV")], "330604"),
        ("III", "330603", [], CITY_HQ),
        ("II", CITY_HQ, [], PROVINCE_HQ),
    ],
)
def test_commanded_lead(level: str, commander: str, basis: list[Fired], lead: str) -> None:
    assert commanded_lead(level, commander, basis) == lead
