"""Plan 5.3's approval and register, and plan 6.3's compensation, as plain rules over the grids
of playbooks/regions.yaml: which government may approve an HQ's emergency control, for which
事发地 a requisition may be registered, and which government's compensation lists it."""

from __future__ import annotations

import pytest

from service.plan.addressees import local_regions
from service.plan.requisitions import approves_for, compensates, registered_for
from service.playbooks.grids import load_regions
from tests.helpers import PLAYBOOKS_DIR

GRIDS = load_regions(PLAYBOOKS_DIR / "regions.yaml")
PROVINCE, CITY, YUECHENG, KEQIAO, SHANGYU = "330000", "330600", "330602", "330603", "330604"


@pytest.mark.parametrize(
    ("government", "hq", "approves"),
    [
        (KEQIAO, KEQIAO, True),  # the HQ's own government (plan 2.2 sets it up)
        (CITY, KEQIAO, True),  # one above it
        (PROVINCE, KEQIAO, True),
        (SHANGYU, KEQIAO, False),  # a neighbour's: not the 当地政府
        (CITY, CITY, True),
        (YUECHENG, CITY, True),  # the county where the key area lies, within the city's area
        (PROVINCE, CITY, True),
        (KEQIAO, PROVINCE, True),
        ("330100", KEQIAO, False),  # no grid of regions.yaml
    ],
)
def test_an_hq_asks_its_own_government_one_above_or_one_within(
    government: str, hq: str, approves: bool
) -> None:
    assert approves_for(government, hq, GRIDS) is approves


def test_a_requisition_is_registered_for_the_place_the_event_hits() -> None:
    hit = local_regions([SHANGYU, KEQIAO])
    assert registered_for(KEQIAO, hit) and registered_for(SHANGYU, hit)
    assert not registered_for(YUECHENG, hit)
    # the city stands for the counties only while the event names none
    assert not registered_for(CITY, hit)
    assert registered_for(CITY, local_regions([]))
    assert not registered_for(KEQIAO, local_regions([]))


@pytest.mark.parametrize(
    ("government", "region", "owed"),
    [
        (KEQIAO, KEQIAO, True),
        (KEQIAO, SHANGYU, False),  # each county its own area
        (SHANGYU, KEQIAO, False),
        (CITY, CITY, True),  # the city's, when the event names no county: all of them
        (CITY, KEQIAO, True),
        (KEQIAO, CITY, False),
    ],
)
def test_a_government_compensates_the_requisitions_of_its_own_area(
    government: str, region: str, owed: bool
) -> None:
    assert compensates(government, region, GRIDS) is owed
