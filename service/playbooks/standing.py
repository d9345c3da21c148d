"""`playbooks/standing.yaml`: the standing duties of plan chapters 7 and 8.1, which belong to no
event (design § Standing duties; service.plan.standing says how each recurs).

Each duty names the units that owe it (``agencies``, one task each), its clause, its words, how
it recurs and, for one raised by something that happened, how many days it allows
(``due_days``); a yearly one is due by the end of its year and takes none. ``escalate_to`` names
the unit told, besides the unit and the city's HQ, when its task is overdue.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Final

from pydantic import Field, field_validator, model_validator

from service.errors import PlaybookError
from service.plan.standing import RAISED_AFTER, Recurrence
from service.playbooks.agencies import AgencyRegistry
from service.playbooks.checklists import KEY_PATTERN
from service.playbooks.files import Clause, Entry, Text, entries, validated

STANDING_FILE: Final = "standing.yaml"


class StandingDuty(Entry):
    """One standing duty: owed by each of ``agencies``, recurring as ``recurrence`` says."""

    key: str = Field(pattern=KEY_PATTERN)
    agencies: list[str] = Field(min_length=1)
    clause: Clause
    title: Text
    detail: Text
    recurrence: Recurrence
    due_days: int | None = Field(default=None, gt=0)
    escalate_to: str | None = Field(default=None, min_length=1)

    @field_validator("agencies")
    @classmethod
    def _distinct(cls, agencies: list[str]) -> list[str]:
        if twice := sorted({code for code in agencies if agencies.count(code) > 1}):
            raise ValueError(f"{twice[0]} is listed twice")
        return agencies

    @model_validator(mode="after")
    def _due(self) -> StandingDuty:
        if self.recurrence in RAISED_AFTER and self.due_days is None:
            raise ValueError(f"due_days: a duty raised {self.recurrence} needs the days it allows")
        if self.recurrence == "yearly" and self.due_days is not None:
            raise ValueError("due_days: a yearly duty is due by the end of its year")
        if self.escalate_to in self.agencies:
            raise ValueError("escalate_to: a unit that owes the duty; name the unit that chases it")
        return self


class StandingDuties:
    """Every standing duty, in file order."""

    def __init__(self, duties: Iterable[StandingDuty]) -> None:
        self._duties = list(duties)
        self.by_key = {duty.key: duty for duty in self._duties}

    def __iter__(self) -> Iterator[StandingDuty]:
        return iter(self._duties)

    def __len__(self) -> int:
        return len(self._duties)

    def recurring(self, recurrence: Recurrence) -> list[StandingDuty]:
        """The duties that recur as ``recurrence``, in file order."""
        return [duty for duty in self._duties if duty.recurrence == recurrence]


def load_standing(path: Path, agencies: AgencyRegistry) -> StandingDuties:
    """Read and check the standing duties file: `{duties: [...]}`.

    Raises PlaybookError naming the file, the entry (the duty's key, or `duties[i]`) and the
    reason: malformed YAML, a file of another shape, an unknown or missing field, an unknown
    recurrence, a clause the plan lacks, an empty title, a unit listed twice or not a unit of
    agencies.yaml that can be reached (a symbolic code names none), `due_days` missing for a
    raised duty or given for a yearly one, an `escalate_to` that is no unit or owes the duty
    itself, a key used twice; and a file with no duty raised by findings, since plan 8.1's
    revision needs its owner."""
    file = str(path)
    duties: list[StandingDuty] = []
    seen: set[str] = set()
    for _label, entry, raw in entries(path, "duties"):
        duty = validated(StandingDuty, raw, file, entry)
        if duty.key in seen:
            raise PlaybookError(file, duty.key, "duplicate key")
        seen.add(duty.key)
        for code in (*duty.agencies, *([duty.escalate_to] if duty.escalate_to else [])):
            if not agencies.is_real(code):
                reason = f"{code!r} is no unit of agencies.yaml a task can reach"
                raise PlaybookError(file, duty.key, reason)
        duties.append(duty)
    if not any(duty.recurrence == "after_findings" for duty in duties):
        reason = "no duty recurs after_findings: plan 8.1's revision of the plan has no owner"
        raise PlaybookError(file, "duties", reason)
    return StandingDuties(duties)
