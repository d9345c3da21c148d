"""Plan 1.5 事件分级: the level of a large-area outage, from snapshots of its grids.

Pure: no web, no database, no files. Every threshold comes from `playbooks/classification.yaml`
(read by service.playbooks.classification); this module holds none of its own. Numbers are
`Decimal` and are compared exactly (as rationals), so 60.4 MW lost of 151.0 MW is 40%, not
39.999…%.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import Context, Decimal, Inexact
from functools import cached_property
from typing import Annotated, Any, Final, Literal, Protocol

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from service.plan.grids import Scope
from service.plan.levels import Level, level_rank, max_level
from service.plan.percent import exact_percent

Metric = Literal["load", "customers"]


# --- the rules file -----------------------------------------------------------------------------


def _exact_number(value: Any) -> Any:
    # A YAML float (0.13) is already binary, i.e. inexact; bool is an int to Python.
    if isinstance(value, bool | float):
        raise ValueError(f'write numbers as strings, e.g. "0.13", not {value!r}')
    return value


def _unit_fraction(value: Decimal) -> Decimal:
    if not Decimal(0) <= value <= Decimal(1):
        raise ValueError(f"a fraction must be within [0, 1], got {value}")
    return value


def _non_negative(value: Decimal) -> Decimal:
    if value < 0:
        raise ValueError(f"a load must be ≥ 0 MW, got {value}")
    return value


UnitFraction = Annotated[Decimal, BeforeValidator(_exact_number), AfterValidator(_unit_fraction)]
Megawatts = Annotated[Decimal, BeforeValidator(_exact_number), AfterValidator(_non_negative)]


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# Products of a threshold (a few digits) and a figure (at most tens of digits) fit in 100 digits.
EXACT: Final = Context(prec=100, traps=[Inexact])


class FractionBand(_Frozen):
    """`min` ≤ x < `below` ("以上" includes the number, "以下" excludes it: plan 1.5, last line)."""

    min: UnitFraction
    below: UnitFraction | None = None

    @model_validator(mode="after")
    def _ordered(self) -> FractionBand:
        if self.below is not None and self.min >= self.below:
            raise ValueError(f"min ({self.min}) must be less than below ({self.below})")
        return self

    def contains(self, part: Decimal, whole: Decimal) -> bool:
        """Whether part ÷ whole (whole > 0) lies in the band, decided exactly: by
        cross-multiplying in a context wide enough that no product is ever rounded."""
        return EXACT.multiply(self.min, whole) <= part and (
            self.below is None or part < EXACT.multiply(self.below, whole)
        )

    @cached_property
    def text(self) -> str:
        """E.g. "≥ 40% 且 < 60%" (worked out once per band, not per classification)."""
        low = f"≥ {exact_percent(self.min)}"
        return low if self.below is None else f"{low} 且 < {exact_percent(self.below)}"


class LoadBand(_Frozen):
    """The grid's own load before the event, MW: "负荷600兆瓦以上" is min 600, "以下" below 600."""

    min: Megawatts | None = None
    below: Megawatts | None = None

    @model_validator(mode="after")
    def _ordered(self) -> LoadBand:
        if self.min is not None and self.below is not None and self.min >= self.below:
            raise ValueError(f"min ({self.min}) must be less than below ({self.below})")
        return self

    def contains(self, load_mw: Decimal) -> bool:
        return (self.min is None or load_mw >= self.min) and (
            self.below is None or load_mw < self.below
        )


class Rule(_Frozen):
    """One row of plan 1.5: a grid scope and load band, a level, the clause, and its metrics."""

    scope: Scope
    grid_load_mw: LoadBand | None = None
    level: Level
    clause: str = Field(min_length=1)
    load_lost: FractionBand | None = None
    customers_out: FractionBand | None = None

    @model_validator(mode="after")
    def _has_metric(self) -> Rule:
        if self.load_lost is None and self.customers_out is None:
            raise ValueError("the rule has neither load_lost nor customers_out")
        return self

    @cached_property
    def metrics(self) -> tuple[tuple[Metric, FractionBand], ...]:
        """The rule's metrics and their bands, load first."""
        found: list[tuple[Metric, FractionBand]] = []
        if self.load_lost is not None:
            found.append(("load", self.load_lost))
        if self.customers_out is not None:
            found.append(("customers", self.customers_out))
        return tuple(found)


