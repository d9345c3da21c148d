"""What an event's timeline records: the kinds of entry.

The one definition of the kinds: ``service.store.timeline.record`` takes a ``TimelineKind`` (so
mypy checks every writer's word), the ``timeline.kind`` CHECK constraint is derived from
``TIMELINE_KINDS``, and what each kind is called, and each entry's sentence, is said by
``service.words.timeline`` (the board, the evaluation report of plan 6.1, the messages).

A kind once written stays a kind: the timeline is append-only and hash-chained
(``service.plan.chain``), so a stored kind is never rewritten, and removing a kind from here
would make the CHECK refuse the database's own rows on the next migration.
"""

from __future__ import annotations

from typing import Final, Literal, get_args

# In the order of an event's course.
TimelineKind = Literal[
    "event_opened",
    "report",
    "leading_hq_changed",
    "warning_proposed",
    "warning_published",
    "warning_lifted",
    "response_started",
    "response_raised",
    "response_lowered",
    "report_run_started",
    "actions_dispatched",
    "actions_cancelled",
    "actions_handed_over",
    "actions_superseded",
    "action_acknowledged",
    "action_noted",
    "action_approved",
    "action_completed",
    "action_cancelled",
    "action_overdue",
    "action_reminder",
    "release_proposed",
    "release_published",
    "release_rejected",
    "requisition_recorded",
    "requisition_returned",
    "attestation",
    "attestation_withdrawn",
    "attestations_voided",
    "transition_refused",
    "response_terminated",
    "event_dismissed",
    "event_closed",
]
TIMELINE_KINDS: Final[tuple[TimelineKind, ...]] = get_args(TimelineKind)
