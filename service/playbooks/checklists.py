"""`playbooks/checklists/*.yaml`: the duties of the plan as items, each owed by one agency at one
phase for some levels (plan 2.2–2.5, 3.2.1, 3.2.2, 4, 5.2.1–5.2.3, 5.3, 5.4, 6).

An item goes out at its phase's moment (service.plan.duties) unless it names another
(``moment:``); one that follows another (``after:``) goes out when that one is done; one with a
circumstance (``when:``) only where it holds (service.plan.addressees). ``escalate_to:`` names the
unit told, besides the agency and the leading HQ, when its action is overdue
(design § Deadlines): a real unit other than the item's own agency. ``due_on:`` says what its
due time asks for: ``acknowledgement`` (the default: taken up by then) or ``completion`` (done by
then, where the plan's words set the time on the work itself, as plan 4's 立即报告 does;
service.plan.deadlines). ``requires: approval`` keeps its action from being done until a
government's approval is recorded on it (plan 5.3 报经当地政府批准; service.plan.requisitions):
an HQ's duty, as only an HQ has a government to ask.
``job:`` names the job an item does at its levels where another item does it at others (the
on-site HQ: the county's at IV, the city's at III): a level (or grade) change supersedes the open
actions of an item whose job is now another's, or nobody's
(service.flows.actions.outstanding.supersede); one item per job per level.

`playbook_version` hashes every playbook file, so each dispatched action can record the playbook
version it came from (plan 8.1).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Final

from pydantic import Field, field_validator, model_validator

from service.errors import PlaybookError
from service.plan.addressees import Condition
from service.plan.deadlines import DEFAULT_DUE_ON, DueOn
from service.plan.duties import (
    OTHER_MOMENTS,
    PHASE_MOMENT,
    UNLEVELLED_MOMENTS,
    Moment,
    Phase,
)
from service.plan.levels import Level
from service.plan.requisitions import Requirement
from service.playbooks.agencies import AgencyRegistry
from service.playbooks.files import Clause, Entry, Text, entries, validated

CHECKLIST_DIR: Final = "checklists"
# A playbook folder's files, relative to it: what the loaders read and what the version hashes.
PLAYBOOK_GLOBS: Final = ("*.yaml", f"{CHECKLIST_DIR}/*.yaml")


KEY_PATTERN: Final = r"^[a-z0-9][a-z0-9._-]*$"


class ChecklistItem(Entry):
    """One duty of the plan: owed by `agency` in `phase` at `levels`, due `due_minutes` after
    dispatch, acknowledged or completed by then as `due_on` says. `agency` may be symbolic
    (`leading-hq`, `county-hq`, `local-power-authority`), resolved when the item is dispatched.
    `moment` moves it off its phase's moment, `after` makes it wait for another item to be done,
    `when` for a circumstance. `escalate_to` is the agency also told when its action is
    overdue; `requires` what must be on record before its action is done. `job` names the job
    it does at its levels, which other items of the job do at theirs. `skip_from` makes it the
    receipt of a report (the link it follows) sent straight to it, skipping the links between
    (plan 4 必要时可越级上报): it goes out only when that report's completion names its agency."""

    key: str = Field(pattern=KEY_PATTERN)
    agency: str = Field(min_length=1)
    phase: Phase
    moment: Moment | None = None
    levels: list[Level] = Field(min_length=1)
    clause: Clause
    title: Text
    detail: Text
    due_minutes: int = Field(gt=0)
    due_on: DueOn = DEFAULT_DUE_ON
    after: str | None = Field(default=None, pattern=KEY_PATTERN)
    when: Condition | None = None
    escalate_to: str | None = Field(default=None, min_length=1)
    requires: Requirement | None = None
    job: str | None = Field(default=None, pattern=KEY_PATTERN)
    skip_from: str | None = Field(default=None, pattern=KEY_PATTERN)

    @field_validator("levels")
    @classmethod
    def _distinct(cls, levels: list[Level]) -> list[Level]:
        if twice := sorted({level for level in levels if levels.count(level) > 1}):
            raise ValueError(f"level {twice[0]} is listed twice")
        return levels

    @model_validator(mode="after")
    def _moment_of_phase(self) -> ChecklistItem:
        allowed = (PHASE_MOMENT[self.phase], *OTHER_MOMENTS.get(self.phase, ()))
        if self.moment is not None and self.moment not in allowed:
            raise ValueError(
                f"moment: a {self.phase} item goes out at {' or '.join(allowed)}, not {self.moment}"
            )
        if self.after == self.key:
            raise ValueError("after: an item cannot follow itself")
        if self.escalate_to == self.agency:
            raise ValueError("escalate_to: the item's own agency; name the unit that chases it")
        if self.skip_from is not None and self.skip_from != self.after:
            raise ValueError(
                "skip_from: a receipt of a report sent straight to it follows that report "
                f"(after: {self.skip_from})"
            )
        return self

    @property
    def dispatched_at(self) -> Moment:
        """The moment the item goes out at: its own ``moment``, else its phase's."""
        return self.moment or PHASE_MOMENT[self.phase]


