"""Duties dispatched as actions: the phases they belong to, the moments they go out at and the
states an action goes through.

The one definition of each: the playbook items, the action model's CHECK constraints and the API
schemas derive from ``Phase``, ``Moment`` and ``ActionState``.
"""

from __future__ import annotations

from typing import Final, Literal, get_args

# Plan 3.2.1 (monitoring), 3.2.2 (warning), 4 and 5.2.1 (first response), 2.2–2.5 and 5.2.2–5.4
# (response), 6 (post-event).
Phase = Literal["monitoring", "warning", "first_response", "response", "post_event"]
PHASES: Final[tuple[Phase, ...]] = get_args(Phase)
RESPONSE_PHASES: Final[tuple[Phase, ...]] = ("first_response", "response")
# What a lowered level takes back (its pending duties the new level lacks): the response's own
# phases, and the post-event duties the response started early (plan 6.2, below).
LEVELLED_PHASES: Final[tuple[Phase, ...]] = ("first_response", "response", "post_event")
# What ending the response (plan 5.5) or dismissing the event ends: the open duties of the
# event as an outage. The post-event ones go on (plan 6); warnings end by their lifting (3.2.2.3).
ENDED_PHASES: Final[tuple[Phase, ...]] = ("monitoring", "first_response", "response")

# When a duty is dispatched (design § Dispatch), in the order an event meets them:
#   opened      an event opens, in monitoring or straight into a response (plan 3.2.1)
#   proposed    a warning is proposed (plan 3.2.2.1: the authority judges, users are told)
#   published   a warning is published (plan 3.2.2.1, 3.2.2.2)
#   started     a response starts, rises, is lowered, or its place grows (plan 4, 5.2, 2.2–2.5)
#   terminated  the response ends (plan 6)
Moment = Literal["opened", "proposed", "published", "started", "terminated"]
MOMENTS: Final[tuple[Moment, ...]] = get_args(Moment)
# Each phase's moment, and the other moments an item of it may name (``moment:``): a warning's
# own steps begin at its proposal, and plan 6.2's investigation group is set up "大面积停电事件
# 发生后", when the response starts, not when it ends.
PHASE_MOMENT: Final[dict[Phase, Moment]] = {
    "monitoring": "opened",
    "warning": "published",
    "first_response": "started",
    "response": "started",
    "post_event": "terminated",
}
OTHER_MOMENTS: Final[dict[Phase, tuple[Moment, ...]]] = {
    "warning": ("proposed",),
    "post_event": ("started",),
}
# Moments that come before any level is known: their items apply at every level.
UNLEVELLED_MOMENTS: Final[tuple[Moment, ...]] = ("opened", "proposed", "published")

# design § Actions: pending → acknowledged → done, or cancelled with a reason; or superseded,
# when the event moves to a level (or grade) where the job the duty did is another item's, or
# nobody's (``job:`` in the checklists, design § Dispatch): no longer open, due or chased.
ActionState = Literal["pending", "acknowledged", "done", "cancelled", "superseded"]
ACTION_STATES: Final[tuple[ActionState, ...]] = get_args(ActionState)
OPEN_STATES: Final[tuple[ActionState, ...]] = ("pending", "acknowledged")
# The unit holding a duty moves it forward only: the step it reports, the states the step moves
# from, and the word for what happened (a repeat that brings only a new note is "noted"). The
# same for an event's actions and the standing tasks (design § Standing duties).
Step = Literal["acknowledged", "done"]
Progress = Literal["acknowledged", "completed", "noted"]
STEPS: Final[dict[Step, tuple[tuple[ActionState, ...], Progress]]] = {
    "acknowledged": (("pending",), "acknowledged"),
    "done": (("pending", "acknowledged"), "completed"),
}
# Which open states are overdue past ``due_at`` depends on what it asks for, an acknowledgement
# or the completion: service.plan.deadlines (design § Deadlines).
