"""Classifying snapshots by plan 1.5 without storing anything (POST /classify), and the check
every report's snapshots pass first: each names a known grid with its own scope."""

from __future__ import annotations

from collections.abc import Sequence

from service.errors import InvalidInput, Said
from service.flows.context import AppContext
from service.flows.reports.schemas import ClassificationQuery, SnapshotCreate
from service.plan.classification import Classification, classify
from service.plan.grids import GridRegistry


def classify_snapshots(context: AppContext, query: ClassificationQuery) -> Classification:
    """Plan 1.5's level for the query's snapshots of known grids; stores nothing, so it needs
    no session: only the playbooks' grids and rules."""
    playbooks = context.playbooks
    check_grids(query.snapshots, playbooks.grids)
    return classify(query.snapshots, playbooks.rules)


def check_grids(snapshots: Sequence[SnapshotCreate], grids: GridRegistry) -> None:
    """Every snapshot names a known grid with its own scope (regions.yaml)."""
    for i, snapshot in enumerate(snapshots):
        grid = grids.get(snapshot.region)
        if grid is None:
            raise InvalidInput(
                f"snapshots[{i}].region",
                Said("未知电网 {grid}（见 regions.yaml）", grid=snapshot.region),
            )
        if grid.scope != snapshot.scope:
            raise InvalidInput(
                f"snapshots[{i}].scope",
                Said(
                    "电网 {code}（{name}）是 {scope} 电网，不是 {sent}",
                    code=grid.code,
                    name=grid.name,
                    scope=grid.scope,
                    sent=snapshot.scope,
                ),
            )
