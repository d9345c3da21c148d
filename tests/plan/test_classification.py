"""Plan 1.5 事件分级, read from the real playbooks/classification.yaml."""

from __future__ import annotations

import copy
from decimal import Decimal
from pathlib import Path
from typing import Any, cast

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from service.errors import PlaybookError
from service.plan.classification import Basis, ClassificationRules, Metric, Snapshot, classify
from service.plan.grids import Scope
from service.plan.levels import Level, level_rank, max_level
from service.playbooks.classification import load_rules
from service.playbooks.files import read_yaml
from tests.helpers import EXACT_BOUNDARIES, PLAYBOOKS_DIR, Boundary

RULES_FILE = PLAYBOOKS_DIR / "classification.yaml"
RULES = load_rules(RULES_FILE)
STEP = Decimal("0.0001")
CUSTOMERS = 10_000  # so that every boundary ± STEP is a whole number of customers

# Plan 1.5 as design § Grids and levels tabulates it, written out independently of the YAML: per
# grid scope and load, the boundaries of each metric, each with the level and clause reached at
# it (≥ boundary).
Step = tuple[str, Level, str]
PROVINCE_LOAD: list[Step] = [
    ("0.05", "IV", "1.5 一般(1)"),
    ("0.10", "III", "1.5 较大(1)"),
    ("0.13", "II", "1.5 重大(1)"),
    ("0.30", "I", "1.5 特别重大"),
]
CITY_600_LOAD: list[Step] = [
    ("0.20", "IV", "1.5 一般(2)"),
    ("0.40", "III", "1.5 较大(2)"),
    ("0.60", "II", "1.5 重大(2)"),
]
CITY_600_OUT: list[Step] = [
    ("0.30", "IV", "1.5 一般(2)"),
    ("0.50", "III", "1.5 较大(2)"),
    ("0.70", "II", "1.5 重大(2)"),
]
COUNTY_150_LOAD: list[Step] = [("0.40", "IV", "1.5 一般(3)"), ("0.60", "III", "1.5 较大(3)")]
COUNTY_150_OUT: list[Step] = [("0.50", "IV", "1.5 一般(3)"), ("0.70", "III", "1.5 较大(3)")]

LADDERS: list[tuple[Scope, str, Metric, list[Step]]] = [
    ("province", "70000", "load", PROVINCE_LOAD),
    ("province", "70000", "customers", []),  # the province rules have no customers metric
    *(("city", mw, "load", CITY_600_LOAD) for mw in ("600", "4500")),
    *(("city", mw, "customers", CITY_600_OUT) for mw in ("600", "4500")),
    *(("city", mw, "load", CITY_600_LOAD[:2]) for mw in ("599.999", "300")),
    *(("city", mw, "customers", CITY_600_OUT[:2]) for mw in ("599.999", "300")),
    *(("county", mw, "load", COUNTY_150_LOAD) for mw in ("150", "800")),
    *(("county", mw, "customers", COUNTY_150_OUT) for mw in ("150", "800")),
    *(("county", mw, "load", COUNTY_150_LOAD[:1]) for mw in ("149.999", "60")),
    *(("county", mw, "customers", COUNTY_150_OUT[:1]) for mw in ("149.999", "60")),
]


def _snapshot(scope: Scope, load: str, metric: Metric, fraction: Decimal) -> Snapshot:
    load_mw = Decimal(load)
    if metric == "load":
        return Snapshot(scope, "330000", load_mw, load_mw * fraction)
    out = Decimal(CUSTOMERS) * fraction
    assert out == out.to_integral_value()
    return Snapshot(scope, "330000", load_mw, Decimal(0), CUSTOMERS, int(out))


def _boundary_cases() -> list[Any]:
    cases = []
    for scope, load, metric, steps in LADDERS:
        previous: tuple[Level | None, str | None] = (None, None)
        for boundary, level, clause in steps:
            b = Decimal(boundary)
            for label, value, expected in (
                ("at", b, (level, clause)),
                ("below", b - STEP, previous),
                ("above", b + STEP, (level, clause)),
            ):
                case_id = f"{scope}-{load}MW-{metric}-{boundary}-{label}"
                cases.append(pytest.param(scope, load, metric, value, *expected, id=case_id))
            previous = (level, clause)
        prefix = f"{scope}-{load}MW-{metric}"
        cases.append(pytest.param(scope, load, metric, Decimal(1), *previous, id=f"{prefix}-all"))
        cases.append(pytest.param(scope, load, metric, Decimal(0), None, None, id=f"{prefix}-none"))
    return cases


