"""Plan 5.5 condition 2 (load_restored): 减供负荷恢复80%以上, 受停电影响的重点地区、重要城市负荷
恢复90%以上. 以上 includes the number: exactly 80% and exactly 90% meet it, anything less does not.
A key area (regions.yaml ``key_area``) or an important city (``important_city``) is held to 90%
only when a report of the event shows it losing load or customers (受停电影响的).

Conditions 1, 3 and 4 are attested: a statement meets its own condition and no other, never the
measured one, and three of the four conditions never end the response; a statement withdrawn or
voided counts no more, and says why."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from service.plan.relapse import Worse
from service.plan.restoration import GridLoss, Restoration, restoration
from service.plan.termination import (
    ATTESTED_KEYS,
    CONDITION_KEYS,
    Affected,
    Attested,
    AttestedKey,
    ConditionKey,
    Voiding,
    Withdrawal,
    load_restored,
    termination_check,
    unmet,
)
from service.playbooks.grids import load_regions
from tests.helpers import PLAYBOOKS_DIR

GRIDS = load_regions(PLAYBOOKS_DIR / "regions.yaml")
YUECHENG = "330602"
ZHUJI, SHENGZHOU = "330681", "330683"


def hit(*codes: str) -> Affected:
    """The key areas and important cities among ``codes``, the grids shown losing load."""
    return Affected.among(GRIDS, codes)


def counties(yuecheng_latest: str | None, keqiao_latest: str = "0") -> list[GridLoss]:
    """越城区 (peak 151.0 MW lost) and 柯桥区 (peak 849.0 MW): 1000 MW lost at the worst."""
    keqiao = GridLoss("330603", "county", Decimal(keqiao_latest), Decimal("849.0"))
    if yuecheng_latest is None:
        return [keqiao]
    return [GridLoss(YUECHENG, "county", Decimal(yuecheng_latest), Decimal("151.0")), keqiao]


def test_affected_picks_the_flagged_grids_a_report_shows_losing() -> None:
    assert hit() == Affected()
    assert hit("330603", "330600") == Affected()  # neither flagged
    affected = hit(SHENGZHOU, YUECHENG, "330603", ZHUJI)
    assert [g.code for g in affected.key_areas] == [YUECHENG]
    assert [g.code for g in affected.important_cities] == [ZHUJI, SHENGZHOU]


@pytest.mark.parametrize(
    ("yuecheng_latest", "met", "shown"),
    [
        ("0", True, "100.0% (≥ 90%)"),
        ("15.1", True, "90.0% (≥ 90%)"),  # exactly 90%
        ("15.100001", False, "89.9% (< 90%)"),  # 89.99999934 %
        ("15.2", False, "89.9% (< 90%)"),
        ("151.0", False, "0.0% (< 90%)"),
    ],
)
def test_an_affected_key_area_needs_90_percent_whatever_the_overall(
    yuecheng_latest: str, met: bool, shown: str
) -> None:
    restored = restoration(counties(yuecheng_latest))
    assert restored.overall is not None and restored.overall >= Decimal("0.8")

    condition = load_restored(restored, hit(YUECHENG, "330603"))

    assert condition.met is met
    assert f"key area 越城区 ({YUECHENG}) {shown}" in condition.evidence
    assert condition.figures == {
        "overall": restored.overall,
        "key_areas": {YUECHENG: restored.grids[YUECHENG]},
        "important_cities": {},
    }


@pytest.mark.parametrize(
    ("keqiao_latest", "met", "shown"),
    [
        ("200", True, "80.0% restored over the county grids (≥ 80%)"),  # exactly 80%
        ("200.000001", False, "79.9% restored over the county grids (< 80%)"),
    ],
)
def test_overall_needs_80_percent_even_with_the_key_area_restored(
    keqiao_latest: str, met: bool, shown: str
) -> None:
    condition = load_restored(restoration(counties("0", keqiao_latest)), hit(YUECHENG))

    assert condition.met is met
    assert f"overall {shown}" in condition.evidence


@pytest.mark.parametrize(
    ("keqiao_latest", "met"), [("169.8", True), ("169.800001", False)], ids=["80%", "below"]
)
def test_an_event_that_never_touched_a_key_area_is_not_held_to_it(
    keqiao_latest: str, met: bool
) -> None:
    restored = restoration(counties(None, keqiao_latest))

    condition = load_restored(restored, hit("330603"))

    assert condition.met is met
    assert condition.figures == {
        "overall": restored.overall,
        "key_areas": {},
        "important_cities": {},
    }
    assert "key area" not in condition.evidence


def test_a_key_area_below_90_holds_back_a_city_wide_event() -> None:
    """Overall is over the widest scope reported (the city, here 90%), and 越城区, shown losing
    load in a county snapshot, is still held to 90% on its own figures."""
    restored = restoration(
        [
            GridLoss("330600", "city", Decimal(100), Decimal(1000)),
            GridLoss(YUECHENG, "county", Decimal(20), Decimal(100)),
        ]
    )

    condition = load_restored(restored, hit("330600", YUECHENG))

    assert (restored.scope, restored.overall) == ("city", Decimal("0.9"))
    assert condition.met is False
    assert condition.figures == {
        "overall": Decimal("0.9"),
        "key_areas": {YUECHENG: Decimal("0.8")},
        "important_cities": {},
    }


@pytest.mark.parametrize(
    ("zhuji_latest", "met", "shown"),
    [
        ("10", True, "90.0% (≥ 90%)"),  # exactly 90%
        ("10.000001", False, "89.9% (< 90%)"),
        ("100", False, "0.0% (< 90%)"),
    ],
)
def test_an_affected_important_city_needs_90_percent_and_is_named(
    zhuji_latest: str, met: bool, shown: str
) -> None:
    """诸暨市 (an important city) lost 100 MW at worst, 嵊州市 40 MW and is back: overall well
    over 80%, and 诸暨市's own figure decides."""
    restored = restoration(
        [
            GridLoss(ZHUJI, "county", Decimal(zhuji_latest), Decimal(100)),
            GridLoss(SHENGZHOU, "county", Decimal(0), Decimal(40)),
            GridLoss("330603", "county", Decimal(0), Decimal(900)),
        ]
    )
    assert restored.overall is not None and restored.overall >= Decimal("0.8")

    condition = load_restored(restored, hit(ZHUJI, SHENGZHOU, "330603"))

    assert condition.met is met
    assert f"important city 诸暨市 ({ZHUJI}) {shown}" in condition.evidence
    assert f"important city 嵊州市 ({SHENGZHOU}) 100.0% (≥ 90%)" in condition.evidence
    assert condition.figures == {
        "overall": restored.overall,
        "key_areas": {},
        "important_cities": {ZHUJI: restored.grids[ZHUJI], SHENGZHOU: Decimal(1)},
    }


