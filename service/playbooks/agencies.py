"""`playbooks/agencies.yaml`: every unit an action can be dispatched to (plan 2.1–2.4, 5.2.3),
with one HQ per grid (plan 2.1, 2.2, 5.1)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Final, Literal, cast

from pydantic import Field, model_validator

from service.errors import PlaybookError
from service.plan.addressees import SYMBOLS, Office, Scene, Symbol, offices
from service.playbooks.files import Clause, Entry, Text, entries, validated

AgencyKind = Literal["member-unit", "power", "hq", "province", "user", "symbolic"]

# The symbolic agency a dispatch resolves to the HQ leading the event (see agencies.yaml).
LEADING_HQ: Final[Symbol] = "leading-hq"

_REGION = re.compile(r"[0-9]{6}")


class Agency(Entry):
    """One unit of the plan; an HQ carries the GB/T 2260 code of the grid it commands, a power
    authority (电力运行主管部门) the code of the grid whose authority it is (``authority_for``)."""

    code: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    name: Text
    kind: AgencyKind
    clauses: list[Clause] = Field(min_length=1)
    region: str | None = None
    authority_for: str | None = None

    @model_validator(mode="after")
    def _hq_has_region(self) -> Agency:
        if self.kind == "hq" and self.region is None:
            raise ValueError("an hq agency needs the region (grid code) it commands")
        if self.kind != "hq" and self.region is not None:
            raise ValueError(f"only an hq agency has a region, not a {self.kind} agency")
        for field, code in (("region", self.region), ("authority_for", self.authority_for)):
            if code is not None and not _REGION.fullmatch(code):
                raise ValueError(f"{field} must be a 6-digit GB/T 2260 code, got {code!r}")
        if self.kind == "symbolic" and self.code not in SYMBOLS:
            raise ValueError(
                f"no rule resolves the symbolic agency {self.code!r}; "
                f"the dispatcher knows {', '.join(SYMBOLS)}"
            )
        return self


class AgencyRegistry:
    """The agencies of one agencies file, in file order."""

    def __init__(self, agencies: Iterable[Agency]) -> None:
        self._agencies = {agency.code: agency for agency in agencies}
        self._hqs = {a.region: a.code for a in self._agencies.values() if a.region is not None}
        self._authorities = {
            a.authority_for: a.code for a in self._agencies.values() if a.authority_for
        }

    def get(self, code: str) -> Agency | None:
        return self._agencies.get(code)

    def __contains__(self, code: object) -> bool:
        return code in self._agencies

    def __iter__(self) -> Iterator[Agency]:
        return iter(self._agencies.values())

    def __len__(self) -> int:
        return len(self._agencies)

    def is_real(self, code: str) -> bool:
        """Whether ``code`` names a unit actions can reach (not the symbolic ``leading-hq``)."""
        agency = self._agencies.get(code)
        return agency is not None and agency.kind != "symbolic"

    def hq_for_region(self, region: str) -> str:
        """The code of the HQ agency commanding grid `region` (plan 2.1, 2.2): "330603" →
        "hq-330603", "330600" → "hq-city". Raises KeyError for a region without an HQ."""
        return self._hqs[region]

    def office(self, kind: Office, region: str) -> str:
        """The agency holding ``kind`` of office for grid ``region``: its HQ, or its power
        authority, which is the agency registered ``authority_for`` it (市经信委 for the city)
        and else the region's HQ, of which the authority is a member (a county's)."""
        if kind == "power-authority" and region in self._authorities:
            return self._authorities[region]
        return self.hq_for_region(region)

    def addressees(self, code: str, scene: Scene) -> list[str]:
        """The agencies an item owed by ``code`` goes to at ``scene``: ``code`` itself, or for a
        symbolic agency the units it names there (service.plan.addressees), each once."""
        agency = self._agencies.get(code)
        if agency is None or agency.kind != "symbolic":
            return [code]
        # A symbolic code is one of SYMBOLS: loading refuses any other.
        symbol = cast(Symbol, code)
        found = [self.office(kind, region) for kind, region in offices(symbol, scene)]
        return list(dict.fromkeys(found))


def load_agencies(path: Path) -> AgencyRegistry:
    """Read and check an agencies file: `{agencies: [{code, name, kind, clauses, region?}, ...]}`.

    Raises PlaybookError naming the file, the entry (its code, or `agencies[i]`) and the reason:
    malformed YAML, unknown field, unknown kind, a clause the plan lacks, an HQ without a region,
    a symbolic agency no rule resolves, a duplicate code, two HQs for one region or two
    authorities for one.
    """
    file = str(path)
    agencies: list[Agency] = []
    codes: dict[str, str] = {}
    regions: dict[str, str] = {}
    authorities: dict[str, str] = {}
    for label, entry, raw in entries(path, "agencies"):
        agency = validated(Agency, raw, file, entry)
        if agency.code in codes:
            raise PlaybookError(file, agency.code, f"duplicate code (also {codes[agency.code]})")
        if agency.authority_for is not None:
            if agency.authority_for in authorities:
                other = authorities[agency.authority_for]
                reason = f"authority_for {agency.authority_for} already has one ({other})"
                raise PlaybookError(file, agency.code, reason)
            authorities[agency.authority_for] = agency.code
        if agency.region is not None:
            if agency.region in regions:
                other = regions[agency.region]
                reason = f"region {agency.region} already has an HQ ({other})"
                raise PlaybookError(file, agency.code, reason)
            regions[agency.region] = agency.code
        codes[agency.code] = label
        agencies.append(agency)
    return AgencyRegistry(agencies)