# The symbolic agencies that name HQs (service.plan.addressees): each may ask its government's
# approval (plan 5.3 各级应急指挥部…报经当地政府批准).
HQ_SYMBOLS: Final = frozenset({"leading-hq", "county-hq", "commanding-hq"})


def _asks_approval(item: ChecklistItem, agencies: AgencyRegistry) -> bool:
    """Whether the item's agency is an HQ, or a role that names HQs: who asks a government."""
    agency = agencies.get(item.agency)
    return agency is not None and (agency.kind == "hq" or agency.code in HQ_SYMBOLS)


class Checklists:
    """Every checklist item, in file order (files sorted by name), and the playbook version."""

    def __init__(self, items: Iterable[ChecklistItem], version: str) -> None:
        self._items = list(items)
        self.by_key: Mapping[str, ChecklistItem] = MappingProxyType(
            {item.key: item for item in self._items}
        )
        self.version = version
        self.after: Mapping[str, str | None] = MappingProxyType(
            {item.key: item.after for item in self._items}
        )
        # Keys another item follows: completing (or cancelling) one of these may release a link.
        self.links: frozenset[str] = frozenset(item.after for item in self._items if item.after)
        # The links of a chain (plan 4): every item that follows another or is followed. They go
        # out in runs of the chain, one per area and moment (design § Reporting chain).
        self.chain: frozenset[str] = self.links | frozenset(
            item.key for item in self._items if item.after
        )
        # The chain's ends, which nothing follows: receiving the report at the top. A receipt
        # stays owed when a later run supersedes the links before it, and when the response ends.
        self.receipts: frozenset[str] = self.chain - self.links
        # Plan 4 必要时可越级上报: a report's key → the receipts it may go to straight.
        skips: dict[str, list[ChecklistItem]] = {}
        for item in self._items:
            if item.skip_from is not None:
                skips.setdefault(item.skip_from, []).append(item)
        self.skips: Mapping[str, tuple[ChecklistItem, ...]] = MappingProxyType(
            {key: tuple(items) for key, items in skips.items()}
        )
        jobs: dict[str, list[ChecklistItem]] = {}
        for item in self._items:
            if item.job is not None:
                jobs.setdefault(item.job, []).append(item)
        # Each job's items, in file order (one per level: the loader checks it).
        self.jobs: Mapping[str, tuple[ChecklistItem, ...]] = MappingProxyType(
            {job: tuple(items) for job, items in jobs.items()}
        )

    def __iter__(self) -> Iterator[ChecklistItem]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def superseded(
        self, level: Level | None, grade: Level | None
    ) -> dict[str, ChecklistItem | None]:
        """The items whose job another item does at the event's ``level`` (``grade``, for a
        post-event item: plan 6 goes by the event's grade), or no item: key → the item that
        does it now (None: none at this level). Items with no ``job`` are never superseded."""
        found: dict[str, ChecklistItem | None] = {}
        for items in self.jobs.values():
            for item in items:
                at = grade if item.phase == "post_event" else level
                if at is None or at in item.levels:
                    continue
                found[item.key] = next((other for other in items if at in other.levels), None)
        return found

    def items_for(self, phase: Phase, level: Level | None) -> list[ChecklistItem]:
        """The items of `phase` that apply at `level`, in file order.

        Monitoring and warnings come before any level is known (plan 3.2.1, 3.2.2), so `level`
        None with those phases gives all their items; every other phase needs a level
        (ValueError).
        """
        if level is None and PHASE_MOMENT[phase] not in UNLEVELLED_MOMENTS:
            raise ValueError(f"the {phase} phase needs a level")
        return [i for i in self._items if i.phase == phase and (level is None or level in i.levels)]

    def items_at(self, moment: Moment, level: Level | None = None) -> list[ChecklistItem]:
        """The items that go out at ``moment`` and apply at ``level``, in file order.

        The moments before any level is known (an event opened, a warning proposed or
        published) give every item of theirs; the others need a level (ValueError).
        """
        if level is None and moment not in UNLEVELLED_MOMENTS:
            raise ValueError(f"the {moment} moment needs a level")
        return [
            item
            for item in self._items
            if item.dispatched_at == moment and (level is None or level in item.levels)
        ]


