"""How much of the lost load is back (plan 5.5 condition 2), from the event's grids."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Final

SCOPE_WIDTH: Final = {"province": 3, "city": 2, "county": 1}
ONE: Final = Decimal(1)


@dataclass(frozen=True, slots=True)
class GridLoss:
    region: str
    scope: str
    load_lost_mw: Decimal
    peak_load_lost_mw: Decimal


@dataclass(frozen=True, slots=True)
class Restoration:
    """``overall`` is over the widest scope reported; ``grids`` per grid code; fractions 0–1."""

    overall: Decimal | None
    scope: str | None
    grids: dict[str, Decimal] = field(default_factory=dict)


def restored_fraction(latest_lost: Decimal, peak_lost: Decimal) -> Decimal:
    """1 − latest lost ÷ peak lost; a grid that never lost load is wholly restored."""
    if peak_lost <= 0:
        return ONE
    return max(Decimal(0), ONE - latest_lost / peak_lost)


def restoration(grids: Iterable[GridLoss]) -> Restoration:
    """Per grid and overall restoration (design § Termination, the condition ``load_restored``).

    Overall sums the grids of the widest scope any report named (province > city > county), so a
    city-wide figure is not double counted with its counties.
    """
    rows = list(grids)
    if not rows:
        return Restoration(overall=None, scope=None)
    per_grid = {g.region: restored_fraction(g.load_lost_mw, g.peak_load_lost_mw) for g in rows}
    widest = max(rows, key=lambda g: SCOPE_WIDTH[g.scope]).scope
    chosen = [g for g in rows if g.scope == widest]
    overall = restored_fraction(
        sum((g.load_lost_mw for g in chosen), Decimal(0)),
        sum((g.peak_load_lost_mw for g in chosen), Decimal(0)),
    )
    return Restoration(overall=overall, scope=widest, grids=per_grid)
