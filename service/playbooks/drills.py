"""Drill scenarios (plan 7.1, 8.1): a scripted event as YAML, read and checked before it runs.

A scenario (``playbooks/drills/*.yaml``) names its ``actors`` (each a role and its scope, as a
token is made) and lists ``steps``: at a scenario minute, one actor does one thing to the drill's
one event. ``outage-coordinator drill run`` (service.drill.runner) replays it over HTTP. Everything
that can be known without the service is checked here, up front, so that a drill never stops
half-way for a typo: each step's fields, its actor's role (who may do it, design § Roles),
the regions and agency codes (the playbooks'), the order of the minutes, the warnings a step
names (proposed by an earlier step), and that the event exists (the first step opens it).
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from service.errors import PlaybookError
from service.plan.actor import Role
from service.plan.causes import Cause
from service.plan.duties import Phase
from service.plan.grids import GridRegistry, Scope
from service.plan.levels import Level
from service.plan.termination import AttestedKey
from service.playbooks.agencies import AgencyRegistry
from service.playbooks.files import read_yaml

DRILLS_DIR: Final = "drills"
# The scenarios of a playbook folder; not in the playbook version (checklists.PLAYBOOK_GLOBS):
# a drill is no duty, and editing one changes no action.
SCENARIO_GLOB: Final = f"{DRILLS_DIR}/*.yaml"
SCENARIO_VERSION: Final = 1

Minutes = Annotated[Decimal, Field(ge=0, description="scenario minutes from the drill's start")]
Region = Annotated[str, Field(pattern=r"^[0-9]{6}$")]
Words = Annotated[str, Field(min_length=1, max_length=4000)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class DrillActor(_Strict):
    """Who acts: the runner makes a token of this role and scope for the drill, and revokes it
    at the end. ``name`` is shown on the timeline (prefixed ``drill:``)."""

    role: Role
    name: Annotated[str, Field(min_length=1, max_length=150)]
    region: Region | None = None
    agency: str | None = None


class DrillSnapshot(_Strict):
    scope: Scope
    region: Region
    load_mw: Decimal = Field(gt=0)
    load_lost_mw: Decimal = Field(ge=0)
    customers: int | None = Field(default=None, ge=0)
    customers_out: int | None = Field(default=None, ge=0)


class _Step(_Strict):
    at: Minutes
    actor: str = Field(alias="as", description="a name from the scenario's actors")
    # Fields of the answer to check, by dotted path (``leading_hq.region``): the drill stops
    # when the service answers otherwise, rather than running on from a state nobody meant.
    expect: dict[str, str | int | bool | None] = Field(default_factory=dict)


class ReportStep(_Step):
    do: Literal["report"]
    snapshots: Annotated[list[DrillSnapshot], Field(min_length=1, max_length=64)]
    cause: Cause | None = None
    note: Words | None = None


class WarnStep(_Step):
    do: Literal["warn"]
    warning: str = Field(description="a name the later publish and lift steps use")
    area: Annotated[list[Region], Field(min_length=1, max_length=16)]
    headline: Annotated[str, Field(min_length=1, max_length=200)]
    description: Words


class PublishStep(_Step):
    do: Literal["publish", "lift"]
    warning: str
    reason: Words | None = None


class LevelStep(_Step):
    do: Literal["respond", "level"]
    level: Level
    reason: Words


class ActionStep(_Step):
    """Acknowledge or complete the actor's (an agency's) open actions on the event: those with
    ``keys`` (each must be there), or every one (of ``phase``, when given)."""

    do: Literal["ack", "complete"]
    keys: Annotated[list[str], Field(min_length=1)] | None = None
    phase: Phase | None = None
    note: Words | None = None


class AttestStep(_Step):
    do: Literal["attest"]
    condition: AttestedKey
    evidence: Words


class EndStep(_Step):
    do: Literal["terminate", "close"]
    reason: Words | None = None


class EvaluateStep(_Step):
    """Fetch plan 6.1's evaluation report (JSON, and the PDF unless ``pdf`` is false) into the
    folder ``drill run --out`` names."""

    do: Literal["evaluate"]
    pdf: bool = True


Step = Annotated[
    ReportStep
    | WarnStep
    | PublishStep
    | LevelStep
    | ActionStep
    | AttestStep
    | EndStep
    | EvaluateStep,
    Field(discriminator="do"),
]
STEP: Final[TypeAdapter[Step]] = TypeAdapter(Step)

# Who may do each step (design § Roles); the service decides the rest (which HQ).
STEP_ROLES: Final[dict[str, tuple[Role, ...]]] = {
    "report": ("dispatcher",),
    "warn": ("dispatcher",),
    "publish": ("commander",),
    "lift": ("commander",),
    "respond": ("commander",),
    "level": ("commander",),
    "ack": ("agency",),
    "complete": ("agency",),
    "attest": ("dispatcher", "commander"),
    "terminate": ("commander",),
    "close": ("commander",),
    "evaluate": ("admin", "dispatcher", "commander", "observer"),
}


class Scenario(_Strict):
    """A checked scenario: its steps in the order they run (minutes never go back)."""

    version: Literal[1]
    title: Annotated[str, Field(min_length=1, max_length=200)]
    cause: Cause = Field(description="each report's cause unless the step gives one")
    actors: dict[str, DrillActor]
    steps: list[Step]

    @property
    def minutes(self) -> Decimal:
        """The scenario's length: the minute of its last step."""
        return self.steps[-1].at if self.steps else Decimal(0)


