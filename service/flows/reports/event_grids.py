"""A report folded into its event's grids: each grid's latest figures and its peak loss, the
event classified as its grids now stand, and the counties its reports showed hit."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final

from models import Event, EventGrid
from service.flows.reports.schemas import ReportCreate
from service.plan.addressees import hit_counties
from service.plan.classification import Classification, ClassificationRules, Snapshot, classify

# What plan 1.5 classifies a grid by, as the classifier's Snapshot's fields.
MEASURES: Final = ("scope", "region", "load_mw", "load_lost_mw", "customers", "customers_out")


@dataclass(frozen=True, slots=True)
class Hit:
    """The counties the event's reports showed hit, before the report and with it."""

    before: set[str]
    after: set[str]


def merge_grids(
    rows: dict[str, EventGrid], event: Event, body: ReportCreate, rules: ClassificationRules
) -> tuple[Classification, list[dict[str, Any]], Hit]:
    """Fold the report into the event's grids (``rows``, by code); classify the grids as they
    now stand.

    A snapshot replaces a grid's latest figures only if it is not older than them (reports may
    arrive out of order); the peak loss of each grid is kept for restoration (plan 5.5). Grids
    the event did not have yet are returned as rows for the caller to insert, with the counties
    the event's reports showed hit before this one and now.
    """
    before = hit_counties(_peaks(rows.values()))
    new: list[dict[str, Any]] = []
    for s in body.snapshots:
        row = rows.get(s.region)
        if row is None:
            new.append(
                {
                    "event_id": event.id,
                    "region": s.region,
                    "scope": s.scope,
                    "load_mw": s.load_mw,
                    "load_lost_mw": s.load_lost_mw,
                    "customers": s.customers,
                    "customers_out": s.customers_out,
                    "observed_at": body.observed_at,
                    "peak_load_lost_mw": s.load_lost_mw,
                    "peak_customers_out": s.customers_out,
                }
            )
            continue
        row.peak_load_lost_mw = max(row.peak_load_lost_mw, s.load_lost_mw)
        if s.customers_out is not None:
            row.peak_customers_out = max(row.peak_customers_out or 0, s.customers_out)
        if body.observed_at >= row.observed_at:
            row.load_mw, row.load_lost_mw = s.load_mw, s.load_lost_mw
            row.customers, row.customers_out = s.customers, s.customers_out
            row.observed_at = body.observed_at
    standing = [Snapshot(**{f: getattr(r, f) for f in MEASURES}) for r in rows.values()]
    standing += [Snapshot(**{f: g[f] for f in MEASURES}) for g in new]
    after = hit_counties(_peaks(rows.values())) | hit_counties(
        (g["scope"], g["region"], g["peak_load_lost_mw"], g["peak_customers_out"]) for g in new
    )
    return classify(standing, rules), new, Hit(before, after)


def _peaks(rows: Iterable[EventGrid]) -> Iterator[tuple[str, str, Decimal, int | None]]:
    for row in rows:
        yield row.scope, row.region, row.peak_load_lost_mw, row.peak_customers_out
