"""The event lifecycle (design § Lifecycle; plan 3.2.2, 5, 5.5, 6) as one StateMachine.

States are nouns, triggers verbs, guards named. The machine only decides whether a trigger may
move an event and where to; who may fire it is ``TRIGGER_ROLES`` (checked first: a refusal for
who the caller is comes before one for the state), and what a move does (dispatching, timeline)
lives with the callers.
"""

from __future__ import annotations

from typing import Any, Final, Literal, get_args

from statemachine import State, StateMachine
from statemachine.exceptions import TransitionNotAllowed

from service.errors import Conflict, Said
from service.plan.actor import Role


class EventLifecycle(StateMachine):
    """monitoring → warning → response → terminated → closed, as design § Lifecycle tabulates."""

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
    # Plan 2.2, 5.1: a higher HQ takes the lead of a III or IV, the level kept.
    take_lead = response.to.itself(internal=True)
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


Trigger = Literal[
    "report",
    "propose_warning",
    "publish_warning",
    "lift_warning",
    "start_response",
    "set_level",
    "take_lead",
    "terminate",
    "dismiss",
    "close",
]
TRIGGERS: Final[tuple[Trigger, ...]] = get_args(Trigger)

# Who may fire each trigger (design § Lifecycle, "who" column): the API admits only these roles
# before it reads a request's body. Jurisdiction (which HQ) is checked by the flows that know
# the event.
TRIGGER_ROLES: Final[dict[Trigger, tuple[Role, ...]]] = {
    "report": ("dispatcher",),
    "propose_warning": ("dispatcher",),
    "publish_warning": ("commander",),
    "lift_warning": ("commander",),
    "start_response": ("commander",),
    "set_level": ("commander",),
    "take_lead": ("commander",),
    "terminate": ("commander",),
    "dismiss": ("commander",),
    "close": ("commander",),
}

# The states as a type, for the models, the API schemas and the CHECK constraint: the machine
# above is their one definition, and this module refuses to load if the two ever differ.
EventState = Literal["monitoring", "warning", "response", "terminated", "closed"]
STATES: Final[tuple[EventState, ...]] = get_args(EventState)
# An event still being worked: reports and warning proposals on its grids join it.
OPEN_EVENT_STATES: Final[tuple[EventState, ...]] = ("monitoring", "warning", "response")
if tuple(s.value for s in EventLifecycle.states) != STATES:
    raise RuntimeError(f"EventState {STATES} differs from EventLifecycle's states")
_EVENTS = {e.id for state in EventLifecycle.states for t in state.transitions for e in t.events}
if set(TRIGGERS) != _EVENTS:
    raise RuntimeError(f"Trigger {TRIGGERS} differs from EventLifecycle's events {_EVENTS}")


class _Holder:
    """The machine's own model: it holds the state while the machine decides."""

    __slots__ = ("state",)

    def __init__(self, state: str) -> None:
        self.state = state


class TransitionTable:
    """Every answer of EventLifecycle, asked once when this module loads, for plain lookups.

    Sending a trigger through python-statemachine builds a machine and runs its engine (about
    0.2 ms); a report needs one answer. The machine stays the one statement of the rules: this
    table holds nothing but what the machine answered. Each transition has at most one guard,
    so a question is (state, trigger, whether the trigger's guard holds); the machine is asked
    it with every guard set to that value.
    """

    def __init__(self, machine: type[StateMachine], guards: tuple[str, ...]) -> None:
        self._targets: dict[tuple[str, str, bool], str | None] = {}
        self._allowed: dict[str, list[str]] = {}
        for state in machine.states:
            triggers = sorted(
                {event.id for transition in state.transitions for event in transition.events}
            )
            self._allowed[state.value] = triggers
            for trigger in triggers:
                for holds in (False, True):
                    self._targets[(state.value, trigger, holds)] = _ask(
                        machine, state.value, trigger, dict.fromkeys(guards, holds)
                    )

    def target(self, state: str, trigger: str, guard_holds: bool) -> str | None:
        """Where ``trigger`` leads from ``state``; None when it may not be fired there."""
        return self._targets.get((state, trigger, guard_holds))

    def allowed(self, state: str) -> list[str]:
        """The triggers with a transition out of ``state`` (guards not weighed), sorted."""
        return self._allowed[state]


def _ask(
    machine: type[StateMachine], state: str, trigger: str, guards: dict[str, Any]
) -> str | None:
    instance = machine(model=_Holder(state), state_field="state")
    try:
        instance.send(trigger, **guards)
    except TransitionNotAllowed:
        return None
    return str(instance.model.state)


GUARDS: Final = (
    "reaches_response",
    "has_proposed_warning",
    "termination_conditions_met",
    "post_event_work_done",
)
TRANSITIONS: Final = TransitionTable(EventLifecycle, GUARDS)


def allowed_triggers(state: str) -> list[str]:
    """The triggers that have a transition out of ``state`` (guards not evaluated)."""
    return TRANSITIONS.allowed(state)


def fire(model: Any, trigger: Trigger, **guard: bool) -> str:
    """Move ``model`` (anything with a ``state`` attribute) by ``trigger``; returns the new state.

    ``guard`` names the trigger's guard and whether it holds (``reaches_response=True``); left
    out, it does not hold. Raises Conflict (409) naming the state and the triggers allowed there
    when the trigger has no transition from the current state, or its guard does not hold.
    """
    if len(guard) > 1 or not set(guard) <= set(GUARDS):
        raise TypeError(f"fire takes at most one of the guards {GUARDS}, got {sorted(guard)}")
    before = model.state or EventLifecycle.monitoring.value
    after = TRANSITIONS.target(before, trigger, all(guard.values()) if guard else False)
    if after is None:
        raise Conflict(
            Said("事件处于“{state}”状态时不能执行“{trigger}”", trigger=trigger, state=before),
            state=before,
            allowed=allowed_triggers(before),
            rule="design § Lifecycle",
        )
    model.state = after
    return after
