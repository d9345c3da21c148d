"""What an agency sees of an event's timeline (design § Visibility).

The event-level entries (state, level, leading HQ, warnings, termination) whole; the entries
about its own actions; never another agency's actions, notes or keys. An action is the agency's
when it holds it now, as ``GET /events/{id}/actions`` shows it: a pending duty handed over to
another HQ (plan 2.2) leaves the old holder's view with the rest of that action. One exception:
the receiving unit of a plan 4 report sees the report it received (design § Reporting chain): the
completion of the link its own link follows, and the notes on it, when another unit holds that
link (service.plan.addressees.reports_received).

Entries about several actions at once (a dispatch, a cancellation by level or termination, a
hand-over) list the keys of many agencies: the agency sees its own keys only, with a summary
counting those, and does not see the entry when none of them is its own. Every other kind is
hidden (attestations and refused transitions: the termination check is not an agency's to read,
and a refused close lists every agency's open actions), and so is any kind added later until it
is named here.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Final

from service.flows.events.schemas import TimelineRead
from service.plan.timeline import TimelineKind

# Shown whole: what happened to the event itself.
EVENT_KINDS: Final[frozenset[TimelineKind]] = frozenset(
    {
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
        "response_terminated",
        "event_dismissed",
        "event_closed",
        "release_published",
    }
)
# About one action, named by ``data.action_id``: shown when the action is the agency's.
ACTION_KINDS: Final[frozenset[TimelineKind]] = frozenset(
    {
        "action_acknowledged",
        "action_noted",
        "action_approved",
        "action_completed",
        "action_cancelled",
        "action_overdue",
        "action_reminder",
    }
)
# About several actions, named by ``data.keys``: shown cut down to the agency's keys, with a
# summary that counts only those.
BATCH_SUMMARIES: Final[dict[TimelineKind, str]] = {
    "actions_dispatched": "{count} action(s) of {agency} dispatched",
    "actions_cancelled": "{count} action(s) of {agency} cancelled: {reason}",
    "actions_handed_over": "{count} pending duty(ies) of the leading HQ handed to {agency}",
    "actions_superseded": "{count} open action(s) of {agency} superseded",
}
# Their data keyed by action key besides ``keys``: cut down to the agency's keys as well.
BY_KEY: Final[tuple[str, ...]] = ("held", "replaced_by")
AGENCY_KINDS: Final[frozenset[TimelineKind]] = (
    EVENT_KINDS | ACTION_KINDS | frozenset(BATCH_SUMMARIES)
)
# About a report another unit sent the agency (plan 4): the report itself and notes on it.
RECEIVED_KINDS: Final[frozenset[TimelineKind]] = frozenset({"action_completed", "action_noted"})


def as_agency_sees(
    entry: TimelineRead,
    agency: str,
    action_ids: Collection[str],
    keys: Collection[str],
    received: Collection[str] = (),
) -> TimelineRead | None:
    """``entry`` as ``agency`` sees it, or None when it does not see it at all.

    ``action_ids`` and ``keys`` are the ids (as strings) and keys of the agency's actions on
    the entry's event; ``received`` the ids of the report links whose report it received.
    """
    if entry.kind in EVENT_KINDS:
        return entry
    if entry.kind in ACTION_KINDS:
        action_id = entry.data.get("action_id")
        if action_id in action_ids or (entry.kind in RECEIVED_KINDS and action_id in received):
            return entry
        return None
    template = BATCH_SUMMARIES.get(entry.kind)
    if template is None:
        return None
    own = [key for key in entry.data.get("keys") or () if key in keys]
    if not own:
        return None
    summary = template.format(
        count=len(own),
        agency=entry.data.get("agency") or agency,
        reason=entry.data.get("reason") or "",
    )
    # The entry's own list of the agencies it reached names the others: the viewer sees itself.
    data = {**entry.data, "keys": own} | (
        {"agencies": [agency]} if "agencies" in entry.data else {}
    )
    for field in BY_KEY:
        if isinstance(by_key := entry.data.get(field), dict):
            data[field] = {key: by_key[key] for key in own if key in by_key}
    if isinstance(held := data.get("held"), dict):
        data["held"] = {key: [agency] for key in held}
    return entry.model_copy(update={"summary": summary, "data": data})
