"""docs/plan/coverage.md, the clause-by-clause account of what of the plan the service carries,
stays consistent: each row cites a clause of the plan under its own chapter and has one of the
three statuses, and each chapter's heading gives the share its rows add up to. Pure: reads one
file."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from service.plan.clauses import PLAN_CLAUSES
from tests.helpers import REPO

COVERAGE = REPO / "docs" / "plan" / "coverage.md"
HEADING = re.compile(
    r"^## (?P<chapter>\d) \S+ — (?P<held>[\d.]+) of (?P<rows>\d+) \((?P<percent>\d+) %\)$"
)
STATUSES = {"held": Decimal(1), "part": Decimal("0.5"), "outside": Decimal(0)}


def chapters() -> list[tuple[str, list[list[str]]]]:
    """Each chapter's heading line and its table rows (cells, stripped)."""
    found: list[tuple[str, list[list[str]]]] = []
    for line in COVERAGE.read_text(encoding="utf-8").splitlines():
        if line.startswith("## "):
            found.append((line, []))
        elif found and line.startswith("| ") and not line.startswith(("| clause", "| ---")):
            found[-1][1].append([cell.strip() for cell in line.strip("|").split("|")])
    return found


def test_every_chapter_of_the_plan_is_accounted_for() -> None:
    assert [heading.split()[1] for heading, _rows in chapters()] == list("12345678")


@pytest.mark.parametrize("heading,rows", chapters(), ids=lambda value: str(value)[:4])
def test_a_chapters_share_is_what_its_rows_add_up_to(heading: str, rows: list[list[str]]) -> None:
    matched = HEADING.match(heading)
    assert matched, f"{heading!r}: '## N title — held of rows (percent %)'"
    for clause, _requirement, status, _where in rows:
        assert clause in PLAN_CLAUSES, f"{clause} is no clause of the plan"
        assert clause.split(".")[0] == matched["chapter"], f"{clause} under {heading}"
        assert status in STATUSES, f"{clause}: status {status!r}"
    held = sum((STATUSES[row[2]] for row in rows), Decimal(0))
    assert Decimal(matched["held"]) == held
    assert int(matched["rows"]) == len(rows)
    assert int(matched["percent"]) == round(100 * held / len(rows))
