"""`playbooks/checklists/*.yaml`: the duties of the plan as items, each owed by one agency at one
phase for some levels (plan 3.2.2.2, 4, 5.2.1–5.2.3, 5.3, 5.4, 6).

`playbook_version` hashes every playbook file, so each dispatched action can record the playbook
version it came from (plan 8.1).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Final

from pydantic import Field, field_validator

from service.errors import PlaybookError
from service.plan.duties import Phase
from service.plan.levels import Level
from service.playbooks.agencies import AgencyRegistry
from service.playbooks.files import Clause, Entry, Text, entries, validated

CHECKLIST_DIR: Final = "checklists"
# A playbook folder's files, relative to it: what the loaders read and what the version hashes.
PLAYBOOK_GLOBS: Final = ("*.yaml", f"{CHECKLIST_DIR}/*.yaml")


class ChecklistItem(Entry):
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
        for label, entry, raw in entries(path, "items"):
            item = validated(ChecklistItem, raw, file, entry)
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
