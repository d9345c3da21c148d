"""The event lifecycle (design.md "Event lifecycle"; plan 3.2.2, 5, 5.5, 6) as one StateMachine.

States are nouns, triggers verbs, guards named. The machine only decides whether a trigger may
move an event and where to; who may fire it is ``TRIGGER_ROLES`` (checked first: a refusal for
who the caller is comes before one for the state), and what a move does (dispatching, timeline)
lives with the callers.
"""

from __future__ import annotations

from typing import Any, Final

from statemachine import State, StateMachine
from statemachine.exceptions import TransitionNotAllowed

from service.errors import Conflict


class EventLifecycle(StateMachine):
    """monitoring → warning → response → terminated → closed, as design.md tabulates it."""

    monitoring = State("monitoring", initial=True)
    warning = State("warning")
    response = State("response")
    terminated = State("terminated")
    closed = State("closed", final=True)

    # A report whose level reaches IV or above starts the response (plan 5.1); any other report
    # only updates figures. Reports never lower a level.
    report = (
        monitoring.to(response, cond="reaches_response")
        | warning.to(response, cond="reaches_response")
        | monitoring.to.itself(internal=True)
        | warning.to.itself(internal=True)
        | response.to.itself(internal=True)
    )
    # Plan 3.2.2.1: the grid side proposes, the government publishes; 3.2.2.3: 谁发布、谁解除.
    propose_warning = (
        monitoring.to.itself(internal=True)
        | warning.to.itself(internal=True)
        | response.to.itself(internal=True)
    )
    publish_warning = monitoring.to(warning, cond="has_proposed_warning")
    lift_warning = warning.to(monitoring) | response.to.itself(internal=True)
    # Plan 5.1 last paragraphs: a discretionary start, and level adjustment during a response.
    start_response = monitoring.to(response) | warning.to(response)
    set_level = response.to.itself(internal=True)
    # Plan 5.5: all four conditions at once; plan 6: post-event work before closing.
    terminate = response.to(terminated, cond="termination_conditions_met")
    dismiss = monitoring.to(closed)
    close = terminated.to(closed, cond="post_event_work_done")

    def reaches_response(self, reaches_response: bool = False) -> bool:
        return reaches_response

    def has_proposed_warning(self, has_proposed_warning: bool = False) -> bool:
        return has_proposed_warning

    def termination_conditions_met(self, termination_conditions_met: bool = False) -> bool:
        return termination_conditions_met

    def post_event_work_done(self, post_event_work_done: bool = False) -> bool:
        return post_event_work_done


# Who may fire each trigger (design.md, "who" column). Jurisdiction (which HQ) is checked by the
# callers that know the event's leading HQ.
TRIGGER_ROLES: Final[dict[str, frozenset[str]]] = {
    "report": frozenset({"dispatcher"}),
    "propose_warning": frozenset({"dispatcher"}),
    "publish_warning": frozenset({"commander"}),
    "lift_warning": frozenset({"commander"}),
    "start_response": frozenset({"commander"}),
    "set_level": frozenset({"commander"}),
    "terminate": frozenset({"commander"}),
    "dismiss": frozenset({"commander"}),
    "close": frozenset({"commander"}),
}

STATES: Final = tuple(s.value for s in EventLifecycle.states)


def allowed_triggers(state: str) -> list[str]:
    """The triggers that have a transition out of ``state`` (guards not evaluated)."""
    return sorted(
        {
            event.id
            for transition in EventLifecycle.states_map[state].transitions
            for event in transition.events
        }
    )


class _Holder:
    """The machine's own model: it holds the state while the machine decides."""

    __slots__ = ("state",)

    def __init__(self, state: str) -> None:
        self.state = state


def decide(state: str, trigger: str, guards: frozenset[tuple[str, Any]]) -> str:
    """Ask a fresh machine in ``state`` where ``trigger`` leads, given the guard values.

    Raises TransitionNotAllowed when it leads nowhere.
    """
    machine = EventLifecycle(model=_Holder(state), state_field="state")
    machine.send(trigger, **dict(guards))
    return str(machine.model.state)


# EventLifecycle has no callbacks with effects (what a move does lives with the callers), so its
# answer depends only on the state, the trigger and the guard values: each answer is asked of the
# machine once and remembered. Sending a trigger through python-statemachine's engine costs
# about 0.4 ms; there are at most a few dozen distinct questions.
_decided: Final[dict[tuple[str, str, frozenset[tuple[str, Any]]], str | None]] = {}


def fire(model: Any, trigger: str, **guards: Any) -> str:
    """Move ``model`` (anything with a ``state`` attribute) by ``trigger``; returns the new state.

    Raises Conflict (409) naming the state and the triggers allowed there when the trigger has no
    transition from the current state, or its guard does not hold.
    """
    before = model.state or EventLifecycle.monitoring.value
    question = (before, trigger, frozenset(guards.items()))
    try:
        after = _decided[question]
    except KeyError:
        try:
            after = decide(*question)
        except TransitionNotAllowed:
            after = None
        _decided[question] = after
    if after is None:
        raise Conflict(
            f"'{trigger}' is not allowed while the event is in '{before}'",
            state=before,
            allowed=allowed_triggers(before),
            rule="design.md event lifecycle",
        )
    model.state = after
    return after
