"""The agencies and duty checklists of the plan, loaded from `playbooks/`.

`agencies.yaml` lists every unit an action can be dispatched to (plan 2.1–2.4, 5.2.3), with one HQ
per grid (plan 2.1, 2.2, 5.1). `checklists/*.yaml` hold the duties of plan 3.2.2.2 (warning),
4 and 5.2.1 (first response), 5.2.2, 5.2.3, 5.3 and 5.4 (response) and 6 (post-event) as items,
each owed by one agency at one phase for some levels. `playbook_version` hashes every playbook file,
so each dispatched action can record the playbook version it came from (plan 8.1).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Annotated, Any, Literal, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from service.classification import Level
from service.errors import PlaybookError
from service.playbook_files import read_yaml

Phase = Literal["warning", "first_response", "response", "post_event"]
AgencyKind = Literal["member-unit", "power", "hq", "province", "user", "symbolic"]

# Every numbered clause of the plan (绍政办发〔2018〕41号), read off its headings: the chapters
# 1–8 and their numbered sections. The plan has no others (chapter 4 has no subsections, and 5.5's
# "1." … "4." are the termination conditions, not clauses), so a playbook citing anything else
# cites nothing. tests/test_playbooks.py checks this set against the plan's text.
PLAN_CLAUSES: frozenset[str] = frozenset(
    {"1", "1.1", "1.2", "1.3", "1.4", "1.5"}
    | {"2", "2.1", "2.2", "2.3", "2.4", "2.5"}
    | {"3", "3.1", "3.1.1", "3.1.2", "3.2", "3.2.1", "3.2.2", "3.2.2.1", "3.2.2.2", "3.2.2.3"}
    | {"4"}
    | {"5", "5.1", "5.2", "5.2.1", "5.2.2", "5.2.3", "5.3", "5.4", "5.5"}
    | {"6", "6.1", "6.2", "6.3", "6.4"}
    | {"7", "7.1", "7.2", "7.3", "7.4", "7.5", "7.6"}
    | {"8", "8.1", "8.2"}
)

# The symbolic agency the dispatcher resolves to the HQ leading the event (see agencies.yaml).
LEADING_HQ = "leading-hq"
CHECKLIST_DIR = "checklists"
# A playbook folder's files, relative to it: what the loaders read and what the version hashes.
PLAYBOOK_GLOBS = ("*.yaml", f"{CHECKLIST_DIR}/*.yaml")

_REGION = re.compile(r"[0-9]{6}")


def _plan_clause(clause: str) -> str:
    if clause not in PLAN_CLAUSES:
        raise ValueError(f"{clause!r} is not a clause of the plan")
    return clause


def _not_blank(text: str) -> str:
    if not text.strip():
        raise ValueError("must not be empty")
    return text


Clause = Annotated[str, AfterValidator(_plan_clause)]
Text = Annotated[str, AfterValidator(_not_blank)]


class _Entry(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class Agency(_Entry):
    """One unit of the plan; an HQ carries the GB/T 2260 code of the grid it commands."""

    code: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    name: Text
    kind: AgencyKind
    clauses: list[Clause] = Field(min_length=1)
    region: str | None = None

    @model_validator(mode="after")
    def _hq_has_region(self) -> Agency:
        if self.kind == "hq" and self.region is None:
            raise ValueError("an hq agency needs the region (grid code) it commands")
        if self.kind != "hq" and self.region is not None:
            raise ValueError(f"only an hq agency has a region, not a {self.kind} agency")
        if self.region is not None and not _REGION.fullmatch(self.region):
            raise ValueError(f"region must be a 6-digit GB/T 2260 code, got {self.region!r}")
        return self


class ChecklistItem(_Entry):
    """One duty of the plan: owed by `agency` in `phase` at `levels`, due `due_minutes` after
    dispatch. `agency` may be `leading-hq`, resolved when the item is dispatched."""

    key: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]*$")
    agency: str = Field(min_length=1)
    phase: Phase
    levels: list[Level] = Field(min_length=1)
    clause: Clause
    title: Text
    detail: Text
    due_minutes: int = Field(gt=0)

    @field_validator("levels")
    @classmethod
    def _distinct(cls, levels: list[Level]) -> list[Level]:
        if twice := sorted({level for level in levels if levels.count(level) > 1}):
            raise ValueError(f"level {twice[0]} is listed twice")
        return levels


class AgencyRegistry:
    """The agencies of one agencies file, in file order."""

    def __init__(self, agencies: Iterable[Agency]) -> None:
        self._agencies = {agency.code: agency for agency in agencies}
        self._hqs = {a.region: a.code for a in self._agencies.values() if a.region is not None}

    def get(self, code: str) -> Agency | None:
        return self._agencies.get(code)

    def __contains__(self, code: object) -> bool:
        return code in self._agencies

    def __iter__(self) -> Iterator[Agency]:
        return iter(self._agencies.values())

    def __len__(self) -> int:
        return len(self._agencies)

    def hq_for_region(self, region: str) -> str:
        """The code of the HQ agency commanding grid `region` (plan 2.1, 2.2): "330603" →
        "hq-330603", "330600" → "hq-city". Raises KeyError for a region without an HQ."""
        return self._hqs[region]


class Checklists:
    """Every checklist item, in file order (files sorted by name), and the playbook version."""

    def __init__(self, items: Iterable[ChecklistItem], version: str) -> None:
        self._items = list(items)
        self.by_key: Mapping[str, ChecklistItem] = MappingProxyType(
            {item.key: item for item in self._items}
        )
        self.version = version

    def __iter__(self) -> Iterator[ChecklistItem]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def items_for(self, phase: Phase, level: Level | None) -> list[ChecklistItem]:
        """The items of `phase` that apply at `level`, in file order.

        A warning comes before any level is known (plan 3.2.2.2), so `level` None with the
        warning phase gives every warning item; every other phase needs a level (ValueError).
        """
        if level is None and phase != "warning":
            raise ValueError(f"the {phase} phase needs a level")
        return [i for i in self._items if i.phase == phase and (level is None or level in i.levels)]


# --- loading ------------------------------------------------------------------------------------

_M = TypeVar("_M", bound=BaseModel)


def _validated(model: type[_M], raw: dict[str, Any], file: str, entry: str) -> _M:
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(map(str, error["loc"]))
        msg = str(error["msg"]).removeprefix("Value error, ")
        raise PlaybookError(file, entry, f"{where}: {msg}" if where else msg) from exc


def _entries(path: Path, name: str) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(label, entry, raw mapping) for each entry of the `name` list of a file holding only it;
    `entry` is the entry's `key` or `code` when it has a string one, else its label."""
    file = str(path)
    data = read_yaml(path)
    if not isinstance(data, dict) or name not in data:
        raise PlaybookError(file, "(file)", f"expected a mapping with an '{name}' list")
    if extra := sorted(map(str, set(data) - {name})):
        raise PlaybookError(file, extra[0], f"unknown key; the file holds only '{name}'")
    entries = data[name]
    if not isinstance(entries, list) or not entries:
        raise PlaybookError(file, name, f"expected a non-empty list of {name}")
    for index, raw in enumerate(entries):
        label = f"{name}[{index}]"
        if not isinstance(raw, dict):
            raise PlaybookError(file, label, "expected a mapping")
        named = raw.get("key", raw.get("code"))
        yield label, named if isinstance(named, str) else label, raw


