"""Names for the codes the service keeps (service.words.timeline.Names): what people read
instead of ``police``, ``330600`` or ``response.leading-hq.consultation``."""

from __future__ import annotations

from service.plan.grids import GridRegistry
from service.playbooks.agencies import AgencyRegistry
from service.playbooks.checklists import Checklists


class PlaybookNames:
    """Units by their names (agencies.yaml), HQs and places by their grids (regions.yaml), duties
    by their titles (checklists). A code the playbooks no longer hold is shown as it is."""

    def __init__(self, grids: GridRegistry, agencies: AgencyRegistry, checklists: Checklists):
        self._grids = grids
        self._agencies = agencies
        self._duties = {item.key: item.title for item in checklists}

    def unit(self, code: str) -> str:
        agency = self._agencies.get(code)
        return agency.name if agency is not None else code

    def hq(self, region: str) -> str:
        return self._grids.hq_name(region) if region in self._grids else region

    def place(self, region: str) -> str:
        grid = self._grids.get(region)
        return grid.place if grid is not None else region

    def duty(self, key: str) -> str:
        return self._duties.get(key, key)
