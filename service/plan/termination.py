"""The termination check (plan 5.5): four conditions, all at once, each with its evidence."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Final, Literal, get_args

from service.plan.grids import Grid
from service.plan.percent import exact_percent, percent
from service.plan.relapse import Worse
from service.plan.restoration import Restoration

# In the plan's order. load_restored is measured from the reports; the others are attested.
ConditionKey = Literal["grid_stable", "load_restored", "hazard_removed", "secondary_handled"]
CONDITION_KEYS: Final[tuple[ConditionKey, ...]] = get_args(ConditionKey)
AttestedKey = Literal["grid_stable", "hazard_removed", "secondary_handled"]
ATTESTED_KEYS: Final[tuple[AttestedKey, ...]] = get_args(AttestedKey)
# An attestation counts while it stands; withdrawn by a person, or voided by a later report
# that worsened the situation (service.plan.relapse), it no longer does.
AttestationState = Literal["standing", "withdrawn", "voided"]
ATTESTATION_STATES: Final[tuple[AttestationState, ...]] = get_args(AttestationState)

OVERALL_RESTORED: Final = Decimal("0.8")  # 减供负荷恢复80%以上 (以上 includes the number)
KEY_AREA_RESTORED: Final = Decimal("0.9")  # 重点地区、重要城市负荷恢复90%以上

PLAN_WORDS: Final[dict[ConditionKey, str]] = {
    "grid_stable": "电网主干网架基本恢复正常，电网运行参数保持在稳定限额之内",
    "load_restored": "减供负荷恢复80%以上，受停电影响的重点地区、重要城市负荷恢复90%以上",
    "hazard_removed": "造成大面积停电事件的隐患基本消除",
    "secondary_handled": "大面积停电事件造成的重特大次生衍生事件基本处置完成",
}


@dataclass(frozen=True, slots=True)
class Withdrawal:
    """Who took an attestation back, when, and why."""

    by: str
    at: datetime
    reason: str


@dataclass(frozen=True, slots=True)
class Voiding:
    """The later report that worsened the situation, and the grids it showed worse."""

    at: datetime
    report_id: str
    grids: tuple[Worse, ...]


@dataclass(frozen=True, slots=True)
class Attested:
    """A person's statement, with evidence, that one attested condition of plan 5.5 holds; it
    counts while it stands."""

    condition: AttestedKey
    evidence: str
    actor: str
    at: datetime
    id: str = ""
    withdrawal: Withdrawal | None = None
    voiding: Voiding | None = None

    def __post_init__(self) -> None:
        # A statement on anything else (load_restored is measured, never attested) would be
        # carried along and ignored: refused here instead, where it is made.
        if self.condition not in ATTESTED_KEYS:
            raise ValueError(
                f"{self.condition!r} is not attested; plan 5.5 attests {ATTESTED_KEYS}"
            )

    @property
    def state(self) -> AttestationState:
        if self.withdrawal is not None:
            return "withdrawn"
        if self.voiding is not None:
            return "voided"
        return "standing"


@dataclass(frozen=True, slots=True)
class Condition:
    """One condition, met or not, with its evidence; an attested one lists every statement on
    it, those that no longer count included (withdrawn or voided, and by whom or what)."""

    key: ConditionKey
    met: bool
    evidence: str
    figures: dict[str, object] | None = None
    attestations: tuple[Attested, ...] = ()


@dataclass(frozen=True, slots=True)
class Affected:
    """Plan 5.5's "受停电影响的重点地区、重要城市": the key areas (regions.yaml ``key_area``)
    and important cities (``important_city``) that a report of the event shows losing load or
    customers at some moment. A flagged grid that no report shows with a loss is not held to
    90 %: an event reported only at city scope holds none of them (design § Termination)."""

    key_areas: tuple[Grid, ...] = ()
    important_cities: tuple[Grid, ...] = ()

    @classmethod
    def among(cls, grids: Iterable[Grid], hit: Iterable[str]) -> Affected:
        """The flagged ``grids`` whose codes are among ``hit``, in the grids' order."""
        losing = set(hit)
        touched = [grid for grid in grids if grid.code in losing]
        return cls(
            tuple(g for g in touched if g.key_area),
            tuple(g for g in touched if g.important_city),
        )


