"""Drill scenarios (playbooks/drills/*.yaml): the shipped typhoon validates, and every fault is
refused before the drill starts, naming the file, the step (index, minute, kind) and why."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from service.errors import PlaybookError
from service.playbooks.bundle import Playbooks
from service.playbooks.drills import ReportStep, load_drills, load_scenario
from tests.helpers import PLAYBOOKS_DIR

PLAYBOOKS = Playbooks.load(PLAYBOOKS_DIR)
TYPHOON = PLAYBOOKS_DIR / "drills" / "typhoon.yaml"
ACTORS = {
    "dispatcher": {"role": "dispatcher", "name": "调度"},
    "city": {"role": "commander", "region": "330600", "name": "市指挥部"},
    "power": {"role": "agency", "agency": "power-company", "name": "电力局"},
}
WARN = {
    "at": 0,
    "do": "warn",
    "as": "dispatcher",
    "warning": "w",
    "area": ["330603"],
    "headline": "台风",
    "description": "台风将至",
}


def load(tmp_path: Path, listed: list[Any], **head: Any) -> Any:
    path = tmp_path / "drill.yaml"
    scenario = {"version": 1, "title": "t", "cause": "typhoon", "actors": ACTORS, "steps": listed}
    path.write_text(yaml.safe_dump({**scenario, **head}, allow_unicode=True), encoding="utf-8")
    return load_scenario(path, PLAYBOOKS.grids, PLAYBOOKS.agencies)


def test_the_shipped_typhoon_validates() -> None:
    scenario = load_scenario(TYPHOON, PLAYBOOKS.grids, PLAYBOOKS.agencies)
    assert scenario.steps[-1].do == "evaluate" and scenario.minutes == 600
    reports = [step for step in scenario.steps if isinstance(step, ReportStep)]
    assert {s.region for step in reports for s in step.snapshots} == {"330603", "330604"}
    assert load_drills(PLAYBOOKS_DIR, PLAYBOOKS.grids, PLAYBOOKS.agencies) == [TYPHOON]


@pytest.mark.parametrize(
    ("steps", "entry", "reason"),
    [
        ([{**WARN, "do": "dance"}], "steps[0] (at 0, dance)", "does not match any of the expected"),
        (
            [{**WARN, "area": "330603"}],
            "steps[0] (at 0, warn)",
            "area: Input should be a valid list",
        ),
        ([{**WARN, "headline": None}], "steps[0] (at 0, warn)", "headline:"),
        ([{**WARN, "as": "nobody"}], "steps[0] (at 0, warn)", "as: no actor 'nobody'"),
        (
            [{**WARN, "as": "city"}],
            "steps[0] (at 0, warn)",
            "as: city has the role commander; warn is for dispatcher",
        ),
        ([{**WARN, "area": ["110000"]}], "steps[0] (at 0, warn)", "unknown region 110000"),
        (
            [{"at": 0, "do": "attest", "as": "city", "condition": "grid_stable", "evidence": "x"}],
            "steps[0] (at 0, attest)",
            "the first step opens the event",
        ),
        (
            [WARN, {"at": 5, "do": "publish", "as": "city", "warning": "v"}],
            "steps[1] (at 5, publish)",
            "warning: 'v' is not proposed by a step before",
        ),
        (
            [{**WARN, "at": 10}, {"at": 5, "do": "ack", "as": "power"}],
            "steps[1] (at 5, ack)",
            "at: comes before the step above (10)",
        ),
        (
            [WARN, {"at": 5, "do": "ack", "as": "power", "phase": "later"}],
            "steps[1] (at 5, ack)",
            "phase: Input should be",
        ),
        (
            [WARN, {"at": 5, "do": "attest", "as": "city", "condition": "load_restored"}],
            "steps[1] (at 5, attest)",
            "condition: Input should be",
        ),
        (
            [WARN, {"at": -1, "do": "close", "as": "city"}],
            "steps[1] (at -1, close)",
            "at: Input should be greater than or equal to 0",
        ),
        (
            [WARN, {"at": 1, "do": "evaluate", "as": "power"}],
            "steps[1] (at 1, evaluate)",
            "as: power has the role agency; evaluate is for admin or dispatcher",
        ),
        (["report"], "steps[0]", "Input should be a valid dictionary"),
    ],
)
def test_a_faulty_step_is_named(tmp_path: Path, steps: list[Any], entry: str, reason: str) -> None:
    with pytest.raises(PlaybookError) as caught:
        load(tmp_path, steps)
    assert caught.value.file == str(tmp_path / "drill.yaml")
    assert caught.value.entry == entry
    assert reason in caught.value.reason


@pytest.mark.parametrize(
    ("head", "entry", "reason"),
    [
        ({"version": 2}, "version", "Input should be 1"),
        ({"cause": "meteor"}, "cause", "Input should be"),
        ({"actors": {"x": {"role": "agency", "name": "x"}}}, "actors.x", "names its agency"),
        (
            {"actors": {"x": {"role": "agency", "agency": "nobody", "name": "x"}}},
            "actors.x",
            "unknown agency 'nobody'",
        ),
        ({"actors": {"x": {"role": "commander", "name": "x"}}}, "actors.x", "names its HQ"),
        (
            {"actors": {"x": {"role": "commander", "region": "110000", "name": "x"}}},
            "actors.x",
            "unknown region 110000",
        ),
        ({"steps": []}, "steps", "expected a non-empty list of steps"),
    ],
)
def test_a_faulty_head_or_actor_is_named(
    tmp_path: Path, head: dict[str, Any], entry: str, reason: str
) -> None:
    with pytest.raises(PlaybookError) as caught:
        load(tmp_path, [WARN], **head)
    assert caught.value.entry == entry
    assert reason in caught.value.reason
