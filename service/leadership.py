"""Who leads a response (plan 5.1, 2.2, 2.3), decided from the level and the grids that set it."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final, Protocol

PROVINCE_HQ: Final = "330000"
CITY_HQ: Final = "330600"


class FiredRule(Protocol):
    @property
    def scope(self) -> str: ...
    @property
    def region(self) -> str: ...
    @property
    def level(self) -> str: ...


def leading_hq(level: str | None, basis: Iterable[FiredRule]) -> str | None:
    """The HQ that leads a response at ``level``, given the rules that fired.

    Plan 5.1: I and II are commanded by the province HQ (省应急指挥部), III by the city HQ
    (市应急指挥部), IV by the district/county HQ. Plan 2.2: across districts the city organises,
    so IV reached by several counties together, or by the city or province grid, is led by the
    city HQ. A discretionary response (no rule at its level fired) is led by the city HQ.
    """
    if level is None:
        return None
    if level in ("I", "II"):
        return PROVINCE_HQ
    if level == "III":
        return CITY_HQ
    setters = {(rule.scope, rule.region) for rule in basis if rule.level == level}
    counties = {region for scope, region in setters if scope == "county"}
    if len(counties) == 1 and len(setters) == 1:
        return counties.pop()
    return CITY_HQ


def hq_rank(region: str | None) -> int:
    """Province 3, city 2, a district/county 1: a higher HQ may act for a lower one."""
    if region == PROVINCE_HQ:
        return 3
    if region == CITY_HQ:
        return 2
    return 1 if region else 0


def outranks_or_equals(hq: str, other: str, parent_of: dict[str, str | None]) -> bool:
    """True when ``hq`` is ``other`` or one of its ancestors (province ⊃ city ⊃ county)."""
    current: str | None = other
    while current is not None:
        if current == hq:
            return True
        current = parent_of.get(current)
    return False
