"""What the standing tasks' endpoints answer: a task as the API shows it, shared by the
``standing.*`` notices, which carry the same shape as ``data.task``."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final

from pydantic import BaseModel, Field

from models import StandingTask
from service.plan.deadlines import DueOn
from service.plan.duties import ActionState
from service.plan.standing import STANDING_DUE_ON, Recurrence


class StandingTaskRead(BaseModel):
    """One standing duty owed by one unit for one period (design § Standing duties)."""

    id: uuid.UUID
    key: str
    agency: str
    period: str = Field(
        description='the year ("2026"), or what raised it: "finding:<id>", "revision:<task id>"'
    )
    recurrence: Recurrence
    clause: str
    title: str
    detail: str
    state: ActionState
    raised_at: datetime
    due_at: datetime = Field(description="when the duty is to be done by")
    due_on: DueOn = Field(
        default=STANDING_DUE_ON,
        description="what due_at asks for: a standing duty is due on its completion",
    )
    playbook_version: str
    acknowledged_at: datetime | None
    completed_at: datetime | None
    cancelled_at: datetime | None
    cancel_reason: str | None
    escalated_at: datetime | None
    note: str | None
    event_id: uuid.UUID | None = Field(description="the event whose evaluation raised it")
    finding_id: uuid.UUID | None = Field(description="the evaluation's finding that raised it")
    from_drill: bool = Field(description="raised by a drill's evaluation (plan 8.1)")
    source_task_id: uuid.UUID | None = Field(
        description="the revision of the city's plan whose completion raised it"
    )


class StandingTaskList(BaseModel):
    """Standing tasks, in the order raised."""

    items: list[StandingTaskRead]


# What StandingTaskRead takes from the task's own columns (all but what its due time asks for).
_COLUMNS: Final = tuple(name for name in StandingTaskRead.model_fields if name != "due_on")


def read(task: StandingTask) -> StandingTaskRead:
    """The task as the API shows it."""
    return StandingTaskRead.model_validate({name: getattr(task, name) for name in _COLUMNS})


def task_json(row: Mapping[str, Any]) -> dict[str, Any]:
    """The task of a ``standing_tasks`` row (column → value), JSON-ready: what a
    ``standing.*`` notice carries as ``data.task``."""
    return StandingTaskRead.model_validate({n: row[n] for n in _COLUMNS}).model_dump(mode="json")
