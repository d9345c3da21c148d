"""The board's small restoration curve: inline SVG drawn on the server, so that the cached
render of a version carries it and the page loads nothing more.

Drawn with presentation attributes only (no ``style``): the board's Content-Security-Policy
allows no inline style. The dashed line is plan 5.5 condition 2's 80%, the point at which the
response may end; the curve's points are the evaluation report's (``restoration_curve``), so
the board's last point is the figure the termination check gives.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Final

from markupsafe import Markup, escape

from service.plan.evaluation import CurvePoint
from service.plan.percent import percent
from service.plan.termination import OVERALL_RESTORED
from service.words import _

WIDTH: Final = 240
HEIGHT: Final = 80
PAD: Final = 4


def _y(fraction: Decimal) -> float:
    return round(PAD + (HEIGHT - 2 * PAD) * (1 - float(fraction)), 1)


def curve_svg(points: Sequence[CurvePoint]) -> Markup:
    """The curve of ``points`` (0–1 over time) as an SVG element; one point is a dot, none
    an empty frame with the 80% line."""
    span = (points[-1].at - points[0].at).total_seconds() if points else 0.0
    coordinates = [
        (
            round(PAD + (WIDTH - 2 * PAD) * ((p.at - points[0].at).total_seconds() / span), 1)
            if span > 0
            else WIDTH - PAD,
            _y(p.overall),
        )
        for p in points
    ]
    line = _y(OVERALL_RESTORED)
    parts = [
        f'<svg class="curve-chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'preserveAspectRatio="none" aria-label="{escape(_("负荷恢复曲线"))}">',
        f'<rect x="0" y="0" width="{WIDTH}" height="{HEIGHT}" fill="#0f1a25"/>',
        f'<line x1="0" x2="{WIDTH}" y1="{line}" y2="{line}" stroke="#9fb0c2" '
        'stroke-dasharray="4 3" stroke-width="1"/>',
    ]
    if len(coordinates) > 1:
        drawn = " ".join(f"{x},{y}" for x, y in coordinates)
        parts.append(
            f'<polyline points="{drawn}" fill="none" stroke="#3fc380" stroke-width="2.5" '
            'vector-effect="non-scaling-stroke"/>'
        )
    if points:
        x, y = coordinates[-1]
        last = escape(percent(points[-1].overall))
        dot = f"<title>{last}</title>"
        parts.append(f'<circle cx="{x}" cy="{y}" r="3.5" fill="#3fc380">{dot}</circle>')
    parts.append("</svg>")
    return Markup("".join(parts))
