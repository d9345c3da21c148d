"""The standing duties' periods and deadlines (service.plan.standing): a year is Beijing time's,
a yearly task is due at its end, and a task is overdue while open past its due time."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from service.plan.standing import (
    due_after,
    finding_period,
    is_overdue,
    revision_period,
    year_end,
    year_of,
    yearly_period,
)

# 00:00 on 1 January 2027 in Beijing is 16:00 on 31 December 2026 in UTC.
NEW_YEAR_2027 = datetime(2026, 12, 31, 16, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("moment", "year"),
    [
        (NEW_YEAR_2027 - timedelta(microseconds=1), 2026),
        (NEW_YEAR_2027, 2027),  # still 2026 in UTC
        (datetime(2026, 1, 1, 0, 0, tzinfo=UTC), 2026),
        (datetime(2025, 12, 31, 15, 59, tzinfo=UTC), 2025),
    ],
)
def test_the_year_is_beijings(moment: datetime, year: int) -> None:
    assert year_of(moment) == year


def test_a_yearly_task_is_due_when_beijing_enters_the_next_year() -> None:
    assert year_end(2026) == NEW_YEAR_2027
    assert year_end(2026).tzinfo == UTC
    assert yearly_period(2026) == "2026"


def test_overdue_is_open_past_due_acknowledged_or_not() -> None:
    due = NEW_YEAR_2027
    after = due + timedelta(seconds=1)
    assert not is_overdue("pending", due, due)  # due at that moment, not past it
    assert is_overdue("pending", due, after)
    assert is_overdue("acknowledged", due, after)
    assert not is_overdue("done", due, after)
    assert not is_overdue("cancelled", due, after)


def test_raised_tasks_have_periods_of_what_raised_them_and_days_to_run() -> None:
    finding, task = uuid.uuid4(), uuid.uuid4()
    assert finding_period(finding) == f"finding:{finding}"
    assert revision_period(task) == f"revision:{task}"
    assert due_after(NEW_YEAR_2027, 90) == NEW_YEAR_2027 + timedelta(days=90)
