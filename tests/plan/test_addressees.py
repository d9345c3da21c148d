"""Roles resolved against an event, circumstances, and links (service.plan.addressees)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from service.plan.addressees import (
    Condition,
    Scene,
    hit_counties,
    holds,
    link_ready,
    local_regions,
    offices,
    reports_received,
)
from service.plan.leadership import CITY_HQ

ONE = Scene("330603", ("330603",))
TWO = Scene(CITY_HQ, ("330603", "330604"))
CITY_ONLY = Scene(CITY_HQ)


def test_the_counties_hit_are_those_a_report_showed_losing_something() -> None:
    grids = [
        ("county", "330603", Decimal("60.4"), None),
        ("county", "330604", Decimal(0), 1200),
        ("county", "330624", Decimal(0), 0),  # named, nothing lost: not hit
        ("city", "330600", Decimal(500), None),
    ]
    assert hit_counties(grids) == {"330603", "330604"}
    assert local_regions({"330604", "330603"}) == ("330603", "330604")
    assert local_regions(set()) == (CITY_HQ,)


def test_offices_by_role() -> None:
    assert offices("leading-hq", TWO) == [("hq", CITY_HQ)]
    assert offices("county-hq", TWO) == [("hq", "330603"), ("hq", "330604")]
    assert offices("county-hq", CITY_ONLY) == []
    assert offices("local-power-authority", ONE) == [("power-authority", "330603")]
    assert offices("local-power-authority", CITY_ONLY) == [("power-authority", CITY_HQ)]


@pytest.mark.parametrize(
    ("condition", "one", "two", "city_only"),
    [
        ("county_named", True, True, False),
        ("no_county_named", False, False, True),
        ("several_counties", False, True, False),
        ("reconstruction", False, False, False),
    ],
)
def test_conditions(condition: Condition, one: bool, two: bool, city_only: bool) -> None:
    assert [holds(condition, s) for s in (ONE, TWO, CITY_ONLY)] == [one, two, city_only]
    assert holds("reconstruction", Scene(CITY_HQ, reconstruction=True))


AFTER = {"report": None, "verify": "report", "up": "verify", "on": "up", "receive": "on"}


@pytest.mark.parametrize(
    ("key", "agency", "held", "ready"),
    [
        ("report", "power", {}, True),  # the first link waits for nothing
        ("verify", "hq-a", {"report": {"power": "pending"}}, False),
        ("verify", "hq-a", {"report": {"power": "acknowledged"}}, False),
        ("verify", "hq-a", {"report": {"power": "done"}}, True),
        # a cancelled link is passed over: the one before it decides
        ("verify", "hq-a", {"report": {"power": "cancelled"}}, True),
        # a county's own link before it decides for it, not another county's
        ("up", "hq-a", {"verify": {"hq-a": "pending", "hq-b": "done"}}, False),
        ("up", "hq-b", {"verify": {"hq-a": "pending", "hq-b": "done"}}, True),
        # a unit with no link of its own before it goes on at the first one done
        ("on", "city", {"up": {"hq-a": "pending", "hq-b": "done"}}, True),
        ("on", "city", {"up": {"hq-a": "pending", "hq-b": "acknowledged"}}, False),
        # a link with no action at the event is passed over
        ("on", "city", {"verify": {"city": "done"}}, True),
        ("on", "city", {"verify": {"city": "pending"}}, False),
        ("receive", "province", {"on": {"city": "done"}, "report": {"power": "pending"}}, True),
    ],
)
def test_link_ready(key: str, agency: str, held: dict[str, dict[str, str]], ready: bool) -> None:
    assert link_ready(key, agency, AFTER, held) is ready


@pytest.mark.parametrize(
    ("key", "agency", "held", "received"),
    [
        ("report", "power", {}, []),  # the first link receives nothing
        ("verify", "hq-a", {"report": {"power": "done"}}, [("report", "power")]),
        # a county's own link before it is its own work, not a report it received
        ("up", "hq-a", {"verify": {"hq-a": "done", "hq-b": "done"}}, []),
        # a unit with no link of its own before it receives every unit's report
        (
            "on",
            "city",
            {"up": {"hq-a": "pending", "hq-b": "done"}},
            [("up", "hq-a"), ("up", "hq-b")],
        ),
        # a link with no action, or cancelled, is passed over
        ("receive", "province", {"up": {"hq-a": "done"}}, [("up", "hq-a")]),
        (
            "receive",
            "province",
            {"on": {"city": "cancelled"}, "up": {"hq-a": "done"}},
            [("up", "hq-a")],
        ),
    ],
)
def test_reports_received(
    key: str, agency: str, held: dict[str, dict[str, str]], received: list[tuple[str, str]]
) -> None:
    assert reports_received(key, agency, AFTER, held) == received
