"""When a report worsens the situation, and so voids the attestations made before it (plan 5.5).

Plan 5.5's conditions 1, 3 and 4 are a person's judgement of the grid as it stood when they
judged it. A statement that the main grid is stable, made before a relapse, says nothing of the
grid after it: the service sets it aside, and the termination check needs a fresh one.

"Worsens" (design § Termination), judged for each grid a report gives, against what the
attestation knew of that grid when it was made (``Known``: the grid's latest load lost then, and
whether the event had shown it losing anything until then):

* more load lost: the report's figure for the grid stands as the grid's latest (it is not older
  than the figures the event holds, service.flows.reports.event_grids) and is greater than the
  latest load lost the attestation knew (a grid it did not know had lost nothing);
* a grid newly hit: the report shows the grid losing load or customers, and the attestation
  knew of no loss there (the grid was not yet in the event, or had lost nothing).

A report of an earlier moment that does not stand as the grid's latest (reports may arrive out
of order) tells of the past, not of the grid now: it voids nothing, whatever it shows.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Final

NOTHING: Final = Decimal(0)


@dataclass(frozen=True, slots=True)
class Known:
    """One grid as an attestation knew it: its latest load lost (MW) and whether the event had
    shown it losing load or customers by then."""

    lost: Decimal
    hit: bool

    @classmethod
    def of(cls, lost: Decimal, peak_lost: Decimal, peak_out: int | None) -> Known:
        """From a grid's latest load lost and its worst figures so far."""
        return cls(lost, peak_lost > 0 or (peak_out or 0) > 0)


@dataclass(frozen=True, slots=True)
class Fresh:
    """One grid's figures as a report leaves them standing (its latest)."""

    region: str
    lost: Decimal
    customers_out: int | None = None


@dataclass(frozen=True, slots=True)
class Worse:
    """One grid a report shows worse than an attestation knew it: ``known_lost`` is the latest
    load lost it knew (None: the grid was not in the event), ``lost`` the report's."""

    region: str
    known_lost: Decimal | None
    lost: Decimal
    newly_hit: bool


def worsened(known: Mapping[str, Known], fresh: Iterable[Fresh]) -> list[Worse]:
    """The grids of ``fresh`` that are worse than ``known`` (module docstring), in their order:
    empty when the report worsens nothing."""
    found = []
    for grid in fresh:
        before = known.get(grid.region)
        losing = grid.lost > NOTHING or (grid.customers_out or 0) > 0
        newly_hit = losing and (before is None or not before.hit)
        more = grid.lost > (before.lost if before else NOTHING)
        if newly_hit or more:
            found.append(Worse(grid.region, before.lost if before else None, grid.lost, newly_hit))
    return found
