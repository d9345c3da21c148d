"""Each event's part of the board (its card and its summary row) kept per version of the event
and scope of viewers (``service.flows.events.board.EventVersion``), so that a change to one
event draws that event alone: ``EventParts``, one per worker, in ``BoardPages``; and the
events' part of the page drawn for each version of the board, bounded in number and in bytes:
``DrawnPages``."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Final

from service.flows.events.board import EventVersion

# Rendered events' parts of the page kept per worker: one per version and scope seen lately, and
# no more bytes than a few dozen pages of a wall of fifty open events (2.4 MB each) come to.
CACHED_PAGES: Final = 64
CACHED_PAGE_BYTES: Final = 32 * 1024 * 1024
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


class DrawnPages:
    """The events' part of the page drawn lately, by the board's version (its tag), the oldest
    dropped beyond ``limit`` pages or ``most_bytes`` in all; the newest is kept whatever its
    size, so that every viewer of it is answered from memory."""

    def __init__(self, limit: int = CACHED_PAGES, most_bytes: int = CACHED_PAGE_BYTES) -> None:
        self.limit = limit
        self.most_bytes = most_bytes
        self.size = 0  # bytes held
        self._pages: OrderedDict[str, bytes] = OrderedDict()

    def get(self, tag: str) -> bytes | None:
        return self._pages.get(tag)

    def keep(self, tag: str, page: bytes) -> None:
        old = self._pages.pop(tag, None)
        if old is not None:
            self.size -= len(old)
        self._pages[tag] = page
        self.size += len(page)
        while len(self._pages) > 1 and (
            len(self._pages) > self.limit or self.size > self.most_bytes
        ):
            _tag, dropped = self._pages.popitem(last=False)
            self.size -= len(dropped)

    def __len__(self) -> int:
        return len(self._pages)

    def __iter__(self) -> Iterator[str]:
        return iter(self._pages)
