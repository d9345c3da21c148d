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
    # a published warning's CAP update: the response level moved while it stands (plan 3.2.2.1)
    "warning.updated",
    "warning.lifted",
    # a release an HQ approved (plan 5.4): public from then on
    "release.published",
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

# standard: the Standard Webhooks convention; wecom and dingtalk: those tools' group robots;
# cap: a warning's OASIS CAP 1.2 message, signed as standard is.
Format = Literal["standard", "wecom", "dingtalk", "cap"]
FORMATS: Final[tuple[Format, ...]] = get_args(Format)

# Plan 3.2.2.1's green channel (预警信息快速发布绿色通道): the public channels that publish
# warnings to the public at once, by every means and free of charge. A subscription naming one
# is public: it hears only what the public may read.
Channel = Literal["media", "website", "broadcast", "telecom"]
CHANNELS: Final[tuple[Channel, ...]] = get_args(Channel)

# What is public: a published warning, its updates and its lifting (3.2.2.1, 3.2.2.3), and a
# release once an HQ approved it (5.4). Never a duty, a note, a person or a level before a
# warning or a release says it.
PUBLIC_TYPES: Final[tuple[NoticeType, ...]] = (
    "warning.published",
    "warning.updated",
    "warning.lifted",
    "release.published",
)
# What has a CAP form: the messages of a warning's chain (Alert, Update, Cancel). A release is
# no message of that chain: it reaches public channels in the standard format only.
CAP_TYPES: Final[tuple[NoticeType, ...]] = (
    "warning.published",
    "warning.updated",
    "warning.lifted",
)
# The formats a public channel takes: the robots' text is the duty officers' (links to the
# board, duties, units), not the public's.
PUBLIC_FORMATS: Final[tuple[Format, ...]] = ("standard", "cap")


def audible(channel: str | None, fmt: str) -> tuple[NoticeType, ...] | None:
    """The notice types a subscription of ``channel`` and format ``fmt`` can hear at all,
    whatever its ``types`` say (None: every type): CAP hears a warning's chain, a public
    channel what is public."""
    if fmt == "cap":
        return CAP_TYPES
    if channel is not None:
        return PUBLIC_TYPES
    return None


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
    channel: str | None,
    fmt: str,
) -> bool:
    """Whether a subscription (``agencies``, ``types``, ``drills``, ``channel``, ``fmt``) hears a
    notice.

    - A public channel hears only public notices, and CAP only a warning's chain (``audible``):
      whatever its ``types`` say, it never hears a duty, a note or a person.

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
    if (heard := audible(channel, fmt)) is not None and notice_type not in heard:
        return False
    if types is not None and notice_type not in types:
        return False
    if agencies is None or audience is None:
        return True
    return not set(agencies).isdisjoint(audience)
