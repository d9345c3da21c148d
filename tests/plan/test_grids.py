"""The grid registry (service.plan.grids): lookup, nesting and the HQ of each grid."""

from __future__ import annotations

import pytest

from service.plan.grids import Grid, GridRegistry
from service.playbooks.grids import load_regions
from tests.helpers import PLAYBOOKS_DIR

GRIDS = load_regions(PLAYBOOKS_DIR / "regions.yaml")


def test_lookup() -> None:
    assert "330603" in GRIDS
    assert "330699" not in GRIDS
    assert 330603 not in GRIDS
    assert GRIDS.get("330699") is None


@pytest.mark.parametrize(
    ("code", "ancestor", "within"),
    [
        ("330603", "330603", True),
        ("330603", "330600", True),
        ("330603", "330000", True),
        ("330600", "330000", True),
        ("330000", "330000", True),
        ("330600", "330603", False),
        ("330000", "330600", False),
        ("330603", "330602", False),
        ("330699", "330000", False),
        ("330603", "330699", False),
    ],
)
def test_is_within(code: str, ancestor: str, within: bool) -> None:
    assert GRIDS.is_within(code, ancestor) is within


def test_ancestors_nearest_first() -> None:
    assert [g.code for g in GRIDS.ancestors("330681")] == ["330600", "330000"]
    assert GRIDS.ancestors("330000") == []


@pytest.mark.parametrize(
    ("code", "full", "short"),
    [
        ("330000", "浙江省大面积停电事件应急指挥部", "省应急指挥部"),
        ("330600", "绍兴市大面积停电事件应急指挥部", "市应急指挥部"),
        ("330603", "柯桥区大面积停电事件应急指挥部", "柯桥区应急指挥部"),
        ("330681", "诸暨市大面积停电事件应急指挥部", "诸暨市应急指挥部"),
    ],
)
def test_hq_names(code: str, full: str, short: str) -> None:
    assert GRIDS.hq_name(code) == full
    assert GRIDS.hq_short_name(code) == short


def test_hq_name_of_unknown_grid() -> None:
    with pytest.raises(KeyError):
        GRIDS.hq_name("330699")


def test_registry_from_grids() -> None:
    registry = GridRegistry([Grid("330000", "浙江省电网", "province", None, False)])
    assert [g.code for g in registry] == ["330000"]


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("柯桥区", "330603"),
        ("柯桥区电网", "330603"),
        (" 越城区 ", "330602"),
        ("绍兴市电网", "330600"),
        ("绍兴市", "330600"),
        ("浙江省", "330000"),
        ("柯桥", None),
        ("杭州市", None),
        ("330603", None),
        ("", None),
    ],
)
def test_code_named(name: str, code: str | None) -> None:
    assert GRIDS.code_named(name) == code
