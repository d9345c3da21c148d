"""The termination check (plan 5.5): four conditions, all at once, each with its evidence."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Final, Literal, get_args

from service.plan.percent import exact_percent, percent
from service.plan.restoration import Restoration

# In the plan's order. load_restored is measured from the reports; the others are attested.
ConditionKey = Literal["grid_stable", "load_restored", "hazard_removed", "secondary_handled"]
CONDITION_KEYS: Final[tuple[ConditionKey, ...]] = get_args(ConditionKey)
AttestedKey = Literal["grid_stable", "hazard_removed", "secondary_handled"]
ATTESTED_KEYS: Final[tuple[AttestedKey, ...]] = get_args(AttestedKey)

OVERALL_RESTORED: Final = Decimal("0.8")  # 减供负荷恢复80%以上 (以上 includes the number)
KEY_AREA_RESTORED: Final = Decimal("0.9")  # 重点地区、重要城市负荷恢复90%以上

PLAN_WORDS: Final[dict[ConditionKey, str]] = {
    "grid_stable": "电网主干网架基本恢复正常，电网运行参数保持在稳定限额之内",
    "load_restored": "减供负荷恢复80%以上，受停电影响的重点地区、重要城市负荷恢复90%以上",
    "hazard_removed": "造成大面积停电事件的隐患基本消除",
    "secondary_handled": "大面积停电事件造成的重特大次生衍生事件基本处置完成",
}


@dataclass(frozen=True, slots=True)
class Attested:
    """A person's statement, with evidence, that one attested condition of plan 5.5 holds."""

    condition: AttestedKey
    evidence: str
    actor: str
    at: str

    def __post_init__(self) -> None:
        # A statement on anything else (load_restored is measured, never attested) would be
        # carried along and ignored: refused here instead, where it is made.
        if self.condition not in ATTESTED_KEYS:
            raise ValueError(
                f"{self.condition!r} is not attested; plan 5.5 attests {ATTESTED_KEYS}"
            )


@dataclass(frozen=True, slots=True)
class Condition:
    key: ConditionKey
    met: bool
    evidence: str
    figures: dict[str, object] | None = None


def load_restored(
    restored: Restoration, key_areas: Sequence[str], unreported: Sequence[str] = ()
) -> Condition:
    """Plan 5.5 (2): overall ≥ 80 % over the widest scope reported, each key area ≥ 90 %.

    ``key_areas`` are the grids flagged ``key_area`` that any report of the event names;
    ``unreported`` those that lie inside a grid a report names but that no report names
    themselves (``unreported_key_areas``): the condition is unmet until their figures come in.
    """
    if restored.overall is None:
        return Condition("load_restored", False, "no report of this event gives load figures")
    areas = {code: restored.grids[code] for code in key_areas if code in restored.grids}
    short = {code: f for code, f in areas.items() if f < KEY_AREA_RESTORED}
    met = restored.overall >= OVERALL_RESTORED and not short and not unreported
    overall = "≥" if restored.overall >= OVERALL_RESTORED else "<"
    parts = [
        f"overall {percent(restored.overall)} restored over the {restored.scope} grids "
        f"({overall} {exact_percent(OVERALL_RESTORED)})"
    ]
    parts += [
        f"key area {code} {percent(f)} "
        f"({'≥' if f >= KEY_AREA_RESTORED else '<'} {exact_percent(KEY_AREA_RESTORED)})"
        for code, f in sorted(areas.items())
    ]
    parts += [
        f"key area {code} not reported (its figures decide, not those of the grid around it)"
        for code in sorted(unreported)
    ]
    return Condition(
        "load_restored",
        met,
        "; ".join(parts),
        figures={"overall": restored.overall, "key_areas": areas},
    )


def attested(key: AttestedKey, attestations: Iterable[Attested]) -> Condition:
    """A condition decided by attestation: met by a statement on it, the latest one its
    evidence. A statement on another condition says nothing of this one."""
    latest = None
    for statement in attestations:
        if statement.condition == key:
            latest = statement
    if latest is None:
        return Condition(key, False, f"not attested yet ({PLAN_WORDS[key]})")
    return Condition(key, True, f"attested by {latest.actor} at {latest.at}: {latest.evidence}")


def unreported_key_areas(
    named: Iterable[str], key_areas: Iterable[str], within: Callable[[str, str], bool]
) -> list[str]:
    """The key areas inside a grid the event's reports name that no report names itself.

    Plan 5.5 asks the 重点地区 to be 90 % restored. An event reported only at city scope says
    nothing of 越城区 (choice): its condition is unmet until 越城区's own figures are reported,
    rather than the city's figure standing for it, as a city back to 90 % may still leave its
    centre dark. A report of 越城区 that lost nothing reads as wholly restored.
    """
    reported = set(named)
    return sorted(
        area
        for area in key_areas
        if area not in reported and any(within(area, grid) for grid in reported)
    )


def termination_check(
    restored: Restoration,
    key_areas: Sequence[str],
    attestations: Sequence[Attested],
    unreported: Sequence[str] = (),
) -> list[Condition]:
    """The four conditions of plan 5.5, in the plan's order."""
    return [
        attested("grid_stable", attestations),
        load_restored(restored, key_areas, unreported),
        attested("hazard_removed", attestations),
        attested("secondary_handled", attestations),
    ]


def unmet(conditions: Iterable[Condition]) -> list[dict[str, object]]:
    return [{"key": c.key, "evidence": c.evidence} for c in conditions if not c.met]
