"""The grids of playbooks/regions.yaml and the checks on a regions file."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from service.errors import PlaybookError
from service.plan.grids import Grid
from service.playbooks.files import read_yaml
from service.playbooks.grids import load_regions
from tests.helpers import PLAYBOOKS_DIR

REGIONS_FILE = PLAYBOOKS_DIR / "regions.yaml"
GRIDS = load_regions(REGIONS_FILE)
COUNTIES = ["330602", "330603", "330604", "330624", "330681", "330683"]


def test_real_file_lists_the_plan_grids() -> None:
    assert [g.code for g in GRIDS] == ["330000", "330600", *COUNTIES]
    assert len(GRIDS) == 8
    assert GRIDS.get("330000") == Grid("330000", "浙江省电网", "province", None, False)
    assert GRIDS.get("330600") == Grid("330600", "绍兴市电网", "city", "330000", False)
    assert [g.name for g in GRIDS if g.scope == "county"] == [
        "越城区",
        "柯桥区",
        "上虞区",
        "新昌县",
        "诸暨市",
        "嵊州市",
    ]
    for code in COUNTIES:
        grid = GRIDS.get(code)
        assert grid is not None
        assert (grid.scope, grid.parent) == ("county", "330600")


def test_only_yuecheng_is_a_key_area() -> None:
    assert [g.code for g in GRIDS if g.key_area] == ["330602"]


def test_the_county_level_cities_are_the_important_cities() -> None:
    """Plan 5.5's 重要城市, in Shaoxing's terms: the 市 among plan 1.5's 区、县(市)."""
    assert [(g.code, g.name) for g in GRIDS if g.important_city] == [
        ("330681", "诸暨市"),
        ("330683", "嵊州市"),
    ]


# --- broken files -------------------------------------------------------------------------------


def _with(change: Callable[[dict[str, Any]], Any]) -> str:
    data = read_yaml(REGIONS_FILE)  # libyaml: these run at collection, for each case
    data = copy.deepcopy(data)
    change(data)
    return yaml.safe_dump(data, allow_unicode=True)


def _entry(code: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    def find(data: dict[str, Any]) -> dict[str, Any]:
        found: dict[str, Any] = next(e for e in data["regions"] if e["code"] == code)
        return found

    return find


def _set(code: str, /, **fields: Any) -> Callable[[dict[str, Any]], Any]:
    return lambda data: _entry(code)(data).update(fields)


BROKEN_FILES = [
    pytest.param(
        "regions:\n  - code: '330000'\n    name: a: b\n",
        "line 3",
        "malformed YAML: mapping values are not allowed",
        id="malformed",
    ),
    pytest.param("- code: '330000'\n", "(file)", "expected a mapping", id="top-level-list"),
    pytest.param("", "(file)", "expected a mapping", id="empty"),
    pytest.param(_with(lambda d: d.update(version=1)), "version", "unknown key", id="extra-top"),
    pytest.param("regions: {}\n", "regions", "non-empty list", id="regions-not-a-list"),
    pytest.param("regions: []\n", "regions", "non-empty list", id="regions-empty"),
    pytest.param(
        _with(lambda d: d["regions"].append("330699")),
        "regions[8]",
        "expected a mapping",
        id="entry-not-a-mapping",
    ),
    pytest.param(
        _with(_set("330604", scope="town")),
        "330604",
        "scope: Input should be 'province', 'city' or 'county'",
        id="unknown-scope",
    ),
    pytest.param(
        _with(_set("330604", code="33060")),
        "33060",
        "code: must be a 6-digit GB/T 2260 code, got '33060'",
        id="code-five-digits",
    ),
    pytest.param(
        _with(_set("330604", code="33060A")),
        "33060A",
        "code: must be a 6-digit GB/T 2260 code",
        id="code-not-digits",
    ),
    pytest.param(
        _with(_set("330604", code=330604)),
        "regions[4]",
        "code: Input should be a valid string",
        id="code-unquoted",
    ),
    pytest.param(
        _with(_set("330604", key_area="yes please")),
        "330604",
        "key_area: Input should be a valid boolean",
        id="key-area-not-bool",
    ),
    pytest.param(
        _with(lambda d: _entry("330604")(d).pop("key_area")),
        "330604",
        "key_area: Field required",
        id="key-area-missing",
    ),
    pytest.param(
        _with(lambda d: _entry("330604")(d).pop("important_city")),
        "330604",
        "important_city: Field required",
        id="important-city-missing",
    ),
    pytest.param(
        _with(_set("330604", important_city=1)),
        "330604",
        "important_city: Input should be a valid boolean",
        id="important-city-not-bool",
    ),
    pytest.param(
        _with(_set("330602", important_city=True)),
        "330602",
        "important_city: 越城区 is not a city (a 市)",
        id="important-city-a-district",
    ),
    pytest.param(
        _with(_set("330000", important_city=True)),
        "330000",
        "important_city: 浙江省电网 is not a city (a 市)",
        id="important-city-the-province",
    ),
    pytest.param(
        _with(_set("330604", population=1)),
        "330604",
        "population: Extra inputs are not permitted",
        id="extra-field",
    ),
    pytest.param(
        _with(_set("330604", code="330603")),
        "330603",
        "duplicate code (also regions[3])",
        id="duplicate-code",
    ),
    pytest.param(
        _with(_set("330604", parent="330699")),
        "330604",
        "parent 330699 is not a grid in this file",
        id="parent-unknown",
    ),
    pytest.param(
        _with(_set("330604", parent="330000")),
        "330604",
        "parent 330000 is a province grid; a county's parent must be a city grid",
        id="county-under-province",
    ),
    pytest.param(
        _with(_set("330604", parent="330603")),
        "330604",
        "parent 330603 is a county grid; a county's parent must be a city grid",
        id="county-under-county",
    ),
    pytest.param(
        _with(_set("330600", parent="330602")),
        "330600",
        "parent 330602 is a county grid; a city's parent must be a province grid",
        id="city-under-county",
    ),
    pytest.param(
        _with(_set("330604", parent=None)),
        "330604",
        "a county grid needs a city grid as parent",
        id="county-without-parent",
    ),
    pytest.param(
        _with(_set("330000", parent="330600")),
        "330000",
        "a province grid has no parent",
        id="province-with-parent",
    ),
    pytest.param(
        _with(_set("330600", scope="province", parent=None)),
        "330600",
        "exactly one province grid is needed, found 2",
        id="two-provinces",
    ),
    pytest.param(
        _with(lambda d: d["regions"].pop(0)),
        "regions",
        "exactly one province grid is needed, found 0",
        id="no-province",
    ),
]


@pytest.mark.parametrize(("text", "entry", "reason"), BROKEN_FILES)
def test_broken_regions_file(tmp_path: Path, text: str, entry: str, reason: str) -> None:
    path = tmp_path / "regions.yaml"
    path.write_text(text, encoding="utf-8")

    with pytest.raises(PlaybookError) as caught:
        load_regions(path)

    assert (caught.value.file, caught.value.entry) == (str(path), entry)
    assert reason in caught.value.reason


def test_missing_regions_file(tmp_path: Path) -> None:
    with pytest.raises(PlaybookError, match="cannot read") as caught:
        load_regions(tmp_path / "nope.yaml")
    assert caught.value.entry == "(file)"
