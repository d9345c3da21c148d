"""Reading `playbooks/regions.yaml` into the plan's grids (service.plan.grids)."""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from service.errors import PlaybookError
from service.plan.grids import PARENT_SCOPE, Grid, GridRegistry, Scope
from service.playbooks.files import read_yaml

_CODE = re.compile(r"[0-9]{6}")


class _GridEntry(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    code: str
    name: str = Field(min_length=1)
    scope: Scope
    parent: str | None
    key_area: bool
    important_city: bool

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
    """Read and check a regions file: `{regions: [{code, name, scope, parent, key_area,
    important_city}, ...]}`.

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
                file,
                label,
                "expected a mapping: code, name, scope, parent, key_area, important_city",
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
        grid = Grid(
            item.code, item.name, item.scope, item.parent, item.key_area, item.important_city
        )
        _check_important_city(file, grid)
        grids.append(grid)

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


def _check_important_city(file: str, grid: Grid) -> None:
    """A 重要城市 (plan 5.5) is a city: a grid serving a 市, as 诸暨市 and 嵊州市 are (plan 1.5's
    县(市)). A district or a county is not one, nor is the province; a district that must be
    90 % restored is a 重点地区 (``key_area``)."""
    if grid.important_city and not grid.place.endswith("市"):
        raise PlaybookError(
            file,
            grid.code,
            f"important_city: {grid.name} is not a city (a 市); plan 5.5's 重要城市 are cities, "
            "and a district or county held to 90% is a key_area (重点地区)",
        )


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
