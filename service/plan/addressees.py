"""Who a duty goes to when the plan names it by a role rather than a unit, and the
circumstances some duties wait for.

The plan gives duties to "the HQ that leads" (5.1), to "所在区、县(市)政府" (2.2, 2.3), to
"事发地电力运行主管部门" (4, 6.1, 6.2): roles that name different units at different events. A
checklist item names such a role by a symbolic agency (``Symbol``; playbooks/agencies.yaml), and
the dispatcher resolves it against the event as it stands (``Scene``):

* ``leading-hq``: the HQ leading the response (before one leads, the HQ a warning concerns).
* ``county-hq``: the HQ of each district/county the outage hits, one action each (plan 2.2: the
  county government sets up its HQ and commands within its area, under the leading HQ at
  I–III). None while the event names no county (choice: reported only at city or province
  scope, the counties are unknown; their duties go out with the first report that names one).
* ``local-power-authority``: the power authority of each county hit, or the city's when the
  event names none (plan 4 "事发地电力运行主管部门"). The service registers no county authority;
  a county's duties go to its HQ, of which its authority is a member (agencies.yaml).
* ``local-government``: the government of each county hit, or the city's when the event names
  none (plan 6.3 "所在地政府", 6.4 "受影响区域地方政府"), through its HQ's code, which stands
  for the government once the HQ is dissolved (plan 5.5).
* ``commanding-hq``: every HQ that commands in the outage (plan 2.5 "各级应急指挥机构"): the
  leading HQ, the city HQ when the province leads (plan 5.2.2: it organises the response in the
  city), and the HQ of each county hit, which commands within its area (plan 2.2).

A county is hit when a report of the event shows its grid losing load or customers.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Final, Literal, get_args

from service.plan.leadership import CITY_HQ, hq_rank

Symbol = Literal[
    "leading-hq", "county-hq", "local-power-authority", "local-government", "commanding-hq"
]
SYMBOLS: Final[tuple[Symbol, ...]] = get_args(Symbol)
# The offices a symbol resolves to, by region: an HQ, or a power authority (电力运行主管部门).
Office = Literal["hq", "power-authority"]

# Circumstances an item may wait for (``when:`` in a checklist):
#   county_named      the event names at least one county hit
#   no_county_named   it names none (reported at city or province scope only)
#   several_counties  it names two or more (plan 2.2 跨区域合作机制)
#   reconstruction    the grid needs repair or rebuilding (plan 6.4 "需…修复或重建的"), as the
#                     commander who ends the response says
#   city_hq_stands    the city HQ is set up (plan 2.1): it leads, or the province leads and the
#                     city responds under it (plan 5.2.2); not while a county HQ leads a IV
Condition = Literal[
    "county_named", "no_county_named", "several_counties", "reconstruction", "city_hq_stands"
]
CONDITIONS: Final[tuple[Condition, ...]] = get_args(Condition)


@dataclass(frozen=True, slots=True)
class Scene:
    """The event as a dispatch resolves roles and conditions against it.

    ``leading_hq`` is the region of the HQ that leads (or that a warning concerns); ``local`` the
    事发地: the counties hit, sorted, or the one region standing for them (``local_regions``).
    """

    leading_hq: str
    local: tuple[str, ...] = (CITY_HQ,)
    reconstruction: bool = False

    @property
    def counties(self) -> tuple[str, ...]:
        return tuple(region for region in self.local if hq_rank(region) == 1)


def local_regions(counties: Iterable[str]) -> tuple[str, ...]:
    """The 事发地 of an outage: the counties it hits, or the city when it names none."""
    return tuple(sorted(set(counties))) or (CITY_HQ,)


def hit_counties(grids: Iterable[tuple[str, str, Decimal, int | None]]) -> set[str]:
    """The counties a report showed losing load or customers, from (scope, region, peak load
    lost, peak customers out) of the event's grids."""
    return {
        region
        for scope, region, lost, out in grids
        if scope == "county" and (lost > 0 or (out or 0) > 0)
    }


def offices(symbol: Symbol, scene: Scene) -> list[tuple[Office, str]]:
    """The offices (kind, region) that ``symbol`` names at ``scene``, in order."""
    if symbol == "leading-hq":
        return [("hq", scene.leading_hq)]
    if symbol == "county-hq":
        return [("hq", county) for county in scene.counties]
    if symbol == "local-government":
        return [("hq", region) for region in scene.local]
    if symbol == "commanding-hq":
        city = [CITY_HQ] if hq_rank(scene.leading_hq) > hq_rank(CITY_HQ) else []
        regions = dict.fromkeys([scene.leading_hq, *city, *scene.counties])
        return [("hq", region) for region in regions]
    return [("power-authority", region) for region in scene.local]


def holds(condition: Condition, scene: Scene) -> bool:
    """Whether the circumstance ``condition`` holds at ``scene``."""
    if condition == "county_named":
        return bool(scene.counties)
    if condition == "no_county_named":
        return not scene.counties
    if condition == "several_counties":
        return len(scene.counties) > 1
    if condition == "city_hq_stands":
        return hq_rank(scene.leading_hq) >= hq_rank(CITY_HQ)
    return scene.reconstruction


# --- links: a duty whose clock starts when the one before it is done (plan 4) --------------------

ActionStates = Mapping[str, Mapping[str, str]]
"""An event's actions as key → agency → state."""

# A link in these states holds up nothing: a commander cancelled it as not needed, or a level
# change gave its job to another link (design § Dispatch).
PASSED_OVER: Final[tuple[str, ...]] = ("cancelled", "superseded")


def link_ready(key: str, agency: str, after: Mapping[str, str | None], held: ActionStates) -> bool:
    """Whether the action of item ``key`` for ``agency`` may go out now.

    ``after`` maps each item's key to the key of the item it follows (None: none); ``held`` is
    the event's actions (those about to be dispatched included, as pending). An item follows the
    nearest link before it that the event has an action of: with one for ``agency`` itself (a
    county's report follows that county's verification), that one; else any (市经信委 reports on
    once the first county's report is in). A link with no action at this event (its role named
    nobody, or its circumstance does not hold) is passed over, and so is a cancelled or
    superseded one: the chain does not stop at a step nobody owes.
    """
    before = _link_before(key, after, held)
    if before is None:
        return True
    _previous, states = before
    if agency in states:
        return states[agency] == "done"
    return "done" in states.values()


def reports_received(
    key: str, agency: str, after: Mapping[str, str | None], held: ActionStates
) -> list[tuple[str, str]]:
    """The links (key, agency) whose report ``agency``'s action of item ``key`` receives: the
    holders of the link it follows (as ``link_ready`` finds it), when that link is another
    unit's; none when ``agency`` holds it itself (a county verifies, then reports on: its own
    work) or the item follows none. Design.md: the receiving unit sees the report it received.
    """
    before = _link_before(key, after, held)
    if before is None:
        return []
    previous, states = before
    if agency in states:
        return []
    return [(previous, holder) for holder in sorted(states)]


def _link_before(
    key: str, after: Mapping[str, str | None], held: ActionStates
) -> tuple[str, dict[str, str]] | None:
    """The nearest link before ``key`` the event has an action of that is not cancelled or
    superseded, and those actions' states by agency; None when there is none."""
    previous = after.get(key)
    while previous is not None:
        states = {a: s for a, s in held.get(previous, {}).items() if s not in PASSED_OVER}
        if states:
            return previous, states
        previous = after.get(previous)
    return None