def load_agencies(path: Path) -> AgencyRegistry:
    """Read and check an agencies file: `{agencies: [{code, name, kind, clauses, region?}, ...]}`.

    Raises PlaybookError naming the file, the entry (its code, or `agencies[i]`) and the reason:
    malformed YAML, unknown field, unknown kind, a clause the plan lacks, an HQ without a region,
    a duplicate code, or two HQs for one region.
    """
    file = str(path)
    agencies: list[Agency] = []
    codes: dict[str, str] = {}
    regions: dict[str, str] = {}
    for label, entry, raw in _entries(path, "agencies"):
        agency = _validated(Agency, raw, file, entry)
        if agency.code in codes:
            raise PlaybookError(file, agency.code, f"duplicate code (also {codes[agency.code]})")
        if agency.region is not None:
            if agency.region in regions:
                other = regions[agency.region]
                reason = f"region {agency.region} already has an HQ ({other})"
                raise PlaybookError(file, agency.code, reason)
            regions[agency.region] = agency.code
        codes[agency.code] = label
        agencies.append(agency)
    return AgencyRegistry(agencies)


def load_checklists(folder: Path, agencies: AgencyRegistry) -> Checklists:
    """Read and check every `checklists/*.yaml` of the playbook `folder`, in sorted order.

    Each file is `{items: [...]}`. Raises PlaybookError naming the file, the entry (the item's key,
    or `items[i]`) and the reason: malformed YAML, a file of another shape, unknown or missing
    field, unknown phase or level, a repeated level, a clause the plan lacks (PLAN_CLAUSES), an
    empty title, due_minutes ≤ 0, an agency not in `agencies`, or a key used twice (naming both
    files). The result carries `playbook_version(folder)`.
    """
    directory = folder / CHECKLIST_DIR
    paths = sorted(directory.glob("*.yaml"))
    if not paths:
        raise PlaybookError(str(directory), "(file)", "no checklist files (*.yaml)")
    items: list[ChecklistItem] = []
    seen: dict[str, str] = {}
    for path in paths:
        file = str(path)
        for label, entry, raw in _entries(path, "items"):
            item = _validated(ChecklistItem, raw, file, entry)
            if item.key in seen:
                raise PlaybookError(file, item.key, f"duplicate key (also in {seen[item.key]})")
            if item.agency not in agencies:
                raise PlaybookError(file, item.key, f"agency: unknown agency {item.agency!r}")
            seen[item.key] = f"{file} {label}"
            items.append(item)
    return Checklists(items, playbook_version(folder))


def playbook_version(folder: Path) -> str:
    """A content hash of the playbook folder: every file of PLAYBOOK_GLOBS (regions.yaml,
    classification.yaml, agencies.yaml, checklists/*.yaml) by relative path and bytes, in sorted
    order. Any edit, rename, addition or removal changes it. 16 hex digits of SHA-256."""
    paths = {p for pattern in PLAYBOOK_GLOBS for p in folder.glob(pattern) if p.is_file()}
    digest = hashlib.sha256()
    for relative in sorted(p.relative_to(folder).as_posix() for p in paths):
        try:
            content = (folder / relative).read_bytes()
        except OSError as exc:
            raise PlaybookError(str(folder / relative), "(file)", f"cannot read: {exc}") from exc
        name = relative.encode("utf-8")
        # Lengths first, so no two different folders can feed the hash the same byte stream.
        digest.update(len(name).to_bytes(8, "big") + name + len(content).to_bytes(8, "big"))
        digest.update(content)
    return digest.hexdigest()[:16]
