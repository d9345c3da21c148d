"""Each event's part of the board (its card and its summary row) kept per version of the event
and scope of viewers (``service.flows.events.board.EventVersion``), so that a change to one
event draws that event alone: ``EventParts``, one per worker, in ``BoardPages``."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Final

from service.flows.events.board import EventVersion

# Events' parts kept per worker, each for one version and scope: a wall of fifty open events
# seen by a few scopes at once, with room for the parts each change leaves behind.
CACHED_PARTS: Final = 512


@dataclass(frozen=True, slots=True)
class DrawnEvent:
    """One event's part of the board as drawn at one version, in UTF-8: its card and its
    summary row."""

    card: bytes
    summary_row: bytes


class EventParts:
    """The events' parts drawn lately, by version (``EventVersion``: the scope, the event, its
    timeline seq and its count past due), the least lately used dropped beyond ``limit``. The
    scope is in the key, so a part drawn for one scope is never handed to a viewer of another:
    an agency's part holds its own actions only."""

    def __init__(self, limit: int = CACHED_PARTS) -> None:
        self.limit = limit
        self._parts: OrderedDict[EventVersion, DrawnEvent] = OrderedDict()

    def get(self, version: EventVersion) -> DrawnEvent | None:
        part = self._parts.get(version)
        if part is not None:
            self._parts.move_to_end(version)
        return part

    def keep(self, version: EventVersion, part: DrawnEvent) -> None:
        self._parts[version] = part
        self._parts.move_to_end(version)
        while len(self._parts) > self.limit:
            self._parts.popitem(last=False)

    def __len__(self) -> int:
        return len(self._parts)

    def __iter__(self) -> Iterator[EventVersion]:
        return iter(self._parts)
