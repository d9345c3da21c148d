"""The growth table (benchmarks.growth): run end to end at a tiny scale on each backend, so that
its filling and its requests cannot rot, and its arithmetic."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from benchmarks.growth import OPERATIONS, growth, growth_table, measure_growth, summary
from benchmarks.growth_fill import Step, parse_steps
from benchmarks.output import missed_goals
from tests.helpers import BACKENDS, scratch_postgres


@pytest.mark.process  # the service is served (uvicorn), and audit verify runs in a process
@pytest.mark.parametrize("backend", BACKENDS)
def test_the_growth_table_fills_each_step_and_measures_every_operation(
    backend: str, tmp_path: Path
) -> None:
    args = argparse.Namespace(growth_steps="300:600:2,900:1800:4", growth_samples=2)
    if backend == "sqlite":
        found = measure_growth(f"sqlite+aiosqlite:///{tmp_path / 'growth.db'}", args)
    else:
        with scratch_postgres("outage_growth") as url:
            found = measure_growth(url, args)
    assert found["status"] == "ok"
    first, last = found["steps"]
    # each step holds at least its actions (whole events), its open events, and about its
    # timeline entries (the probes' and the measured reports' besides the filler's)
    assert first["holds"]["actions"] >= 300 and last["holds"]["actions"] >= 900
    assert (first["holds"]["open_events"], last["holds"]["open_events"]) == (2, 4)
    assert 600 * 0.8 <= first["holds"]["entries"] <= 600 * 1.2
    assert 1800 * 0.8 <= last["holds"]["entries"] <= 1800 * 1.2
    for step in found["steps"]:
        assert set(step["operations"]) == {name for name, _label in OPERATIONS}
        assert all(f["median_ms"] > 0 for f in step["operations"].values())
    # the agency's poll answers one page (50 actions) at both steps, not everything it holds,
    # which here triples
    assert last["operations"]["poll_200"]["bytes"] <= first["operations"]["poll_200"]["bytes"] * 1.2
    table = growth_table({backend: {"growth": found}})
    assert all(label in table for _name, label in OPERATIONS)


def test_a_growth_factor_is_the_largest_steps_median_over_the_smallests() -> None:
    def step(report: float, poll: float, open_events: int) -> dict[str, object]:
        figures = {name: {"median_ms": 1.0, "p95_ms": 2.0} for name, _label in OPERATIONS}
        figures["report"] = {"median_ms": report, "p95_ms": report}
        figures["poll_200"] = {"median_ms": poll, "p95_ms": poll}
        return {"operations": figures, "holds": {"open_events": open_events}}

    found = growth([step(10.0, 4.0, 5), step(7.0, 1.0, 50), step(14.0, 8.0, 50)])
    assert found["report"] == {"factor": 1.4, "history": 2.0, "goal": 1.5, "meets_goal": True}
    assert found["poll_200"] == {"factor": 2.0, "history": 8.0, "goal": 1.5, "meets_goal": False}
    assert growth([step(10.0, 4.0, 5), step(14.0, 8.0, 50)])["report"]["history"] is None
    results = {"sqlite": {"status": "ok", "growth": {"status": "ok", "growth": found}}}
    assert missed_goals(results) == ["sqlite poll_200 growth"]


def test_median_and_p95_of_samples() -> None:
    assert summary([float(n) for n in range(1, 21)]) == {"median_ms": 10.5, "p95_ms": 19.0}
    assert summary([3.0]) == {"median_ms": 3.0, "p95_ms": 3.0}


def test_growth_steps_must_grow_and_keep_both_probes_open() -> None:
    assert parse_steps("1000:10000:5, 10000:100000:50") == [
        Step(1000, 10000, 5),
        Step(10000, 100000, 50),
    ]
    assert Step(100000, 1000000, 50).label == "100ka/1Mt/50o"
    with pytest.raises(ValueError, match="grow"):
        parse_steps("1000:10000:5,500:20000:5")
    with pytest.raises(ValueError, match="open"):
        parse_steps("1000:10000:1")
