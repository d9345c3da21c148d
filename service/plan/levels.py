"""Plan 1.5 事件分级 and 5.1 响应分级: the four levels, highest first by rank.

特别重大 (I) > 重大 (II) > 较大 (III) > 一般 (IV) > below threshold (None, rank 0). The one
definition of the levels: models, API schemas and CHECK constraints derive from ``Level``.
"""

from __future__ import annotations

from typing import Final, Literal, get_args

Level = Literal["I", "II", "III", "IV"]
LEVELS: Final[tuple[Level, ...]] = get_args(Level)

LEVEL_RANK: Final[dict[Level, int]] = {"IV": 1, "III": 2, "II": 3, "I": 4}


def level_rank(level: Level | None) -> int:
    """0 for no level (below threshold), 1 for IV … 4 for I."""
    return 0 if level is None else LEVEL_RANK[level]


def max_level(*levels: Level | None) -> Level | None:
    """The highest of ``levels``; None when all are None (or none are given)."""
    best: Level | None = None
    for level in levels:
        if level_rank(level) > level_rank(best):
            best = level
    return best


def event_grade(peak_level: Level | None, response_level: Level | None) -> Level | None:
    """The event's grade (plan 1.5 事件分级), by which plan 6 assigns its work: "根据事件分级，
    各级电力运行主管部门…进行评估" (6.1), and the investigation of 6.2 with it.

    The grade is the peak level the reports reached, whatever the response was raised or
    lowered to: lowering a 较大 response to IV does not make the outage 一般 after the fact, and
    a commander raising a 一般 outage's response does not regrade it. A response started at
    discretion below every threshold (plan 5.1) has no graded outage: its response level stands
    for the grade.
    """
    return peak_level if peak_level is not None else response_level