@pytest.mark.parametrize(
    ("scope", "load", "metric", "fraction", "level", "clause"), _boundary_cases()
)
def test_each_rule_at_and_around_its_boundaries(
    scope: Scope,
    load: str,
    metric: Metric,
    fraction: Decimal,
    level: Level | None,
    clause: str | None,
) -> None:
    result = classify([_snapshot(scope, load, metric, fraction)], RULES)

    assert result.level == level
    if level is None:
        assert result.level_name is None
        assert result.basis == ()
        return
    assert result.level_name == RULES.levels[level]
    [basis] = result.basis
    assert (basis.level, basis.clause, basis.metric) == (level, clause, metric)
    assert basis.value == fraction
    assert basis.min <= fraction
    assert basis.below is None or fraction < basis.below


@pytest.mark.parametrize(
    ("scope", "load", "metric", "fraction", "level"),
    [
        ("city", "600", "load", "0.60", "II"),
        ("city", "599.999", "load", "0.60", "III"),
        ("city", "600", "customers", "0.70", "II"),
        ("city", "599.999", "customers", "0.70", "III"),
        ("city", "600", "load", "0.20", "IV"),  # 一般(2) holds at any city load
        ("city", "599.999", "load", "0.20", "IV"),
        ("county", "150", "load", "0.60", "III"),
        ("county", "149.999", "load", "0.60", "IV"),
        ("county", "150", "customers", "0.70", "III"),
        ("county", "149.999", "customers", "0.70", "IV"),
        ("county", "150", "load", "0.3999", None),
        ("county", "149.999", "load", "0.3999", None),
    ],
)
def test_grid_load_band_edges(
    scope: Scope, load: str, metric: Metric, fraction: str, level: Level | None
) -> None:
    """Plan 1.5: "负荷600兆瓦以上" includes 600 MW; "负荷150兆瓦以下" excludes 150 MW."""
    assert classify([_snapshot(scope, load, metric, Decimal(fraction))], RULES).level == level


def test_threshold_text_and_band_fields() -> None:
    result = classify([Snapshot("county", "330603", Decimal(200), Decimal(90))], RULES)

    assert result.basis == (
        Basis(
            scope="county",
            region="330603",
            level="IV",
            clause="1.5 一般(3)",
            metric="load",
            value=Decimal("0.45"),
            threshold="≥ 40% 且 < 60%",
            min=Decimal("0.40"),
            below=Decimal("0.60"),
        ),
    )
    top = classify([Snapshot("province", "330000", Decimal(100), Decimal(31))], RULES)
    assert top.basis[0].threshold == "≥ 30%"
    assert top.basis[0].below is None


def test_event_level_is_the_highest_any_grid_reaches_and_basis_names_all() -> None:
    snapshots = [
        Snapshot("county", "330683", Decimal(100), Decimal(45)),  # < 150 MW, 45%: IV
        Snapshot("city", "330600", Decimal(2000), Decimal(200)),  # 10%: below threshold
        Snapshot("county", "330602", Decimal(300), Decimal(180)),  # ≥ 150 MW, 60%: III
        Snapshot("county", "330603", Decimal(100), Decimal(40)),  # < 150 MW, 40%: IV
    ]

    result = classify(snapshots, RULES)

    assert (result.level, result.level_name) == ("III", "较大")
    assert [(b.region, b.level, b.clause) for b in result.basis] == [
        ("330602", "III", "1.5 较大(3)"),
        ("330603", "IV", "1.5 一般(3)"),
        ("330683", "IV", "1.5 一般(3)"),
    ]


def test_city_outranks_counties_and_both_metrics_are_listed() -> None:
    snapshots = [
        Snapshot("county", "330604", Decimal(500), Decimal(350), 1000, 800),  # III on both
        Snapshot("city", "330600", Decimal(3000), Decimal(1200), 20000, 14000),  # load III, out II
    ]

    result = classify(snapshots, RULES)

    assert result.level == "II"
    assert [(b.region, b.level, b.metric) for b in result.basis] == [
        ("330600", "II", "customers"),
        ("330600", "III", "load"),
        ("330604", "III", "load"),
        ("330604", "III", "customers"),
    ]


def test_no_snapshots_is_below_threshold() -> None:
    assert classify([], RULES).level is None


