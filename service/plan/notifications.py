"""What the service tells people, and who hears it (design § Notifications): the notice types, the
subscription formats and delivery states, and the rule that decides whether a subscription hears
a notice. Pure: the store and the deliverer apply it.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Final, Literal, get_args

NoticeType = Literal[
    "event.opened",
    "event.level_changed",
    "warning.published",
    "warning.lifted",
    "action.dispatched",
    "action.overdue",
    "action.reminder",
    "response.terminated",
    "event.closed",
    # standing duties, of no event (design § Standing duties)
    "standing.raised",
    "standing.overdue",
    "standing.reminder",
]
NOTICE_TYPES: Final[tuple[NoticeType, ...]] = get_args(NoticeType)

# standard: the Standard Webhooks convention; wecom and dingtalk: those tools' group robots.
Format = Literal["standard", "wecom", "dingtalk"]
FORMATS: Final[tuple[Format, ...]] = get_args(Format)

DeliveryState = Literal["pending", "delivered", "dead"]
DELIVERY_STATES: Final[tuple[DeliveryState, ...]] = get_args(DeliveryState)


def hears(
    *,
    agencies: Collection[str] | None,
    types: Collection[str] | None,
    drills: bool,
    notice_type: str,
    audience: Collection[str] | None,
    drill: bool,
) -> bool:
    """Whether a subscription (``agencies``, ``types``, ``drills``) hears a notice.

    - A drill is heard only by a subscription that asked for drills (``drills``), which hears
      real events as well: a drill never reaches anyone real.
    - ``types`` None hears every type; otherwise only those listed.
    - ``agencies`` None hears every notice. Otherwise the notice's ``audience`` (the agency codes
      it concerns: an action's agency, and for an overdue one the leading HQ and the item's
      ``escalate_to``; for an event-wide notice the agencies with actions in the event and the
      leading HQ) must name one of them. An audience of None is a notice for everyone.
    """
    if drill and not drills:
        return False
    if types is not None and notice_type not in types:
        return False
    if agencies is None or audience is None:
        return True
    return not set(agencies).isdisjoint(audience)