def load_checklists(folder: Path, agencies: AgencyRegistry) -> Checklists:
    """Read and check every `checklists/*.yaml` of the playbook `folder`, in sorted order.

    Each file is `{items: [...]}`. Raises PlaybookError naming the file, the entry (the item's key,
    or `items[i]`) and the reason: malformed YAML, a file of another shape, unknown or missing
    field, unknown phase, moment, level or circumstance, a moment its phase cannot have, a
    repeated level, a clause the plan lacks (PLAN_CLAUSES), an empty title, due_minutes ≤ 0, a
    due_on other than acknowledgement or completion, an agency not in `agencies`, an
    `escalate_to` that is no real unit or is the item's own agency, a key used twice (naming both
    files), or an `after` naming no item, an item of another moment, or an item that comes back
    to it, `requires: approval` on an item no HQ owes, a `job` whose items differ in phase or
    moment or share a level, or a `skip_from` other than its `after` or with an item following
    it. The result carries
    `playbook_version(folder)`.
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
            if item.escalate_to is not None and not agencies.is_real(item.escalate_to):
                raise PlaybookError(
                    file,
                    item.key,
                    f"escalate_to: {item.escalate_to!r} is no unit of agencies.yaml that can be "
                    "told (a symbolic code names none)",
                )
            if item.requires == "approval" and not _asks_approval(item, agencies):
                raise PlaybookError(
                    file,
                    item.key,
                    f"requires: approval is an HQ's to ask of its government (plan 5.3 "
                    f"报经当地政府批准); {item.agency!r} is no HQ nor a role naming HQs "
                    f"({', '.join(sorted(HQ_SYMBOLS))})",
                )
            seen[item.key] = f"{file} {label}"
            items.append(item)
    files = {item.key: seen[item.key].rsplit(" ", 1)[0] for item in items}
    _check_links(items, files)
    _check_jobs(items, files)
    _check_skips(items, files)
    return Checklists(items, playbook_version(folder))


def _check_links(items: list[ChecklistItem], files: Mapping[str, str]) -> None:
    """Every ``after`` names an item of the same moment, and no chain comes back on itself."""
    by_key = {item.key: item for item in items}
    for item in items:
        if item.after is None:
            continue
        before = by_key.get(item.after)
        if before is None:
            raise PlaybookError(files[item.key], item.key, f"after: no item {item.after!r}")
        if before.dispatched_at != item.dispatched_at:
            raise PlaybookError(
                files[item.key],
                item.key,
                f"after: {item.after} goes out at {before.dispatched_at}, "
                f"this item at {item.dispatched_at}",
            )
        chain = [item.key]
        while before is not None:
            if before.key in chain:
                loop = " → ".join([*chain, before.key])
                raise PlaybookError(files[item.key], item.key, f"after: a loop ({loop})")
            chain.append(before.key)
            before = by_key.get(before.after) if before.after else None


def _check_jobs(items: list[ChecklistItem], files: Mapping[str, str]) -> None:
    """The items of one job are of one phase (so that one level, or the grade, says which does
    it) and moment, and no two list the same level: at each level one item does the job."""
    first: dict[str, ChecklistItem] = {}
    by_level: dict[tuple[str, str], str] = {}
    for item in items:
        if item.job is None:
            continue
        other = first.setdefault(item.job, item)
        if (other.phase, other.dispatched_at) != (item.phase, item.dispatched_at):
            raise PlaybookError(
                files[item.key],
                item.key,
                f"job: {item.job} is done by {other.key}, a {other.phase} item going out at "
                f"{other.dispatched_at}; this one is {item.phase} at {item.dispatched_at}",
            )
        for level in item.levels:
            twice = by_level.setdefault((item.job, level), item.key)
            if twice != item.key:
                raise PlaybookError(
                    files[item.key],
                    item.key,
                    f"job: {item.job} at level {level} is already {twice}'s (one item per job "
                    "per level)",
                )


def _check_skips(items: list[ChecklistItem], files: Mapping[str, str]) -> None:
    """A receipt a report may skip to is a chain's end: nothing follows it."""
    followed = {item.after for item in items if item.after}
    for item in items:
        if item.skip_from is not None and item.key in followed:
            raise PlaybookError(
                files[item.key],
                item.key,
                "skip_from: a report sent straight to a receipt ends the chain; no item may "
                "follow it",
            )


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
