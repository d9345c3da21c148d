"""All the playbook files of one folder, loaded and validated together."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from service.plan.classification import ClassificationRules
from service.plan.grids import GridRegistry
from service.playbooks.agencies import AgencyRegistry, load_agencies
from service.playbooks.checklists import Checklists, load_checklists
from service.playbooks.classification import load_rules
from service.playbooks.grids import load_regions
from service.playbooks.names import PlaybookNames
from service.playbooks.standing import STANDING_FILE, StandingDuties, load_standing


@dataclass(frozen=True)
class Playbooks:
    """The playbook files, validated: a bad file raises PlaybookError naming file, entry, reason."""

    grids: GridRegistry
    rules: ClassificationRules
    agencies: AgencyRegistry
    checklists: Checklists
    standing: StandingDuties

    @cached_property
    def names(self) -> PlaybookNames:
        """Names for the codes: units, HQs, places, duties."""
        return PlaybookNames(self.grids, self.agencies, self.checklists)

    @classmethod
    def load(cls, folder: Path) -> Playbooks:
        agencies = load_agencies(folder / "agencies.yaml")
        return cls(
            grids=load_regions(folder / "regions.yaml"),
            rules=load_rules(folder / "classification.yaml"),
            agencies=agencies,
            checklists=load_checklists(folder, agencies),
            standing=load_standing(folder / STANDING_FILE, agencies),
        )
