"""The grids plan 1.5 classifies, loaded from `playbooks/regions.yaml`.

A grid is the province grid, the Shaoxing city grid or a district/county grid, keyed by its
GB/T 2260 code. Each HQ of plan 2.1/2.2 commands within its own grid.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from service.errors import PlaybookError
from service.playbook_files import read_yaml

Scope = Literal["province", "city", "county"]

# The scope a grid's parent must have: county → city → province → none (plan 1.5's three classes).
PARENT_SCOPE: dict[Scope, Scope | None] = {"province": None, "city": "province", "county": "city"}

_CODE = re.compile(r"[0-9]{6}")


@dataclass(frozen=True)
class Grid:
    """One grid: its code, name, scope, parent grid's code and plan 5.5 重点地区 flag."""

    code: str
    name: str
    scope: Scope
    parent: str | None
    key_area: bool

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


class _GridEntry(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    code: str
    name: str = Field(min_length=1)
    scope: Scope
    parent: str | None
    key_area: bool

    @field_validator("code")
    @classmethod
    def _six_digits(cls, code: str) -> str:
        if not _CODE.fullmatch(code):
            raise ValueError(f"must be a 6-digit GB/T 2260 code, got {code!r}")
        return code


def _first_error(exc: ValidationError) -> tuple[tuple[str | int, ...], str]:
    error = exc.errors()[0]
    return tuple(error["loc"]), str(error["msg"]).removeprefix("Value error, ")


def load_regions(path: Path) -> GridRegistry:
    """Read and check a regions file: `{regions: [{code, name, scope, parent, key_area}, ...]}`.

    Raises PlaybookError naming the file, the entry (its code, or `regions[i]`) and the reason.
    """
    file = str(path)
    data = read_yaml(path)
    if not isinstance(data, dict) or "regions" not in data:
        raise PlaybookError(file, "(file)", "expected a mapping with a 'regions' list")
    if extra := sorted(map(str, set(data) - {"regions"})):
        raise PlaybookError(file, extra[0], "unknown key; the file holds only 'regions'")
    entries = data["regions"]
    if not isinstance(entries, list) or not entries:
        raise PlaybookError(file, "regions", "expected a non-empty list of grids")

    grids: list[Grid] = []
    seen: dict[str, str] = {}
    for index, raw in enumerate(entries):
        label = f"regions[{index}]"
        if not isinstance(raw, dict):
            raise PlaybookError(
                file, label, "expected a mapping: code, name, scope, parent, key_area"
            )
        entry = raw["code"] if isinstance(raw.get("code"), str) else label
        try:
            item = _GridEntry.model_validate(raw)
        except ValidationError as exc:
            loc, msg = _first_error(exc)
            raise PlaybookError(file, entry, f"{'.'.join(map(str, loc))}: {msg}") from exc
        if item.code in seen:
            raise PlaybookError(file, item.code, f"duplicate code (also {seen[item.code]})")
        seen[item.code] = label
        grids.append(Grid(item.code, item.name, item.scope, item.parent, item.key_area))

    provinces = [g.code for g in grids if g.scope == "province"]
    if len(provinces) != 1:
        where = provinces[1] if provinces else "regions"
        raise PlaybookError(
            file, where, f"exactly one province grid is needed, found {len(provinces)}"
        )

    registry = GridRegistry(grids)
    for grid in grids:
        _check_parent(file, registry, grid)
    return registry


def _check_parent(file: str, registry: GridRegistry, grid: Grid) -> None:
    wanted = PARENT_SCOPE[grid.scope]
    if wanted is None:
        if grid.parent is not None:
            raise PlaybookError(file, grid.code, "a province grid has no parent")
        return
    if grid.parent is None:
        raise PlaybookError(file, grid.code, f"a {grid.scope} grid needs a {wanted} grid as parent")
    parent = registry.get(grid.parent)
    if parent is None:
        raise PlaybookError(file, grid.code, f"parent {grid.parent} is not a grid in this file")
    if parent.scope != wanted:
        raise PlaybookError(
            file,
            grid.code,
            f"parent {parent.code} is a {parent.scope} grid; a {grid.scope}'s parent must be a "
            f"{wanted} grid",
        )
