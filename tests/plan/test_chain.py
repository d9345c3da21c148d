"""The timeline's hash chain as plain data: what a hash covers, and the first fault named."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from service.plan.chain import CONTENT, canonical, entry_hash, first_break

EVENT = uuid.UUID("00000000-0000-4000-8000-000000000001")
ACTOR = uuid.UUID("00000000-0000-4000-8000-000000000002")
T0 = datetime(2026, 7, 20, 6, 0, tzinfo=UTC)


def entry(seq: int, **changes: Any) -> dict[str, Any]:
    return {
        "event_id": EVENT,
        "event_seq": seq,
        "at": T0 + timedelta(minutes=seq),
        "kind": "note",
        "actor_id": ACTOR,
        "actor": "dispatcher:城调@330603",
        "clause": "4",
        "summary": f"第{seq}条",
        "data": {"b": [1, 2.5], "a": "柯桥"},
        **changes,
    }


def chained(count: int) -> list[dict[str, Any]]:
    """``count`` entries, each linked to the one before as timeline.record links them."""
    rows: list[dict[str, Any]] = []
    for seq in range(1, count + 1):
        row = entry(seq)
        row["prev_hash"] = rows[-1]["hash"] if rows else None
        row["hash"] = entry_hash(row["prev_hash"], row)
        rows.append(row)
    return rows


def test_canonical_form_is_sorted_compact_utf8_json_in_utc() -> None:
    shanghai = timezone(timedelta(hours=8))
    row = entry(1, at=datetime(2026, 7, 20, 14, 0, tzinfo=shanghai), clause=None)

    assert canonical(None, row).decode("utf-8") == (
        '{"actor":"dispatcher:城调@330603","actor_id":"00000000-0000-4000-8000-000000000002",'
        '"at":"2026-07-20T06:00:00+00:00","clause":null,"data":{"a":"柯桥","b":[1,2.5]},'
        '"event_id":"00000000-0000-4000-8000-000000000001","event_seq":1,"kind":"note",'
        '"prev_hash":null,"summary":"第1条"}'
    )


def test_hash_is_sha256_of_the_canonical_form_and_covers_every_field() -> None:
    row = entry(1)
    digest = entry_hash("ab" * 32, row)

    assert digest == hashlib.sha256(canonical("ab" * 32, row)).hexdigest()
    assert entry_hash(None, row) != digest
    assert entry_hash("ab" * 32, {**row, "data": {"a": "柯桥", "b": [1, 2.5]}}) == digest
    other = {
        "event_id": ACTOR,
        "event_seq": 2,
        "at": T0,
        "kind": "report",
        "actor_id": None,
        "actor": "system",
        "clause": "5.2",
        "summary": "第2条",
        "data": {"a": "上虞", "b": [1, 2.5]},
    }
    assert set(other) == set(CONTENT)
    for name, value in other.items():
        assert entry_hash("ab" * 32, {**row, name: value}) != digest, name


def test_naive_time_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        entry_hash(None, entry(1, at=datetime(2026, 7, 20, 6, 0)))


def test_a_chain_as_written_holds() -> None:
    rows = chained(4)

    assert first_break(rows, 4, rows[-1]["hash"]) is None
    assert first_break([], 0, None) is None


def test_an_edited_entry_is_named() -> None:
    rows = chained(4)
    rows[1]["summary"] = "改过的"

    found = first_break(rows, 4, rows[-1]["hash"])

    assert found is not None and (found.fault, found.event_seq) == ("edited", 2)


def test_a_removed_entry_is_named_in_the_middle_and_at_the_end() -> None:
    rows = chained(4)

    middle = first_break(rows[:1] + rows[2:], 4, rows[-1]["hash"])
    end = first_break(rows[:3], 4, rows[-1]["hash"])

    assert middle is not None and (middle.fault, middle.event_seq) == ("removed", 2)
    assert end is not None and (end.fault, end.event_seq) == ("removed", 4)
    assert "#4 missing at the end" in end.detail


def test_a_removed_entry_is_named_when_the_rest_were_renumbered() -> None:
    rows = chained(4)
    del rows[1]
    for seq, row in enumerate(rows, start=1):
        row["event_seq"] = seq

    found = first_break(rows, 3, rows[-1]["hash"])

    assert found is not None and (found.fault, found.event_seq) == ("removed", 2)


def test_an_entry_appended_behind_the_events_back_is_named() -> None:
    rows = chained(5)  # a well-formed fifth entry, but the event says it has four

    found = first_break(rows, 4, rows[3]["hash"])

    assert found is not None and (found.fault, found.event_seq) == ("inserted", 5)


@pytest.mark.parametrize("forged", ["well-formed", "bogus"])
def test_an_entry_put_in_between_is_named(forged: str) -> None:
    rows = chained(4)
    extra = entry(3, summary="补记")
    extra["prev_hash"] = rows[1]["hash"] if forged == "well-formed" else None
    extra["hash"] = entry_hash(extra["prev_hash"], extra) if forged == "well-formed" else "0" * 64
    rows.insert(2, extra)
    for seq, row in enumerate(rows, start=1):
        row["event_seq"] = seq

    found = first_break(rows, 5, rows[-1]["hash"])

    assert found is not None and (found.fault, found.event_seq) == ("inserted", 3)


def test_a_rehashed_chain_is_caught_by_the_events_head() -> None:
    rows = chained(3)
    head = rows[-1]["hash"]
    rows[0]["summary"] = "改过的"
    for index, row in enumerate(rows):
        row["prev_hash"] = rows[index - 1]["hash"] if index else None
        row["hash"] = entry_hash(row["prev_hash"], row)

    found = first_break(rows, 3, head)

    assert found is not None and (found.fault, found.event_seq) == ("edited", 3)
