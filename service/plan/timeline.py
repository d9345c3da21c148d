"""What an event's timeline records: the kinds of entry, and what each is called in Chinese.

The one definition of the kinds: ``service.store.timeline.record`` takes a ``TimelineKind`` (so
mypy checks every writer's word), the ``timeline.kind`` CHECK constraint is derived from
``TIMELINE_KINDS``, and the board, the evaluation report (plan 6.1) and the group-chat messages
all show ``KIND_LABELS``. The labels use the plan's own phrasing where it has one (5.1 启动、提升、
降低响应级别; 5.5 终止应急响应; 3.2.2 发布、解除预警; 4 信息报告).

A kind once written stays a kind: the timeline is append-only and hash-chained
(``service.plan.chain``), so a stored kind is never rewritten, and removing a kind from here
would make the CHECK refuse the database's own rows on the next migration.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final, Literal, get_args

# In the order of an event's course.
TimelineKind = Literal[
    "event_opened",
    "report",
    "leading_hq_changed",
    "warning_proposed",
    "warning_published",
    "warning_lifted",
    "response_started",
    "response_raised",
    "response_lowered",
    "actions_dispatched",
    "actions_cancelled",
    "actions_handed_over",
    "action_acknowledged",
    "action_noted",
    "action_completed",
    "action_cancelled",
    "action_overdue",
    "action_reminder",
    "release_proposed",
    "release_published",
    "release_rejected",
    "attestation",
    "transition_refused",
    "response_terminated",
    "event_dismissed",
    "event_closed",
]
TIMELINE_KINDS: Final[tuple[TimelineKind, ...]] = get_args(TimelineKind)

KIND_LABELS: Final[Mapping[TimelineKind, str]] = {
    "event_opened": "事件开启",
    "report": "信息报告",
    "leading_hq_changed": "牵头指挥部变更",
    "warning_proposed": "提出预警建议",
    "warning_published": "发布预警",
    "warning_lifted": "解除预警",
    "response_started": "启动应急响应",
    "response_raised": "提升响应级别",
    "response_lowered": "降低响应级别",
    "actions_dispatched": "任务下达",
    "actions_cancelled": "任务批量取消",
    "actions_handed_over": "任务移交",
    "action_acknowledged": "任务接收",
    "action_noted": "任务备注",
    "action_completed": "任务完成",
    "action_cancelled": "任务取消",
    "action_overdue": "任务超时",
    "action_reminder": "任务催办",
    "release_proposed": "信息发布送审",
    "release_published": "信息发布",
    "release_rejected": "信息发布退回",
    "attestation": "终止条件确认",
    "transition_refused": "操作被拒绝",
    "response_terminated": "终止应急响应",
    "event_dismissed": "事件撤销",
    "event_closed": "事件关闭",
}
if tuple(KIND_LABELS) != TIMELINE_KINDS:
    raise RuntimeError(f"KIND_LABELS names {tuple(KIND_LABELS)}, not the kinds {TIMELINE_KINDS}")