@pytest.mark.parametrize("case", EXACT_BOUNDARIES, ids=lambda b: f"{b.region}-{b.load_lost_mw}")
def test_a_threshold_met_exactly_is_met(case: Boundary) -> None:
    """以上 includes the number: a fraction equal to a threshold reaches its level, and the
    smallest step below it does not, whatever binary floating point would say."""
    snapshot = Snapshot(
        cast(Scope, case.scope), case.region, Decimal(case.load_mw), Decimal(case.load_lost_mw)
    )

    result = classify([snapshot], RULES)

    assert result.level == case.level
    assert [b.clause for b in result.basis] == ([case.clause] if case.clause else [])
    if case.fraction is not None:
        assert result.basis[0].value == Decimal(case.fraction)
        assert result.basis[0].min == Decimal(case.fraction)


@pytest.mark.parametrize(
    ("customers", "customers_out"), [(None, 5), (0, 0), (100, None), (None, None)]
)
def test_customers_metric_needs_customers(customers: int | None, customers_out: int | None) -> None:
    snapshot = Snapshot("county", "330681", Decimal(100), Decimal(0), customers, customers_out)
    assert classify([snapshot], RULES).level is None


@pytest.mark.parametrize("load_mw", ["0", "-5", "NaN", "Infinity"])
def test_load_must_be_positive(load_mw: str) -> None:
    with pytest.raises(ValueError, match="load_mw must be a positive number"):
        classify([Snapshot("county", "330681", Decimal(load_mw), Decimal(1))], RULES)


def test_level_helpers() -> None:
    assert [level_rank(x) for x in (None, "IV", "III", "II", "I")] == [0, 1, 2, 3, 4]
    assert max_level() is None
    assert max_level(None, None) is None
    assert max_level("IV", None, "II", "III") == "II"


# --- properties ---------------------------------------------------------------------------------

SCOPES: list[Scope] = ["province", "city", "county"]
loads = st.decimals(min_value="0.001", max_value="100000", places=3)
fractions = st.decimals(min_value=0, max_value=1, places=4)


@settings(database=None)
@given(st.sampled_from(SCOPES), loads, fractions, fractions)
def test_more_load_lost_never_lowers_the_level(
    scope: Scope, load: Decimal, a: Decimal, b: Decimal
) -> None:
    less, more = sorted((a, b))
    before = classify([Snapshot(scope, "330600", load, load * less)], RULES).level
    after = classify([Snapshot(scope, "330600", load, load * more)], RULES).level
    assert level_rank(after) >= level_rank(before)


@settings(database=None)
@given(st.sampled_from(SCOPES), loads, st.data())
def test_more_customers_out_never_lowers_the_level(
    scope: Scope, load: Decimal, data: st.DataObject
) -> None:
    customers = data.draw(st.integers(min_value=1, max_value=1_000_000))
    less = data.draw(st.integers(min_value=0, max_value=customers))
    more = data.draw(st.integers(min_value=less, max_value=customers))
    lost = data.draw(fractions) * load
    before = classify([Snapshot(scope, "330600", load, lost, customers, less)], RULES).level
    after = classify([Snapshot(scope, "330600", load, lost, customers, more)], RULES).level
    assert level_rank(after) >= level_rank(before)


# --- the file -----------------------------------------------------------------------------------


def test_real_file_has_one_rule_per_row_of_the_plan() -> None:
    assert isinstance(RULES, ClassificationRules)
    assert RULES.levels == {"I": "特别重大", "II": "重大", "III": "较大", "IV": "一般"}
    assert [(r.scope, r.level, r.clause) for r in RULES.rules] == [
        ("province", "I", "1.5 特别重大"),
        ("province", "II", "1.5 重大(1)"),
        ("province", "III", "1.5 较大(1)"),
        ("province", "IV", "1.5 一般(1)"),
        ("city", "II", "1.5 重大(2)"),
        ("city", "III", "1.5 较大(2)"),
        ("city", "III", "1.5 较大(2)"),
        ("city", "IV", "1.5 一般(2)"),
        ("county", "III", "1.5 较大(3)"),
        ("county", "IV", "1.5 一般(3)"),
        ("county", "IV", "1.5 一般(3)"),
    ]


def _base() -> dict[str, Any]:
    data = read_yaml(RULES_FILE)  # libyaml: these run at collection, for each case
    assert isinstance(data, dict)
    return data


def _with(change: Any) -> str:
    data = copy.deepcopy(_base())
    change(data)
    return yaml.safe_dump(data, allow_unicode=True)


