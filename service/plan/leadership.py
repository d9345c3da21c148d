"""Who leads a response (plan 5.1, 2.2), decided from the level and the grids that set it.

Plan 5.1 gives I/II to the province HQ, III to the city HQ and IV to the district/county HQ.
Where the plan leaves it open, the service chooses (design § Who leads):

* IV reached by several counties together, or by the city or province grid, is led by the city
  HQ. Plan 2.2 says only that across districts the counties cooperate and "必要时由市政府组织
  指挥应对工作": the service makes that 必要时 the rule whenever no single county set the level.
* A higher HQ may take the lead of a III or IV at the same level (plan 2.2 必要时 the city, plan
  5.1 "跨设区市的较大、一般大面积停电事件，必要时由省政府组织指挥"): ``may_take_lead``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final, Protocol

from service.errors import Said

PROVINCE_HQ: Final = "330000"
CITY_HQ: Final = "330600"


class FiredRule(Protocol):
    @property
    def scope(self) -> str: ...
    @property
    def region(self) -> str: ...
    @property
    def level(self) -> str: ...


@dataclass(frozen=True, slots=True)
class Setter:
    """A fired rule as stored on an event's basis."""

    scope: str
    region: str
    level: str

    @classmethod
    def all_of(cls, stored: Iterable[Mapping[str, Any]]) -> list[Setter]:
        return [cls(b["scope"], b["region"], b["level"]) for b in stored]


def leading_hq(level: str | None, basis: Iterable[FiredRule]) -> str | None:
    """The HQ that leads a response at ``level``, given the rules that fired.

    Plan 5.1: I and II are commanded by the province HQ (省应急指挥部), III by the city HQ
    (市应急指挥部), IV by the district/county HQ. The service's choice (see the module): IV
    reached by several counties together, or by the city or province grid, is led by the city
    HQ. A discretionary response (no rule at its level fired) is led by the city HQ.
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


def commanded_lead(level: str, commander_hq: str, basis: Iterable[FiredRule]) -> str:
    """Who leads a response a commander starts or re-levels (plan 5.1).

    As for reports, except at IV when no grid is at IV (a discretionary response, 5.1 last
    paragraphs: 各地政府可结合实际情况启动应急响应): a county commander's own HQ leads it, and
    the city HQ leads one started from the city or the province.
    """
    rules = list(basis)
    if level == "IV" and not any(rule.level == "IV" for rule in rules):
        return commander_hq if commander_hq not in (PROVINCE_HQ, CITY_HQ) else CITY_HQ
    return leading_hq(level, rules) or CITY_HQ


def acting_hq(leading: str | None) -> str:
    """The HQ whose authority applies to an event: the one leading its response, or, before any
    response (monitoring, a warning), the city's: the chain's and the duties' receiver, the
    commanders who may cancel or approve, the escalations' addressee (design § Actions)."""
    return leading or CITY_HQ


def higher_lead(current: str | None, candidate: str) -> str:
    """The higher-ranked of the HQ leading now and the one the rules give: a rise by report
    never hands the lead down (an HQ that took the lead keeps it)."""
    return current if current is not None and hq_rank(current) > hq_rank(candidate) else candidate


# The levels whose lead a higher HQ may take (plan 2.2, 5.1: 较大 and 一般); I and II are the
# province's already.
TAKEN_LEVELS: Final = ("III", "IV")


def may_take_lead(level: str | None, current: str | None, taker: str) -> Said | None:
    """Why ``taker`` may not take the lead of a response at ``level`` led by ``current``, or
    None when it may: only of a III or IV, and only upward (a lead is handed down by lowering
    the level, plan 5.1)."""
    if level not in TAKEN_LEVELS:
        return Said("{level} 级应急响应已由省指挥部牵头（预案5.1）", level=level)
    if current == taker:
        return Said("{taker} 已在牵头", taker=taker)
    if hq_rank(taker) <= hq_rank(current):
        return Said("{taker} 不高于正在牵头的 {current}", taker=taker, current=current)
    return None


def hq_rank(region: str | None) -> int:
    """Province 3, city 2, a district/county 1: a higher HQ may act for a lower one."""
    if region == PROVINCE_HQ:
        return 3
    if region == CITY_HQ:
        return 2
    return 1 if region else 0
