"""Duties dispatched as actions: the phases they belong to and the states an action goes through.

The one definition of both: the playbook items, the action model's CHECK constraints and the API
schemas derive from ``Phase`` and ``ActionState``.
"""

from __future__ import annotations

from typing import Final, Literal, get_args

# Plan 3.2.2.2 (warning), 4 and 5.2.1 (first response), 5.2.2–5.4 (response), 6 (post-event).
Phase = Literal["warning", "first_response", "response", "post_event"]
PHASES: Final[tuple[Phase, ...]] = get_args(Phase)
RESPONSE_PHASES: Final[tuple[Phase, ...]] = ("first_response", "response")

# design.md: pending → acknowledged → done, or cancelled with a reason.
ActionState = Literal["pending", "acknowledged", "done", "cancelled"]
ACTION_STATES: Final[tuple[ActionState, ...]] = get_args(ActionState)
OPEN_STATES: Final[tuple[ActionState, ...]] = ("pending", "acknowledged")
