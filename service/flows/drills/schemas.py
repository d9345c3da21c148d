"""What a drill's clock takes (design § Drills): ``DrillClockSet``; the event answers."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from service.flows.schemas import Moment


class DrillClockSet(BaseModel):
    """A drill's clock moved on by its runner (design § Drills)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"at": "2026-09-14T12:30:00+08:00"}]},
    )

    at: Moment = Field(
        description="the drill's time now: its scenario's minute, as a moment; never earlier "
        "than the clock already reads"
    )