def test_an_important_city_the_event_never_touched_is_not_held_to_it() -> None:
    """诸暨市 reported, but with nothing lost at any moment: not 受停电影响的, not demanded."""
    restored = restoration(
        [
            GridLoss(ZHUJI, "county", Decimal(0), Decimal(0)),
            GridLoss("330603", "county", Decimal(10), Decimal(100)),
        ]
    )

    condition = load_restored(restored, hit("330603"))

    assert condition.met is True
    assert "important city" not in condition.evidence


def test_no_load_figures_is_not_met() -> None:
    condition = load_restored(restoration([]), hit(YUECHENG))
    assert (condition.met, condition.figures) == (False, None)


@pytest.mark.parametrize(("yuecheng_latest", "met"), [("15.1", True), ("15.100001", False)])
def test_the_key_area_alone_decides_the_termination_check(yuecheng_latest: str, met: bool) -> None:
    attestations = [
        Attested(
            key, "现场核实", "commander:市指挥长@330600", datetime(2026, 7, 20, 12, tzinfo=UTC)
        )
        for key in ("grid_stable", "hazard_removed", "secondary_handled")
    ]

    conditions = termination_check(
        restoration(counties(yuecheng_latest)), hit(YUECHENG), attestations
    )

    assert [c.key for c in conditions] == [
        "grid_stable",
        "load_restored",
        "hazard_removed",
        "secondary_handled",
    ]
    assert [c.key for c in conditions if not c.met] == ([] if met else ["load_restored"])


# --- conditions 1, 3 and 4: attested, each by its own statements ----------------------------------

COMMANDER = "commander:市指挥长@330600"


def moment(at: str) -> datetime:
    return datetime.fromisoformat(f"2026-07-20T{at}:00+00:00")


def statement(
    condition: AttestedKey, evidence: str = "现场核实", at: str = "12:00", **set_aside: object
) -> Attested:
    return Attested(condition, evidence, COMMANDER, moment(at), **set_aside)  # type: ignore[arg-type]


def figures(restored: bool) -> Restoration:
    """Every load back (condition 2 met), or 越城区 still wholly dark (unmet)."""
    return restoration(counties("0" if restored else "151.0"))


@pytest.mark.parametrize("restored", [True, False], ids=["load-restored", "load-short"])
@pytest.mark.parametrize("condition", CONDITION_KEYS)
@pytest.mark.parametrize("given", ATTESTED_KEYS)
def test_an_attestation_meets_its_own_condition_and_no_other(
    given: AttestedKey, condition: ConditionKey, restored: bool
) -> None:
    conditions = termination_check(figures(restored), hit(YUECHENG), [statement(given)])

    [found] = [c for c in conditions if c.key == condition]
    measured = condition == "load_restored"
    assert found.met is (restored if measured else condition == given)


