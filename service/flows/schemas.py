"""Shapes the flows share in what they take and give: times, numbers, regions, HQs, basis, pages."""

from __future__ import annotations

import unicodedata
import uuid
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Final, Generic, Self, TypeVar

from pydantic import AfterValidator, AwareDatetime, BaseModel, Field, PlainSerializer

from service.plan.classification import Basis, Metric
from service.plan.grids import GridRegistry, Scope
from service.plan.levels import Level
from service.plan.termination import AttestationState, Attested, Condition

# A six-digit GB/T 2260 code, as playbooks/regions.yaml lists the grids.
REGION_PATTERN: Final = r"^[0-9]{6}$"
RegionCode = Annotated[str, Field(pattern=REGION_PATTERN, examples=["330603"])]
# Free text a person writes (a note, a reason, evidence, a headline): every character but the
# control characters (Unicode category Cc) other than tab, newline and carriage return. NUL cannot
# be stored by PostgreSQL (SQLite would keep it, so the two would differ), and the others are
# invisible where people read the text (the board, a CAP alert, a chat robot's message). A lone
# surrogate (JSON "\ud800" with no pair) is no character at all: pydantic refuses it as it reads
# the string ("string_unicode"). Both refusals are worded by ``unreadable``. A pattern rather
# than a validator, so that each field's own length limits keep their usual message.
TEXT_PATTERN: Final = r"^[^\x00-\x08\x0B\x0C\x0E-\x1F\x7F-\x9F]*$"
ALLOWED_CONTROLS: Final = frozenset("\t\n\r")
Text = Annotated[str, Field(pattern=TEXT_PATTERN)]


def _says_something(text: str) -> str:
    if not text.strip():
        raise ValueError("holds only white space; say what it is for")
    return text


# Text that must say something (evidence of plan 5.5's conditions): not white space alone.
Statement = Annotated[str, Field(pattern=TEXT_PATTERN), AfterValidator(_says_something)]


def unreadable(text: object) -> str:
    """Why ``text`` is refused as ``Text``: its first forbidden character, by code and place."""
    for place, char in enumerate(text if isinstance(text, str) else "", start=1):
        category = unicodedata.category(char)
        if category == "Cs":
            return (
                f"holds a lone surrogate (U+{ord(char):04X}) at character {place}, which is not "
                "a character and cannot be stored; send the character itself (UTF-8) or both "
                "halves of its surrogate pair"
            )
        if category == "Cc" and char not in ALLOWED_CONTROLS:
            return (
                f"holds the control character U+{ord(char):04X} at character {place}; text may "
                "hold any character but the control characters other than tab, newline and "
                "carriage return"
            )
    return "must be text without control characters (other than tab, newline, carriage return)"


# Exact inside, a JSON number outside: fractions and megawatts are for people to read.
Number = Annotated[Decimal, PlainSerializer(float, return_type=float, when_used="json")]

T = TypeVar("T")

EARLIEST_YEAR: Final = 1970
LATEST_YEAR: Final = 2200


def _plausible(moment: datetime) -> datetime:
    if not EARLIEST_YEAR <= moment.year <= LATEST_YEAR:
        raise ValueError(f"must lie between the years {EARLIEST_YEAR} and {LATEST_YEAR}")
    return moment


# A time a person gave: with its zone, and within years the service can store and compare.
Moment = Annotated[AwareDatetime, AfterValidator(_plausible)]


class HQ(BaseModel):
    """An emergency HQ (应急指挥部), named by the region it commands."""

    region: str
    name: str

    @classmethod
    def of(cls, region: str | None, grids: GridRegistry) -> HQ | None:
        return None if region is None else cls(region=region, name=grids.hq_name(region))


