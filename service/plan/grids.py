"""The grids plan 1.5 classifies (read from `playbooks/regions.yaml` by service.playbooks).

A grid is the province grid, the Shaoxing city grid or a district/county grid, keyed by its
GB/T 2260 code. Each HQ of plan 2.1/2.2 commands within its own grid.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Final, Literal, get_args

Scope = Literal["province", "city", "county"]
SCOPES: Final[tuple[Scope, ...]] = get_args(Scope)

# The scope a grid's parent must have: county → city → province → none (plan 1.5's three classes).
PARENT_SCOPE: Final[dict[Scope, Scope | None]] = {
    "province": None,
    "city": "province",
    "county": "city",
}


@dataclass(frozen=True)
class Grid:
    """One grid: its code, name, scope, parent grid's code, and whether plan 5.5 holds it to
    90 % restored as a 重点地区 (``key_area``) or a 重要城市 (``important_city``)."""

    code: str
    name: str
    scope: Scope
    parent: str | None
    key_area: bool
    important_city: bool = False

    @property
    def place(self) -> str:
        """The administrative area the grid serves: "绍兴市电网" → "绍兴市"."""
        return self.name.removesuffix("电网")


class GridRegistry:
    """The grids of one regions file, in file order."""

    def __init__(self, grids: Iterable[Grid]) -> None:
        self._grids = {grid.code: grid for grid in grids}

    def get(self, code: str) -> Grid | None:
        return self._grids.get(code)

    def __contains__(self, code: object) -> bool:
        return code in self._grids

    def __iter__(self) -> Iterator[Grid]:
        return iter(self._grids.values())

    def __len__(self) -> int:
        return len(self._grids)

    def code_named(self, name: str) -> str | None:
        """The code of the grid called ``name``, with or without its 电网 suffix ("柯桥区",
        "绍兴市电网"), or None: for telling a client which code it meant, never for accepting a
        name in place of a code."""
        place = name.strip().removesuffix("电网")
        return next((grid.code for grid in self._grids.values() if grid.place == place), None)

    def ancestors(self, code: str) -> list[Grid]:
        """The grids above `code`, nearest first (a county's city, then the province)."""
        found: list[Grid] = []
        grid = self._grids.get(code)
        while grid is not None and grid.parent is not None:
            grid = self._grids.get(grid.parent)
            if grid is None or grid in found:
                break
            found.append(grid)
        return found

    def is_within(self, code: str, ancestor: str) -> bool:
        """Whether grid `code` is `ancestor` or lies inside it; unknown codes are within nothing."""
        if code not in self._grids or ancestor not in self._grids:
            return False
        return code == ancestor or any(g.code == ancestor for g in self.ancestors(code))

    def hq_name(self, code: str) -> str:
        """Full name of the HQ that commands grid `code`.

        Plan 2.1 names the city's "绍兴市大面积停电事件应急指挥部" (市应急指挥部); by
        plan 2.2 each district/county sets up its own "大面积停电事件应急指挥部"; the
        province's (省应急指挥部, plan 1.5 and 5.1) is named the same way, after the
        provincial plan of plan 1.2. Raises KeyError for an unknown code.
        """
        return f"{self._grids[code].place}大面积停电事件应急指挥部"

    def hq_short_name(self, code: str) -> str:
        """The short name the plan uses: 省应急指挥部, 市应急指挥部, or e.g. 柯桥区应急指挥部."""
        grid = self._grids[code]
        if grid.scope == "province":
            return "省应急指挥部"
        if grid.scope == "city":
            return "市应急指挥部"
        return f"{grid.place}应急指挥部"