@pytest.mark.parametrize("missing", [*CONDITION_KEYS, None])
def test_every_condition_but_one_never_ends_the_response(missing: ConditionKey | None) -> None:
    """Every attested condition stated (twice) but ``missing``, the load restored unless it is
    the one missing: exactly that one is unmet, and with none missing the response may end."""
    attestations = [
        statement(key, at=at)
        for at in ("12:00", "13:00")
        for key in ATTESTED_KEYS
        if key != missing
    ]

    conditions = termination_check(figures(missing != "load_restored"), hit(YUECHENG), attestations)

    assert [c.key for c in conditions] == list(CONDITION_KEYS)
    assert [u["key"] for u in unmet(conditions)] == ([] if missing is None else [missing])


@pytest.mark.parametrize("given", ATTESTED_KEYS)
def test_the_evidence_is_the_latest_statement_on_the_condition_itself(given: AttestedKey) -> None:
    """Statements on the other conditions, made later, neither meet this one nor stand as its
    evidence."""
    others = [key for key in ATTESTED_KEYS if key != given]
    attestations = [
        statement(given, "第一次核实", "12:00"),
        statement(given, "复核", "13:00"),
        *(statement(key, f"{key} 的证据", "14:00") for key in others),
    ]

    [found] = [
        c for c in termination_check(figures(False), hit(YUECHENG), attestations) if c.key == given
    ]

    assert found.met is True
    assert found.evidence == f"attested by {COMMANDER} at 2026-07-20T13:00:00+00:00: 复核"


@pytest.mark.parametrize("condition", ["load_restored", "grid-stable", ""])
def test_a_statement_on_anything_but_an_attested_condition_is_refused(condition: str) -> None:
    with pytest.raises(ValueError, match="is not attested"):
        Attested(condition, "现场核实", COMMANDER, moment("12:00"))  # type: ignore[arg-type]


# --- withdrawn and voided statements: set aside, and shown so -------------------------------------

WITHDRAWN = Withdrawal("commander:县指挥长@330603", moment("13:30"), "220千伏母线再次跳闸")
VOIDED = Voiding(
    moment("14:00"), "7b0c…", (Worse("330603", Decimal(20), Decimal(60), newly_hit=False),)
)


@pytest.mark.parametrize("given", ATTESTED_KEYS)
def test_a_withdrawn_statement_no_longer_counts_and_the_check_says_who_when_why(
    given: AttestedKey,
) -> None:
    withdrawn = statement(given, "主网架恢复", "13:00", withdrawal=WITHDRAWN)

    [found] = [c for c in termination_check(figures(True), hit(), [withdrawn]) if c.key == given]

    assert found.met is False
    assert found.evidence == (
        f"not attested: the attestation by {COMMANDER} at 2026-07-20T13:00:00+00:00 was "
        "withdrawn by commander:县指挥长@330603 at 2026-07-20T13:30:00+00:00: 220千伏母线再次跳闸"
    )
    assert found.attestations == (withdrawn,)
    assert withdrawn.state == "withdrawn"


def test_a_voided_statement_no_longer_counts_and_names_the_report_and_grids() -> None:
    voided = statement("grid_stable", "主网架恢复", "13:00", voiding=VOIDED)

    [found, *_] = termination_check(figures(True), hit(), [voided])

    assert (found.key, found.met, voided.state) == ("grid_stable", False, "voided")
    assert "voided at 2026-07-20T14:00:00+00:00 by report 7b0c…" in found.evidence
    assert "(330603)" in found.evidence
    assert found.attestations == (voided,)


def test_an_earlier_statement_that_stands_decides_when_a_later_one_is_withdrawn() -> None:
    """Each statement is withdrawn alone: another's, that stands, still counts, and the check
    lists the withdrawn one beside it."""
    earlier = statement("grid_stable", "第一次核实", "12:00")
    withdrawn = statement("grid_stable", "复核", "13:00", withdrawal=WITHDRAWN)

    [found, *_] = termination_check(figures(True), hit(), [earlier, withdrawn])

    assert found.met is True
    assert found.evidence == f"attested by {COMMANDER} at 2026-07-20T12:00:00+00:00: 第一次核实"
    assert [s.state for s in found.attestations] == ["standing", "withdrawn"]


def test_a_fresh_statement_after_a_voided_one_meets_the_condition_again() -> None:
    voided = statement("hazard_removed", "隐患消除", "12:00", voiding=VOIDED)
    fresh = statement("hazard_removed", "复查隐患已消除", "15:00")

    [found] = [
        c
        for c in termination_check(figures(True), hit(), [voided, fresh])
        if c.key == "hazard_removed"
    ]

    assert found.met is True
    assert found.evidence.endswith(": 复查隐患已消除")