def load_scenario(path: Path, grids: GridRegistry, agencies: AgencyRegistry) -> Scenario:
    """The scenario in ``path``, checked; a PlaybookError naming the file, the step (its
    index, minute and kind) or actor, and the reason otherwise."""
    file = str(path)
    data = read_yaml(path)
    if not isinstance(data, dict):
        raise PlaybookError(file, "(file)", "expected a mapping: version, title, actors, steps")
    raw_steps = data.get("steps")
    if not isinstance(raw_steps, list) or not raw_steps:
        raise PlaybookError(file, "steps", "expected a non-empty list of steps")
    head = {key: value for key, value in data.items() if key != "steps"}
    try:
        scenario = Scenario.model_validate({**head, "steps": []})
    except ValidationError as exc:
        raise PlaybookError(file, *_first(exc)) from exc
    for name, actor in scenario.actors.items():
        if reason := _actor_fault(actor, grids, agencies):
            raise PlaybookError(file, f"actors.{name}", reason)
    steps = [_step(file, index, raw) for index, raw in enumerate(raw_steps)]
    _check_sequence(file, scenario, steps, grids)
    return scenario.model_copy(update={"steps": steps})


def step_label(index: int, raw: Any) -> str:
    """How an error names a step: ``steps[3] (at 90, publish)``, as much as is known of it."""
    if not isinstance(raw, dict):
        return f"steps[{index}]"
    return f"steps[{index}] (at {raw.get('at', '?')}, {raw.get('do', '?')})"


def _step(file: str, index: int, raw: Any) -> Step:
    try:
        return STEP.validate_python(raw)
    except ValidationError as exc:
        where, reason = _first(exc)
        # The union puts the step kind first in the location (``publish.reason``): drop it.
        field = where.split(".", 1)[1] if "." in where else where
        raise PlaybookError(file, step_label(index, raw), f"{field}: {reason}") from exc


def _first(exc: ValidationError) -> tuple[str, str]:
    error = exc.errors()[0]
    where = ".".join(map(str, error["loc"])) or "(file)"
    return where, str(error["msg"]).removeprefix("Value error, ")


def _actor_fault(actor: DrillActor, grids: GridRegistry, agencies: AgencyRegistry) -> str | None:
    """The rules ``tokens create`` applies, checked before any token is made."""
    if (actor.role == "agency") != (actor.agency is not None):
        return "an agency actor, and only one, names its agency (a code in agencies.yaml)"
    if actor.agency is not None and not agencies.is_real(actor.agency):
        return f"unknown agency {actor.agency!r} (see agencies.yaml)"
    if actor.role == "commander" and actor.region is None:
        return "a commander names its HQ's region (330000, 330600 or a county)"
    if actor.region is not None and actor.role not in ("dispatcher", "commander"):
        return "only a dispatcher or a commander has a region"
    if actor.region is not None and actor.region not in grids:
        return f"unknown region {actor.region} (see regions.yaml)"
    return None


def _check_sequence(
    file: str, scenario: Scenario, steps: Sequence[Step], grids: GridRegistry
) -> None:
    warnings: set[str] = set()
    for index, step in enumerate(steps):
        where = f"steps[{index}] (at {step.at}, {step.do})"
        if index and step.at < steps[index - 1].at:
            raise PlaybookError(
                file, where, f"at: comes before the step above ({steps[index - 1].at})"
            )
        actor = scenario.actors.get(step.actor)
        if actor is None:
            known = ", ".join(scenario.actors) or "none"
            raise PlaybookError(file, where, f"as: no actor {step.actor!r} (actors: {known})")
        allowed = STEP_ROLES[step.do]
        if actor.role not in allowed:
            raise PlaybookError(
                file,
                where,
                f"as: {step.actor} has the role {actor.role}; {step.do} is for "
                f"{' or '.join(allowed)}",
            )
        if index == 0 and not isinstance(step, ReportStep | WarnStep):
            raise PlaybookError(file, where, "the first step opens the event: report or warn")
        regions = (
            [s.region for s in step.snapshots]
            if isinstance(step, ReportStep)
            else step.area
            if isinstance(step, WarnStep)
            else []
        )
        if unknown := [code for code in regions if code not in grids]:
            raise PlaybookError(file, where, f"unknown region {unknown[0]} (see regions.yaml)")
        if isinstance(step, WarnStep):
            if step.warning in warnings:
                raise PlaybookError(file, where, f"warning: {step.warning!r} is proposed twice")
            warnings.add(step.warning)
        elif isinstance(step, PublishStep) and step.warning not in warnings:
            raise PlaybookError(
                file, where, f"warning: {step.warning!r} is not proposed by a step before"
            )


def load_drills(folder: Path, grids: GridRegistry, agencies: AgencyRegistry) -> list[Path]:
    """Check every scenario in ``folder/drills`` (``playbooks check``); the files checked."""
    paths = sorted(folder.glob(SCENARIO_GLOB))
    for path in paths:
        load_scenario(path, grids, agencies)
    return paths
