"""How a share reads as a percent: a measured figure rounded down, a bound of the plan exactly.

Plan 5.5 asks 减供负荷恢复80%以上, and 以上 includes the number: 80 % restored means ≥ 0.80, so
a figure short of the bound must never read as the bound. A figure is shown to one decimal,
rounded down: 0.79996 reads 79.9%, never 80.0% or 80%. The plan's bounds (5.5's 80% and 90%,
1.5's 5%, 13%, 20% …) are whole tenths of a percent, and for such a bound b, a figure x rounded
down to a tenth is ≥ b exactly when x ≥ b: what the board, the evaluation report and the
termination check show agrees with what the check decides, on either side of every bound. One
decimal is also what tells a dispatcher 79.9 from 80 without pretending to a precision the
reported megawatts do not have.

A bound is another fact: exact by definition, shown as the plan writes it, without trailing
zeros (80%, 13%, 40%).
"""

from __future__ import annotations

from decimal import ROUND_FLOOR, Decimal
from typing import Final

NOTHING: Final = "—"  # no figure yet, as the pages show a missing time too
TENTH: Final = Decimal("0.1")


def percent(fraction: Decimal | float | None) -> str:
    """A measured share (0.79996) as people read it ("79.9%"), rounded down to a tenth.

    A float (a chart library's value) is taken as the shortest decimal that is that float, so
    0.3 reads 30.0%, not the 29.9% of its binary expansion.
    """
    if fraction is None:
        return NOTHING
    exact = fraction if isinstance(fraction, Decimal) else Decimal(repr(float(fraction)))
    return f"{(exact * 100).quantize(TENTH, rounding=ROUND_FLOOR)}%"


def exact_percent(bound: Decimal) -> str:
    """A bound from the plan's tables (Decimal("0.80")) as the plan writes it ("80%")."""
    return f"{(bound * 100).normalize():f}%"