class ClassificationRules(_Frozen):
    """A parsed classification file: level names and the rules, in file order."""

    levels: dict[Level, str]
    rules: tuple[Rule, ...] = Field(min_length=1)

    def label(self, level: Level | None) -> str:
        """ "IV级 一般" … "I级 特别重大", as people read a level; "未达分级" below every
        threshold."""
        return "未达分级" if level is None else f"{level}级 {self.levels[level]}"

    @cached_property
    def by_scope(self) -> dict[str, tuple[Rule, ...]]:
        """The rules of each grid scope, in file order."""
        return {
            scope: tuple(rule for rule in self.rules if rule.scope == scope)
            for scope in {rule.scope for rule in self.rules}
        }


# --- classifying --------------------------------------------------------------------------------


class Measured(Protocol):
    """What classifying reads of a grid at one moment: a ``Snapshot``, or a request's snapshot
    as it was validated (no copy needed)."""

    @property
    def scope(self) -> Scope: ...
    @property
    def region(self) -> str: ...
    @property
    def load_mw(self) -> Decimal: ...
    @property
    def load_lost_mw(self) -> Decimal: ...
    @property
    def customers(self) -> int | None: ...
    @property
    def customers_out(self) -> int | None: ...


@dataclass(frozen=True)
class Snapshot:
    """One grid at one moment: load before the event, load lost, and optionally customers."""

    scope: Scope
    region: str
    load_mw: Decimal
    load_lost_mw: Decimal
    customers: int | None = None
    customers_out: int | None = None


@dataclass(frozen=True)
class Basis:
    """One metric of one rule that fired for one grid: why the event has its level."""

    scope: Scope
    region: str
    level: Level
    clause: str
    metric: Metric
    value: Decimal  # load_lost ÷ load or customers_out ÷ customers, unrounded
    threshold: str  # e.g. "≥ 40% 且 < 60%"
    min: Decimal
    below: Decimal | None


@dataclass(frozen=True)
class Classification:
    """The event's level (None below threshold), its name, and every basis that fired."""

    level: Level | None
    level_name: str | None
    basis: tuple[Basis, ...]


def classify(snapshots: Iterable[Measured], rules: ClassificationRules) -> Classification:
    """Classify an event by plan 1.5.

    Each snapshot is held against the rules of its scope whose load band holds its load; a rule
    fires when any of its metrics is in its band. The event's level is the highest any grid
    reaches (plan 1.5, 5.1); below every rule it is None. The basis lists every metric that
    fired, highest level first, then by region. Regions are not checked here (the caller does);
    a snapshot whose load_mw is not a positive number raises ValueError.
    """
    basis = [b for snapshot in snapshots for b in _fired(snapshot, rules)]
    basis.sort(key=lambda b: (-level_rank(b.level), b.region))  # stable: file order within
    level = max_level(*(b.level for b in basis))
    name = rules.levels[level] if level is not None else None
    return Classification(level=level, level_name=name, basis=tuple(basis))


def _fired(snapshot: Measured, rules: ClassificationRules) -> Iterator[Basis]:
    measures = _measures(snapshot)
    for rule in rules.by_scope.get(snapshot.scope, ()):
        if rule.grid_load_mw is not None and not rule.grid_load_mw.contains(snapshot.load_mw):
            continue
        for metric, band in rule.metrics:
            measure = measures.get(metric)
            if measure is None or not band.contains(measure[1], measure[2]):
                continue
            yield Basis(
                scope=snapshot.scope,
                region=snapshot.region,
                level=rule.level,
                clause=rule.clause,
                metric=metric,
                value=measure[0],
                threshold=band.text,
                min=band.min,
                below=band.below,
            )


def _measures(snapshot: Measured) -> dict[Metric, tuple[Decimal, Decimal, Decimal]]:
    """Each metric the snapshot has, as (the fraction for display, its part, its whole).

    `loss` = load lost ÷ load before the event; `out` = customers out ÷ customers of that grid,
    only when the grid's customers are known and > 0.
    """
    load, lost = snapshot.load_mw, snapshot.load_lost_mw
    if not (load.is_finite() and lost.is_finite()) or load <= 0:
        raise ValueError(
            f"{snapshot.region}: load_mw must be a positive number and load_lost_mw finite, "
            f"got {load} and {lost}"
        )
    found: dict[Metric, tuple[Decimal, Decimal, Decimal]] = {"load": (lost / load, lost, load)}
    customers, out = snapshot.customers, snapshot.customers_out
    if customers is not None and customers > 0 and out is not None:
        served, cut = Decimal(customers), Decimal(out)
        found["customers"] = (cut / served, cut, served)
    return found
