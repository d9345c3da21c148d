"""The duties plan 6.1's evaluation names one by one, as plain functions: the late or never-done
ones, and plan 4's reports timed against their deadlines."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from service.plan.deadlines import DueOn
from service.plan.evaluation import ActionRecord
from service.plan.lapses import lapses, report_links

T0 = datetime(2026, 7, 20, 6, 0, tzinfo=UTC)
REPORT: DueOn = "completion"


def at(minutes: float | None) -> datetime | None:
    return None if minutes is None else T0 + timedelta(minutes=minutes)


def duty(
    title: str,
    state: str = "pending",
    *,
    due: float = 60,
    ack: float | None = None,
    done: float | None = None,
    cancelled: float | None = None,
    key: str = "response.police.order",
    due_on: DueOn = "acknowledgement",
) -> ActionRecord:
    return ActionRecord(
        agency="public-security",
        state=state,
        dispatched_at=T0,
        due_at=T0 + timedelta(minutes=due),
        acknowledged_at=at(ack),
        cancelled_at=at(cancelled),
        completed_at=at(done),
        key=key,
        title=title,
        due_on=due_on,
    )


def test_late_and_never_done_duties_are_listed_by_due_time() -> None:
    actions = [
        duty("按时完成", "done", ack=30, done=50),
        duty("超时确认后完成", "done", due=40, ack=70, done=90),
        duty("确认后随响应取消", "cancelled", ack=10, cancelled=200),
        duty("从未确认", "cancelled", due=50, cancelled=200),
        duty("尚未到期", "pending", due=500),  # under way: neither late nor abandoned
    ]
    found = lapses(actions, now=T0 + timedelta(minutes=240))
    assert [(x.title, x.late, x.done) for x in found] == [
        ("超时确认后完成", True, True),
        ("从未确认", True, False),
        ("确认后随响应取消", False, False),
    ]


@pytest.mark.parametrize(
    ("record", "answered", "taken", "on_time"),
    [
        # a report is due on its completion (plan 4: 立即报告), a receipt on its acknowledgement
        (duty("报告", "done", due=30, ack=5, done=25, due_on=REPORT), 25, Decimal("25.0"), True),
        (duty("报告", "done", due=30, ack=5, done=45, due_on=REPORT), 45, Decimal("45.0"), False),
        (duty("收到", "acknowledged", due=30, ack=30), 30, Decimal("30.0"), True),  # at the due
        (duty("收到", "done", due=30, ack=20, done=45), 20, Decimal("20.0"), True),
        (duty("未报", "pending", due=30, due_on=REPORT), None, None, False),  # past due
        (duty("已确认未报", "acknowledged", due=30, ack=5, due_on=REPORT), None, None, False),
        (duty("未到期", "pending", due=300), None, None, None),
        (duty("取消前未到期", "cancelled", due=300, cancelled=200), None, None, None),
    ],
)
def test_a_report_link_is_timed_against_its_deadline(
    record: ActionRecord, answered: float | None, taken: Decimal | None, on_time: bool | None
) -> None:
    linked = replace(record, key="reporting.power-company.report-local-authority")
    [link] = report_links([linked, record], now=T0 + timedelta(minutes=240))
    assert (link.answered_at, link.taken_minutes, link.on_time) == (at(answered), taken, on_time)
    assert link.allowed_minutes == (linked.due_at - T0).total_seconds() / 60
