"""The event lifecycle against design § Lifecycle (tests.helpers.DESIGN_MOVES is the oracle)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from service.errors import Conflict
from service.plan.lifecycle import STATES, TRIGGER_ROLES, TRIGGERS, fire
from tests.helpers import DESIGN_MOVES, DESIGN_STATES, DESIGN_WHO, design_allowed


@dataclass
class Model:
    state: str | None = None


@pytest.mark.parametrize(("start", "trigger", "guards", "end"), DESIGN_MOVES)
def test_allowed_moves(start: str | None, trigger: str, guards: dict[str, bool], end: str) -> None:
    model = Model(start)
    assert fire(model, trigger, **guards) == end  # type: ignore[arg-type]
    assert model.state == end


@pytest.mark.parametrize("state", DESIGN_STATES)
def test_every_other_trigger_is_409_naming_the_ones_allowed(state: str) -> None:
    refused = [t for t in DESIGN_WHO if t not in design_allowed(state)]
    for trigger in refused:
        model = Model(state)
        with pytest.raises(Conflict) as conflict:
            fire(model, trigger)  # type: ignore[arg-type]
        assert conflict.value.extra["state"] == state
        assert conflict.value.extra["allowed"] == design_allowed(state)
        assert model.state == state


@pytest.mark.parametrize(
    ("state", "trigger", "guard"),
    [
        ("monitoring", "publish_warning", "has_proposed_warning"),
        ("response", "terminate", "termination_conditions_met"),
        ("terminated", "close", "post_event_work_done"),
    ],
)
def test_a_guard_that_does_not_hold_refuses(state: str, trigger: str, guard: str) -> None:
    for guards in ({}, {guard: False}):
        model = Model(state)
        with pytest.raises(Conflict):
            fire(model, trigger, **guards)  # type: ignore[arg-type]
        assert model.state == state


def test_a_report_below_iv_keeps_the_state() -> None:
    for state in ("monitoring", "warning", "response"):
        assert fire(Model(state), "report", reaches_response=False) == state


def test_closed_allows_nothing() -> None:
    for trigger in DESIGN_WHO:
        with pytest.raises(Conflict) as conflict:
            fire(Model("closed"), trigger)  # type: ignore[arg-type]
        assert conflict.value.extra["allowed"] == []


def test_the_vocabulary_is_the_designs() -> None:
    assert list(STATES) == DESIGN_STATES
    assert sorted(TRIGGERS) == sorted(DESIGN_WHO)
    assert {t: roles for t, roles in TRIGGER_ROLES.items()} == {
        t: (role,) for t, role in DESIGN_WHO.items()
    }


def test_two_guards_at_once_is_a_programming_error() -> None:
    with pytest.raises(TypeError):
        fire(Model("response"), "terminate", termination_conditions_met=True, reaches_response=True)
    with pytest.raises(TypeError):
        fire(Model("response"), "terminate", termination_met=True)