def load_restored(restored: Restoration, affected: Affected = Affected()) -> Condition:
    """Plan 5.5 (2): overall ≥ 80 % over the widest scope reported; each affected key area and
    each affected important city ≥ 90 % on its own figures. The evidence names every one of
    them with its figure, those below 90 % marked ``<``."""
    if restored.overall is None:
        return Condition("load_restored", False, "no report of this event gives load figures")
    held = {
        "key area": _fractions(restored, affected.key_areas),
        "important city": _fractions(restored, affected.important_cities),
    }
    short = [f for figures in held.values() for f in figures.values() if f < KEY_AREA_RESTORED]
    met = restored.overall >= OVERALL_RESTORED and not short
    overall = "≥" if restored.overall >= OVERALL_RESTORED else "<"
    parts = [
        f"overall {percent(restored.overall)} restored over the {restored.scope} grids "
        f"({overall} {exact_percent(OVERALL_RESTORED)})"
    ]
    names = {g.code: g.place for g in (*affected.key_areas, *affected.important_cities)}
    parts += [
        f"{what} {names[code]} ({code}) {percent(f)} "
        f"({'≥' if f >= KEY_AREA_RESTORED else '<'} {exact_percent(KEY_AREA_RESTORED)})"
        for what, figures in held.items()
        for code, f in figures.items()
    ]
    return Condition(
        "load_restored",
        met,
        "; ".join(parts),
        figures={
            "overall": restored.overall,
            "key_areas": held["key area"],
            "important_cities": held["important city"],
        },
    )


def _fractions(restored: Restoration, grids: Sequence[Grid]) -> dict[str, Decimal]:
    return {g.code: restored.grids[g.code] for g in grids if g.code in restored.grids}


def attested(key: AttestedKey, attestations: Iterable[Attested]) -> Condition:
    """A condition decided by attestation: met by a statement on it that stands, the latest
    standing one its evidence. A statement on another condition says nothing of this one; a
    withdrawn or voided one says nothing any more, and the evidence says why when no other
    stands."""
    on_it = tuple(s for s in attestations if s.condition == key)
    standing = [s for s in on_it if s.state == "standing"]
    if standing:
        latest = standing[-1]
        said = f"attested by {latest.actor} at {latest.at.isoformat()}: {latest.evidence}"
        return Condition(key, True, said, attestations=on_it)
    if not on_it:
        return Condition(key, False, f"not attested yet ({PLAN_WORDS[key]})")
    return Condition(key, False, f"not attested: {_set_aside(on_it[-1])}", attestations=on_it)


def _set_aside(statement: Attested) -> str:
    made = f"the attestation by {statement.actor} at {statement.at.isoformat()}"
    if (w := statement.withdrawal) is not None:
        return f"{made} was withdrawn by {w.by} at {w.at.isoformat()}: {w.reason}"
    if (v := statement.voiding) is not None:
        grids = ", ".join(g.region for g in v.grids)
        return (
            f"{made} was voided at {v.at.isoformat()} by report {v.report_id}, "
            f"which showed the situation worse ({grids})"
        )
    return f"{made} stands"


def termination_check(
    restored: Restoration, affected: Affected, attestations: Sequence[Attested]
) -> list[Condition]:
    """The four conditions of plan 5.5, in the plan's order."""
    return [
        attested("grid_stable", attestations),
        load_restored(restored, affected),
        attested("hazard_removed", attestations),
        attested("secondary_handled", attestations),
    ]


def unmet(conditions: Iterable[Condition]) -> list[dict[str, object]]:
    return [{"key": c.key, "evidence": c.evidence} for c in conditions if not c.met]
