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


# Building an EventLifecycle costs far more than sending it a trigger, and a machine holds
# nothing but its current state, so idle machines are kept by the state they are in. ``send`` is
# synchronous: no other request can touch a machine between taking and returning it.
_IDLE: Final[dict[str, list[EventLifecycle]]] = {state.value: [] for state in EventLifecycle.states}
_IDLE_PER_STATE: Final = 16


def _machine(state: str) -> EventLifecycle:
    idle = _IDLE[state]
    return idle.pop() if idle else EventLifecycle(model=_Holder(state), state_field="state")


def _release(machine: EventLifecycle) -> None:
    if machine.is_terminated:  # a machine that reached its final state takes no more triggers
        return
    idle = _IDLE[machine.model.state]
    if len(idle) < _IDLE_PER_STATE:
        idle.append(machine)


def fire(model: Any, trigger: str, **guards: Any) -> str:
    """Move ``model`` (anything with a ``state`` attribute) by ``trigger``; returns the new state.

    Raises Conflict (409) naming the state and the triggers allowed there when the trigger has no
    transition from the current state, or its guard does not hold.
    """
    before = model.state or EventLifecycle.monitoring.value
    machine = _machine(before)
    try:
        machine.send(trigger, **guards)
    except TransitionNotAllowed as exc:
        raise Conflict(
            f"'{trigger}' is not allowed while the event is in '{before}'",
            state=before,
            allowed=allowed_triggers(before),
            rule="design.md event lifecycle",
        ) from exc
    finally:
        _release(machine)
    model.state = machine.model.state
    return str(model.state)