class BasisRead(BaseModel):
    """One rule of plan 1.5 that fired for one grid."""

    scope: Scope
    region: str
    level: Level
    clause: str
    metric: Metric
    value: Number
    threshold: str

    @classmethod
    def of(cls, basis: Basis) -> BasisRead:
        # Built from a Basis the classifier made: nothing to validate.
        return cls.model_construct(
            scope=basis.scope,
            region=basis.region,
            level=basis.level,
            clause=basis.clause,
            metric=basis.metric,
            value=basis.value,
            threshold=basis.threshold,
        )

    @staticmethod
    def plain(basis: Basis) -> dict[str, Any]:
        """What ``of(basis)`` dumps to JSON, without building the model (classify's hot path)."""
        return {
            "scope": basis.scope,
            "region": basis.region,
            "level": basis.level,
            "clause": basis.clause,
            "metric": basis.metric,
            "value": float(basis.value),
            "threshold": basis.threshold,
        }


class Page(BaseModel, Generic[T]):
    """A list answer: ``next`` is the cursor for the following page, absent on the last."""

    items: list[T]
    next: str | None = None


class LoadFigures(BaseModel):
    """The numbers behind plan 5.5 condition 2, fractions 0–1: overall, and each key area and
    important city a report of the event shows losing load (受停电影响的), by code."""

    overall: Number | None
    key_areas: dict[str, Number]
    important_cities: dict[str, Number] = {}


class WithdrawalRead(BaseModel):
    """Who withdrew an attestation, when, and why."""

    by: str
    at: datetime
    reason: str


class WorseGridRead(BaseModel):
    """A grid a later report showed worse than an attestation knew it (design § Termination)."""

    region: str
    known_lost_mw: Number | None = Field(
        description="its latest load lost as the attestation knew it; null: not in the event then"
    )
    lost_mw: Number = Field(description="its load lost as the report gave it")
    newly_hit: bool = Field(description="the attestation knew of no loss there")


class VoidingRead(BaseModel):
    """The later report that worsened the situation and so voided an attestation."""

    at: datetime
    report_id: uuid.UUID
    grids: list[WorseGridRead]


class AttestedRead(BaseModel):
    """An attestation as the termination check lists it: ``standing`` counts; ``withdrawn``
    (with ``withdrawal``) and ``voided`` (with ``voiding``) no longer do."""

    id: uuid.UUID
    condition: str
    evidence: str
    actor: str
    at: datetime
    state: AttestationState
    withdrawal: WithdrawalRead | None = None
    voiding: VoidingRead | None = None

    @classmethod
    def of(cls, statement: Attested, **more: Any) -> Self:
        """``statement`` as read, with ``more`` fields of a subclass."""
        w, v = statement.withdrawal, statement.voiding
        return cls(
            **more,
            id=uuid.UUID(statement.id),
            condition=statement.condition,
            evidence=statement.evidence,
            actor=statement.actor,
            at=statement.at,
            state=statement.state,
            withdrawal=None if w is None else WithdrawalRead(by=w.by, at=w.at, reason=w.reason),
            voiding=None
            if v is None
            else VoidingRead(
                at=v.at,
                report_id=uuid.UUID(v.report_id),
                grids=[
                    WorseGridRead(
                        region=g.region,
                        known_lost_mw=g.known_lost,
                        lost_mw=g.lost,
                        newly_hit=g.newly_hit,
                    )
                    for g in v.grids
                ],
            ),
        )


class ConditionRead(BaseModel):
    """One plan 5.5 condition as the termination check and the evaluation report give it."""

    key: str
    met: bool
    evidence: str
    figures: LoadFigures | None = None
    attestations: list[AttestedRead] | None = Field(
        default=None,
        description="an attested condition's statements, oldest first, those withdrawn or "
        "voided included; null for load_restored, which is measured",
    )

    @classmethod
    def of(cls, condition: Condition) -> ConditionRead:
        figures = condition.figures
        measured = condition.key == "load_restored"
        return cls(
            key=condition.key,
            met=condition.met,
            evidence=condition.evidence,
            figures=LoadFigures.model_validate(figures) if figures else None,
            attestations=None if measured else [AttestedRead.of(s) for s in condition.attestations],
        )
