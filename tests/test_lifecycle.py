"""The event lifecycle machine against design.md's table."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from statemachine.exceptions import TransitionNotAllowed

from service.errors import Conflict
from service.lifecycle import (
    STATES,
    TRIGGER_ROLES,
    EventLifecycle,
    allowed_triggers,
    decide,
    fire,
)


@dataclass
class Model:
    state: str | None = None


# (from, trigger, guards, to): every allowed move of design.md's table.
MOVES = [
    (None, "report", {}, "monitoring"),
    (None, "report", {"reaches_response": True}, "response"),
    (None, "propose_warning", {}, "monitoring"),
    ("monitoring", "propose_warning", {}, "monitoring"),
    # a further warning may be proposed for an event already warned or in response
    ("warning", "propose_warning", {}, "warning"),
    ("response", "propose_warning", {}, "response"),
    ("monitoring", "report", {}, "monitoring"),
    ("monitoring", "report", {"reaches_response": True}, "response"),
    ("warning", "report", {}, "warning"),
    ("warning", "report", {"reaches_response": True}, "response"),
    ("response", "report", {"reaches_response": True}, "response"),
    ("response", "report", {}, "response"),
    ("monitoring", "publish_warning", {"has_proposed_warning": True}, "warning"),
    ("warning", "lift_warning", {}, "monitoring"),
    ("response", "lift_warning", {}, "response"),
    ("monitoring", "start_response", {}, "response"),
    ("warning", "start_response", {}, "response"),
    ("response", "set_level", {}, "response"),
    ("response", "terminate", {"termination_conditions_met": True}, "terminated"),
    ("monitoring", "dismiss", {}, "closed"),
    ("terminated", "close", {"post_event_work_done": True}, "closed"),
]


@pytest.mark.parametrize(("start", "trigger", "guards", "end"), MOVES)
def test_allowed_moves(start: str | None, trigger: str, guards: dict[str, bool], end: str) -> None:
    model = Model(start)
    assert fire(model, trigger, **guards) == end
    assert model.state == end


ALLOWED = {(start or "monitoring", trigger) for start, trigger, _g, _e in MOVES}


@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("trigger", sorted(TRIGGER_ROLES))
def test_every_other_pair_is_409_with_allowed_triggers(state: str, trigger: str) -> None:
    if (state, trigger) in ALLOWED:
        assert trigger in allowed_triggers(state)
        return
    model = Model(state)
    with pytest.raises(Conflict) as refused:
        fire(model, trigger)
    assert refused.value.extra["state"] == state
    assert refused.value.extra["allowed"] == allowed_triggers(state)
    assert model.state == state


@pytest.mark.parametrize(
    ("state", "trigger"),
    [
        ("monitoring", "publish_warning"),
        ("response", "terminate"),
        ("terminated", "close"),
    ],
)
def test_guards_refuse_when_unmet(state: str, trigger: str) -> None:
    model = Model(state)
    with pytest.raises(Conflict):
        fire(model, trigger)
    assert model.state == state


def test_closed_is_final_and_allows_nothing() -> None:
    assert allowed_triggers("closed") == []
    assert EventLifecycle.closed.final


def test_every_trigger_has_roles() -> None:
    triggers = {e.id for e in EventLifecycle.events}
    assert triggers == set(TRIGGER_ROLES)


GUARDS = ("reaches_response", "has_proposed_warning", "termination_conditions_met")


@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("trigger", sorted(TRIGGER_ROLES))
@pytest.mark.parametrize("value", [True, False])
def test_a_remembered_answer_is_the_machines_own(state: str, trigger: str, value: bool) -> None:
    guards = {name: value for name in GUARDS} | {"post_event_work_done": value}
    try:
        expected: str | None = decide(state, trigger, frozenset(guards.items()))
    except TransitionNotAllowed:
        expected = None
    for _asked in range(2):  # the second answer comes from memory
        model = Model(state)
        if expected is None:
            with pytest.raises(Conflict):
                fire(model, trigger, **guards)
            assert model.state == state
        else:
            assert fire(model, trigger, **guards) == expected == model.state
