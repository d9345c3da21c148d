"""Who leads (plan 5.1, 2.2) and who may act for whom (service.plan.jurisdiction)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import pytest

from service.errors import Forbidden
from service.plan.actor import Actor, Role
from service.plan.jurisdiction import at_or_above, lead_or_holder, require_hq
from service.plan.leadership import (
    CITY_HQ,
    PROVINCE_HQ,
    acting_hq,
    commanded_lead,
    higher_lead,
    hq_rank,
    leading_hq,
    may_take_lead,
)
from service.playbooks.grids import load_regions
from service.words import say, use
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


@pytest.mark.parametrize(
    ("level", "current", "taker", "refusal"),
    [
        ("III", CITY_HQ, PROVINCE_HQ, None),  # plan 5.1: 跨设区市的较大 → the province
        ("IV", "330603", PROVINCE_HQ, None),  # … and 一般
        ("IV", "330603", CITY_HQ, None),  # plan 2.2: 必要时由市政府组织指挥
        ("IV", CITY_HQ, PROVINCE_HQ, None),
        ("II", PROVINCE_HQ, PROVINCE_HQ, "the province HQ's already"),
        ("I", PROVINCE_HQ, CITY_HQ, "the province HQ's already"),
        ("III", CITY_HQ, CITY_HQ, "330600 leads already"),
        ("III", PROVINCE_HQ, CITY_HQ, "does not rank above 330000"),  # handed down: by lowering
        ("IV", "330603", "330604", "does not rank above 330603"),
        (None, None, PROVINCE_HQ, "the province HQ's already"),
    ],
)
def test_may_take_lead(
    level: str | None, current: str | None, taker: str, refusal: str | None
) -> None:
    found = may_take_lead(level, current, taker)
    if refusal is None:
        assert found is None
    else:
        assert found is not None
        with use("en"):
            assert refusal in say(found)


def test_before_any_response_the_city_hqs_authority_applies() -> None:
    assert acting_hq(None) == CITY_HQ
    assert acting_hq("330603") == "330603"
    assert acting_hq(PROVINCE_HQ) == PROVINCE_HQ


def test_a_rise_never_hands_the_lead_down() -> None:
    assert higher_lead(PROVINCE_HQ, CITY_HQ) == PROVINCE_HQ  # the province took a IV; it rises
    assert higher_lead("330603", CITY_HQ) == CITY_HQ
    assert higher_lead(None, "330603") == "330603"


def test_a_higher_hq_acting_is_cited_as_the_services_choice() -> None:
    """Plan 5.5 has the government that started the response end it; that a higher HQ may act
    for the leading one is the service's choice (design § Who leads), and the refusal says so."""
    grids = load_regions(PLAYBOOKS_DIR / "regions.yaml")
    keqiao = Actor(uuid.uuid4(), "柯桥区指挥长", "commander", region="330603")
    with pytest.raises(Forbidden) as refused:
        require_hq(keqiao, CITY_HQ, grids, "terminate the response", "5.5")
    assert refused.value.extra["rule"] == (
        "plan 5.5: the leading HQ (or, the service's choice, a higher one)"
    )
    require_hq(
        Actor(uuid.uuid4(), "省", "commander", region=PROVINCE_HQ), CITY_HQ, grids, "x", "5.5"
    )


@pytest.mark.parametrize(
    ("role", "region", "hq", "holders", "right"),
    [
        ("commander", "330603", "330603", ("agency",), "lead"),  # the leading HQ's own
        ("commander", CITY_HQ, "330603", ("agency",), "lead"),  # one above it
        ("commander", PROVINCE_HQ, CITY_HQ, ("agency",), "lead"),
        ("agency", None, "330603", ("agency",), "holder"),  # the caller checks the holding
        ("commander", "330604", "330603", ("agency",), None),  # a sister county's: 403
        ("commander", "330603", CITY_HQ, ("agency",), None),  # a lower HQ's: 403
        ("dispatcher", None, "330603", ("agency",), None),  # neither role: 403
        # where commanders may hold the duty (attest within their area), a lower one holds
        ("commander", "330603", CITY_HQ, ("dispatcher", "commander"), "holder"),
        ("commander", CITY_HQ, "330603", ("dispatcher", "commander"), "lead"),
        ("dispatcher", None, "330603", ("dispatcher", "commander"), "holder"),
        ("commander", "330603", None, ("dispatcher", "commander"), "holder"),
        ("commander", "330603", None, ("agency",), "lead"),  # no HQ leads: any commander
    ],
)
def test_the_holder_or_a_commander_of_the_lead(
    role: Role, region: str | None, hq: str | None, holders: tuple[Role, ...], right: str | None
) -> None:
    grids = load_regions(PLAYBOOKS_DIR / "regions.yaml")
    actor = Actor(
        uuid.uuid4(), "x", role, agency="hq-city" if role == "agency" else None, region=region
    )
    if right is None:
        with pytest.raises(Forbidden):
            lead_or_holder(actor, hq, grids, "act", "5.3", holders)
    else:
        assert lead_or_holder(actor, hq, grids, "act", "5.3", holders) == right
