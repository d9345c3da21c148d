"""The timeline as a hash chain: what an entry's hash covers, and how a chain is checked.

Every entry stores the SHA-256 of its content and of the entry before it (``prev_hash``; none
for an event's first entry), and the event keeps its last entry's number and hash (its head).
Changing an entry's content, taking one out or putting one in then shows, from the stored rows
alone, as the first entry whose hash or link no longer holds. (Whoever can rewrite every hash
after an edit, the event's head included, can forge a chain; the head is the anchor to compare
with a copy kept elsewhere.)

The content is canonical JSON (sorted keys, no spaces, UTF-8 as is), so that the same entry
hashes the same whichever database stored it and in whatever order JSONB returned its keys.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final, Literal

# The columns of a timeline entry its hash covers, besides the hash before it.
CONTENT: Final = (
    "event_id",
    "event_seq",
    "at",
    "kind",
    "actor_id",
    "actor",
    "clause",
    "summary",
    "data",
)

Fault = Literal["edited", "removed", "inserted"]


def _text(value: uuid.UUID | None) -> str | None:
    return None if value is None else str(value)


def _instant(at: datetime) -> str:
    if at.tzinfo is None:
        raise ValueError("a timeline entry's time must be timezone-aware")
    return at.astimezone(UTC).isoformat()


def canonical(prev_hash: str | None, entry: Mapping[str, Any]) -> bytes:
    """The bytes an entry's hash is taken of: its ``CONTENT`` and ``prev_hash`` as canonical
    JSON (sorted keys, no spaces, non-ASCII as is), times as ISO 8601 in UTC, ids as text."""
    document = {
        "prev_hash": prev_hash,
        "event_id": _text(entry["event_id"]),
        "event_seq": entry["event_seq"],
        "at": _instant(entry["at"]),
        "kind": entry["kind"],
        "actor_id": _text(entry["actor_id"]),
        "actor": entry["actor"],
        "clause": entry["clause"],
        "summary": entry["summary"],
        "data": entry["data"],
    }
    text = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return text.encode("utf-8", "surrogatepass")


def entry_hash(prev_hash: str | None, entry: Mapping[str, Any]) -> str:
    """The SHA-256 (hex) of ``entry`` chained to ``prev_hash``, the hash of the entry before."""
    return hashlib.sha256(canonical(prev_hash, entry)).hexdigest()


@dataclass(frozen=True, slots=True)
class Break:
    """Where an event's chain first fails: what happened and at which entry (``event_seq``)."""

    fault: Fault
    event_seq: int
    detail: str


def first_break(
    entries: Sequence[Mapping[str, Any]], head_seq: int, head_hash: str | None
) -> Break | None:
    """The first fault in one event's chain, or None when it holds.

    ``entries`` are the stored rows (``CONTENT`` with ``prev_hash`` and ``hash``) in
    ``event_seq`` order; ``head_seq`` and ``head_hash`` are what the event says its last entry
    is. An entry whose content no longer gives its hash was edited; a gap in the numbers, or a
    link to a hash no entry has, means entries were removed; a link that skips the entries
    before it, or entries beyond the event's head, were inserted.
    """
    hashes = [entry["hash"] for entry in entries]
    for index, entry in enumerate(entries):
        seq = entry["event_seq"]
        expected = index + 1
        if seq > expected:
            missing = f"#{expected}" if seq == expected + 1 else f"#{expected}–#{seq - 1}"
            return Break("removed", expected, f"{missing} missing before #{seq}")
        if seq < expected:  # only numbers below 1 can come first
            return Break("inserted", seq, f"#{seq} is not a number an entry takes")
        before = hashes[index - 1] if index else None
        if entry["prev_hash"] != before:
            return _broken_link(entries, index, before)
        if entry_hash(entry["prev_hash"], entry) != entry["hash"]:
            return Break("edited", seq, f"#{seq} ({entry['kind']}) no longer matches its hash")
    last = len(entries)
    if last > head_seq:
        beyond = head_seq + 1
        return Break("inserted", beyond, f"#{beyond} lies beyond the event's last entry")
    if last < head_seq:
        missing = f"#{head_seq}" if last + 1 == head_seq else f"#{last + 1}–#{head_seq}"
        return Break("removed", last + 1, f"{missing} missing at the end")
    if (hashes[-1] if entries else None) != head_hash:
        rehashed = f"#{last}'s hash is not the one the event recorded: the chain was rehashed"
        return Break("edited", last, rehashed)
    return None


def _broken_link(entries: Sequence[Mapping[str, Any]], index: int, before: str | None) -> Break:
    """Entry ``index`` does not link to the entry before it: say what was inserted or removed."""
    seq = entries[index]["event_seq"]
    linked = entries[index]["prev_hash"]
    later = next(
        (i for i in range(index + 1, len(entries)) if entries[i]["prev_hash"] == before), None
    )
    if later is not None:
        # An entry further on links to the one before this: this one and those up to it were
        # put in between.
        return Break("inserted", seq, f"#{seq} was put in before #{entries[later]['event_seq']}")
    earlier = [i for i in range(index - 1) if entries[i]["hash"] == linked]
    if earlier or (linked is None and index > 0):
        # It links to an entry further back (or to none, as a first entry does): those between
        # were put in.
        first = earlier[-1] + 1 if earlier else 0
        inserted = entries[first]["event_seq"]
        return Break("inserted", inserted, f"#{inserted} was put in before #{seq}")
    return Break("removed", seq, f"the entry #{seq} follows is missing")
