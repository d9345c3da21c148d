"""playbooks/agencies.yaml held against design § Agencies; the checks on broken files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from service.errors import PlaybookError
from service.plan.addressees import Scene
from service.playbooks.agencies import AgencyRegistry, load_agencies
from service.playbooks.grids import load_regions
from tests.helpers import MEMBER_UNITS, OTHER_UNITS, PLAYBOOKS_DIR

AGENCIES = load_agencies(PLAYBOOKS_DIR / "agencies.yaml")
PLAYBOOKS = PLAYBOOKS_DIR


def test_agencies_have_the_design_codes() -> None:
    members = [(a.code, a.name) for a in AGENCIES if a.kind == "member-unit"]
    assert members == list(MEMBER_UNITS.items())
    for code, (name, kind) in OTHER_UNITS.items():
        agency = AGENCIES.get(code)
        assert agency is not None
        assert (agency.name, agency.kind) == (name, kind)


def test_each_grid_has_its_hq_agency() -> None:
    grids = load_regions(PLAYBOOKS / "regions.yaml")
    hqs = [a for a in AGENCIES if a.kind == "hq"]
    assert sorted(a.region or "" for a in hqs) == sorted(g.code for g in grids)
    for grid in grids:
        code = AGENCIES.hq_for_region(grid.code)
        agency = AGENCIES.get(code)
        assert agency is not None
        assert agency.name == grids.hq_short_name(grid.code)
        if grid.scope == "county":
            assert code == f"hq-{grid.code}"
    assert AGENCIES.hq_for_region("330000") == "hq-province"
    assert AGENCIES.hq_for_region("330600") == "hq-city"
    with pytest.raises(KeyError):
        AGENCIES.hq_for_region("330699")


def test_a_role_names_the_units_of_the_scene() -> None:
    """The symbolic agencies resolve against the event (service.plan.addressees): the counties
    hit by their HQs, the 事发地 power authority by the county HQ or 市经信委."""
    two = Scene("330600", ("330603", "330604"))
    city_only = Scene("330600")
    assert AGENCIES.addressees("leading-hq", two) == ["hq-city"]
    assert AGENCIES.addressees("county-hq", two) == ["hq-330603", "hq-330604"]
    assert AGENCIES.addressees("county-hq", city_only) == []
    assert AGENCIES.addressees("local-power-authority", two) == ["hq-330603", "hq-330604"]
    assert AGENCIES.addressees("local-power-authority", city_only) == ["economy-it"]
    assert AGENCIES.addressees("local-power-authority", Scene("330000", ("330000",))) == [
        "provincial-drc"
    ]
    assert AGENCIES.addressees("police-anything", two) == ["police-anything"]
    assert AGENCIES.addressees("finance", two) == ["finance"]


def test_registry_lookup() -> None:
    assert "hq-city" in AGENCIES
    assert "mayor" not in AGENCIES
    assert AGENCIES.get("mayor") is None
    assert len(AgencyRegistry([])) == 0


def _agencies(*changes: dict[str, Any]) -> str:
    base = {"code": "finance", "name": "市财政局", "kind": "member-unit", "clauses": ["5.2.3"]}
    return yaml.safe_dump({"agencies": [{**base, **c} for c in changes]}, allow_unicode=True)


HQ = {"code": "hq-city", "name": "市应急指挥部", "kind": "hq", "region": "330600"}


BROKEN_AGENCIES = [
    pytest.param("agencies:\n  - code: a: b\n", "line 2", "malformed YAML", id="malformed"),
    pytest.param("- code: x\n", "(file)", "a mapping with an 'agencies' list", id="list"),
    pytest.param(_agencies({}) + "x: 1\n", "x", "unknown key", id="extra-top-key"),
    pytest.param("agencies: []\n", "agencies", "non-empty list of agencies", id="empty"),
    pytest.param("agencies: [x]\n", "agencies[0]", "expected a mapping", id="not-mapping"),
    pytest.param(_agencies({"phone": "1"}), "finance", "phone: Extra inputs", id="extra-field"),
    pytest.param(_agencies({"code": "Fin"}), "Fin", "code: String should match", id="code"),
    pytest.param(_agencies({"name": " "}), "finance", "name: must not be empty", id="name"),
    pytest.param(_agencies({"kind": "ngo"}), "finance", "kind: Input should be", id="kind"),
    pytest.param(
        _agencies({"clauses": ["9.9"]}),
        "finance",
        "clauses.0: '9.9' is not a clause of the plan",
        id="clause",
    ),
    pytest.param(_agencies({"clauses": []}), "finance", "clauses: List should have", id="none"),
    pytest.param(
        _agencies({**HQ, "region": None}), "hq-city", "an hq agency needs the region", id="hq"
    ),
    pytest.param(
        _agencies({"region": "330600"}), "finance", "only an hq agency has a region", id="region"
    ),
    pytest.param(
        _agencies({**HQ, "region": "33060"}), "hq-city", "6-digit GB/T 2260 code", id="region-5"
    ),
    pytest.param(
        _agencies({**HQ, "region": 330600}),
        "hq-city",
        "region: Input should be a valid string",
        id="region-int",
    ),
    pytest.param(_agencies({}, {}), "finance", "duplicate code (also agencies[0])", id="dup"),
    pytest.param(
        _agencies({"code": "mayor", "kind": "symbolic"}),
        "mayor",
        "no rule resolves the symbolic agency 'mayor'",
        id="symbolic-unknown",
    ),
    pytest.param(
        _agencies({"authority_for": "3306"}), "finance", "authority_for must be a 6-digit", id="af"
    ),
    pytest.param(
        _agencies(
            {"authority_for": "330600"},
            {"code": "water", "name": "市水利局", "authority_for": "330600"},
        ),
        "water",
        "authority_for 330600 already has one (finance)",
        id="two-authorities",
    ),
    pytest.param(
        _agencies(HQ, {**HQ, "code": "hq-other"}),
        "hq-other",
        "region 330600 already has an HQ (hq-city)",
        id="two-hqs",
    ),
]


@pytest.mark.parametrize(("text", "entry", "reason"), BROKEN_AGENCIES)
def test_broken_agencies_file(tmp_path: Path, text: str, entry: str, reason: str) -> None:
    path = tmp_path / "agencies.yaml"
    path.write_text(text, encoding="utf-8")

    with pytest.raises(PlaybookError) as caught:
        load_agencies(path)

    assert (caught.value.file, caught.value.entry) == (str(path), entry)
    assert reason in caught.value.reason