# Real-file indexes: rules[0] province I (load_lost ≥ 0.30), rules[1] province II, rules[4] city II.
BROKEN_FILES = [
    pytest.param("levels: {I: [\n", "line 2", "malformed YAML", id="malformed-yaml"),
    pytest.param("- levels\n- rules\n", "(file)", "expected a mapping", id="not-a-mapping"),
    pytest.param("", "(file)", "expected a mapping", id="empty"),
    pytest.param(
        _with(lambda d: d.update(version=2)), "version", "Extra inputs", id="unknown-top-key"
    ),
    pytest.param(_with(lambda d: d.update(rules=[])), "rules", "at least 1", id="no-rules"),
    pytest.param(
        _with(lambda d: d["levels"].update(V="微小")),
        "levels",
        "V: Input should be 'I'",
        id="unknown-level-name",
    ),
    pytest.param(
        _with(lambda d: d["levels"].pop("I")),
        "rules[0]",
        "level I has no name in levels",
        id="level-without-name",
    ),
    pytest.param(
        _with(lambda d: d["rules"][0].update(scope="town")),
        "rules[0]",
        "scope: Input should be 'province', 'city' or 'county'",
        id="unknown-scope",
    ),
    pytest.param(
        _with(lambda d: d["rules"][1].update(level="V")),
        "rules[1]",
        "level: Input should be 'I', 'II', 'III' or 'IV'",
        id="unknown-level",
    ),
    pytest.param(
        _with(lambda d: d["rules"][0].pop("load_lost")),
        "rules[0]",
        "neither load_lost nor customers_out",
        id="no-metric",
    ),
    pytest.param(
        _with(lambda d: d["rules"][1].update(load_lost={"min": "0.30", "below": "0.13"})),
        "rules[1]",
        "load_lost: min (0.30) must be less than below (0.13)",
        id="min-above-below",
    ),
    pytest.param(
        _with(lambda d: d["rules"][1].update(load_lost={"min": "0.13", "below": "0.13"})),
        "rules[1]",
        "load_lost: min (0.13) must be less than below (0.13)",
        id="min-equals-below",
    ),
    pytest.param(
        _with(lambda d: d["rules"][4]["customers_out"].update(min="1.3")),
        "rules[4]",
        "customers_out.min: a fraction must be within [0, 1], got 1.3",
        id="fraction-above-one",
    ),
    pytest.param(
        _with(lambda d: d["rules"][0]["load_lost"].update(min="-0.1")),
        "rules[0]",
        "load_lost.min: a fraction must be within [0, 1], got -0.1",
        id="fraction-negative",
    ),
    pytest.param(
        _with(lambda d: d["rules"][0]["load_lost"].update(min="thirty")),
        "rules[0]",
        "load_lost.min: Input should be a valid decimal",
        id="non-numeric",
    ),
    pytest.param(
        _with(lambda d: d["rules"][0]["load_lost"].update(min="NaN")),
        "rules[0]",
        "load_lost.min: Input should be a finite number",
        id="nan",
    ),
    pytest.param(
        _with(lambda d: d["rules"][0]["load_lost"].update(min=0.3)),
        "rules[0]",
        'load_lost.min: write numbers as strings, e.g. "0.13", not 0.3',
        id="yaml-float",
    ),
    pytest.param(
        _with(lambda d: d["rules"][4].update(grid_load_mw={"min": "600", "below": "600"})),
        "rules[4]",
        "grid_load_mw: min (600) must be less than below (600)",
        id="load-band-empty",
    ),
    pytest.param(
        _with(lambda d: d["rules"][4].update(grid_load_mw={"min": "-1"})),
        "rules[4]",
        "grid_load_mw.min: a load must be ≥ 0 MW, got -1",
        id="load-band-negative",
    ),
    pytest.param(
        _with(lambda d: d["rules"][4].update(threshold="60%")),
        "rules[4]",
        "threshold: Extra inputs are not permitted",
        id="unknown-rule-key",
    ),
    pytest.param(
        _with(lambda d: d["rules"][4]["load_lost"].update(max="0.9")),
        "rules[4]",
        "load_lost.max: Extra inputs are not permitted",
        id="unknown-band-key",
    ),
]


@pytest.mark.parametrize(("text", "entry", "reason"), BROKEN_FILES)
def test_broken_rules_file(tmp_path: Path, text: str, entry: str, reason: str) -> None:
    path = tmp_path / "classification.yaml"
    path.write_text(text, encoding="utf-8")

    with pytest.raises(PlaybookError) as caught:
        load_rules(path)

    assert (caught.value.file, caught.value.entry) == (str(path), entry)
    assert reason in caught.value.reason


def test_missing_rules_file(tmp_path: Path) -> None:
    with pytest.raises(PlaybookError, match="cannot read") as caught:
        load_rules(tmp_path / "nope.yaml")
    assert caught.value.entry == "(file)"
