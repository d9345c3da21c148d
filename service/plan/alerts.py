"""The messages a warning sends the public (plan 3.2.2.1 预警信息发布系统), as CAP 1.2 sees them.

A warning is proposed, published, changes with the event's level while it stands, and is
lifted (3.2.2.3). Each of those moments is one CAP message with an identifier of its own: CAP
1.2 says an identifier is unique to one message, and a receiver that drops repeats would drop a
cancellation that reused its alert's identifier. The messages are derived from the warning's
moments, never stored: the identifier is a UUID 5 of the warning's id and the moment, ``sent``
the moment's time, so asking again gives the same messages, byte for byte.

The chain: the publication is the ``Alert``; each change of the response level while the
warning stands is an ``Update``; the lifting is the ``Cancel``. An update or cancellation names
every message of the chain before it in ``references``, the one just before included
(design § Warnings), so that receivers that keep only some messages still find the chain's
start. A proposal is a draft of its own (``Draft``; ``Exercise`` in a drill), not part of the
public chain: the public never received it.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final, Literal

from service.plan.levels import Level

Severity = Literal["Extreme", "Severe", "Moderate", "Minor", "Unknown"]
Status = Literal["Actual", "Exercise", "Draft"]
MsgType = Literal["Alert", "Update", "Cancel"]

# Plan 1.5's four levels onto CAP's four severities, in order: 特别重大 is CAP's "extraordinary
# threat", 一般 its "minimal to no known threat" beyond the outage itself. A warning before any
# level is Unknown: plan 3.2.2 grades no warning, and a guess (Moderate) would rank a forecast
# above a declared level IV event.
SEVERITY: Final[dict[Level | None, Severity]] = {
    "I": "Extreme",
    "II": "Severe",
    "III": "Moderate",
    "IV": "Minor",
    None: "Unknown",
}


@dataclass(frozen=True, slots=True)
class LevelAt:
    """The response level from ``at`` on; ``seq`` the timeline entry that set it."""

    level: Level | None
    at: datetime
    seq: int


@dataclass(frozen=True, slots=True)
class WarningMoments:
    """What a warning's messages are derived from."""

    warning_id: uuid.UUID
    drill: bool
    proposed_at: datetime
    published_at: datetime | None
    lifted_at: datetime | None


@dataclass(frozen=True, slots=True)
class AlertMessage:
    """One CAP message of a warning: ``moment`` is "proposed", "published", "level-<seq>" or
    "lifted"; ``level`` the response level when it was sent; ``references`` the earlier
    messages of its chain, oldest first."""

    moment: str
    identifier: str
    sent: datetime
    status: Status
    msg_type: MsgType
    level: Level | None
    references: tuple[AlertMessage, ...] = ()

    @property
    def severity(self) -> Severity:
        return SEVERITY[self.level]


def onset(message: AlertMessage, given: datetime | None) -> datetime:
    """When the outage the message warns of begins (CAP ``onset``): the warning's own ``onset``
    when its proposer gave one, else the publication (the chain's ``Alert``; a draft's own
    time), since an outage worth a warning is under way or imminent once published."""
    if given is not None:
        return given
    chain = (*message.references, message)
    return next((m for m in chain if m.moment == "published"), message).sent


def expires(message: AlertMessage, given: datetime | None, lifetime: timedelta) -> datetime:
    """Until when a receiver keeps the message (CAP ``expires``): the warning's own ``expires``
    while that is still ahead of the message, else the message's time plus ``lifetime``. So each
    ``Update`` renews a warning that gave none, and a receiver that misses the ``Cancel`` drops
    the alert in time. A cancellation is kept ``lifetime`` from its own time, for receivers to
    show the all clear."""
    if message.msg_type != "Cancel" and given is not None and given > message.sent:
        return given
    return message.sent + lifetime


def identifier(warning_id: uuid.UUID, moment: str) -> str:
    """The message's identifier: ``urn:uuid:`` and a UUID 5 of the warning and the moment (no
    spaces, commas, ``<`` or ``&``, as CAP 1.2 asks)."""
    return f"urn:uuid:{uuid.uuid5(warning_id, moment)}"


def level_at(levels: Sequence[LevelAt], moment: datetime) -> Level | None:
    """The response level at ``moment``: the last one set at or before it."""
    current: Level | None = None
    for change in sorted(levels, key=lambda c: (c.at, c.seq)):
        if change.at > moment:
            break
        current = change.level
    return current


def warning_messages(warning: WarningMoments, levels: Sequence[LevelAt]) -> list[AlertMessage]:
    """Every message the warning has sent so far, oldest first (the last is the one to serve).

    ``levels`` are the event's response levels as they were set, oldest first.
    """

    public: Status = "Exercise" if warning.drill else "Actual"
    chain: list[AlertMessage] = []

    def message(
        moment: str, sent: datetime, msg_type: MsgType, status: Status = public
    ) -> AlertMessage:
        return AlertMessage(
            moment=moment,
            identifier=identifier(warning.warning_id, moment),
            sent=sent,
            status=status,
            msg_type=msg_type,
            level=level_at(levels, sent),
            references=tuple(chain),
        )

    draft = message(
        "proposed", warning.proposed_at, "Alert", "Exercise" if warning.drill else "Draft"
    )
    if warning.published_at is None:
        return [draft]
    chain.append(message("published", warning.published_at, "Alert"))
    for change in sorted(levels, key=lambda c: (c.at, c.seq)):
        standing = change.at > warning.published_at and (
            warning.lifted_at is None or change.at < warning.lifted_at
        )
        if standing and level_at(levels, change.at) != chain[-1].level:
            chain.append(message(f"level-{change.seq}", change.at, "Update"))
    if warning.lifted_at is not None:
        chain.append(message("lifted", warning.lifted_at, "Cancel"))
    return [draft, *chain]
