"""Shapes the flows share in what they take and give: times, numbers, regions, HQs, basis, pages."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Final, Generic, TypeVar

from pydantic import AfterValidator, AwareDatetime, BaseModel, Field, PlainSerializer

from service.plan.classification import Basis, Metric
from service.plan.grids import GridRegistry, Scope
from service.plan.levels import Level

# A six-digit GB/T 2260 code, as playbooks/regions.yaml lists the grids.
REGION_PATTERN: Final = r"^[0-9]{6}$"
RegionCode = Annotated[str, Field(pattern=REGION_PATTERN, examples=["330603"])]
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
