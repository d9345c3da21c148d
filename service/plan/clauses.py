"""The plan's numbered clauses: what a playbook item or a rule may cite."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

# Every numbered clause of the plan (绍政办发〔2018〕41号), read off its headings: the chapters
# 1–8 and their numbered sections. The plan has no others (chapter 4 has no subsections, and 5.5's
# "1." … "4." are the termination conditions, not clauses), so a playbook citing anything else
# cites nothing. The playbook tests check this set against the plan's text.
PLAN_CLAUSES: Final[frozenset[str]] = frozenset(
    {"1", "1.1", "1.2", "1.3", "1.4", "1.5"}
    | {"2", "2.1", "2.2", "2.3", "2.4", "2.5"}
    | {"3", "3.1", "3.1.1", "3.1.2", "3.2", "3.2.1", "3.2.2", "3.2.2.1", "3.2.2.2", "3.2.2.3"}
    | {"4"}
    | {"5", "5.1", "5.2", "5.2.1", "5.2.2", "5.2.3", "5.3", "5.4", "5.5"}
    | {"6", "6.1", "6.2", "6.3", "6.4"}
    | {"7", "7.1", "7.2", "7.3", "7.4", "7.5", "7.6"}
    | {"8", "8.1", "8.2"}
)


def clause_order(clause: str) -> tuple[int, ...]:
    """A clause as numbers, for sorting in the plan's order: "5.2.3" → (5, 2, 3)."""
    return tuple(int(part) for part in clause.split("."))


def clause_label(clauses: Iterable[str], limit: int = 40) -> str:
    """The clauses a group of duties cites, in the plan's order: "4, 5.2.1". Longer than
    ``limit`` characters (what a timeline entry's clause holds), their chapters: "2, 5"."""
    distinct = sorted(set(clauses), key=clause_order)
    label = ", ".join(distinct)
    if len(label) <= limit:
        return label
    return ", ".join(sorted({c.split(".")[0] for c in distinct}, key=int))
