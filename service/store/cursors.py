"""Opaque cursors for keyset pagination: pages stay stable while new rows arrive."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, Final, TypeVar, TypeVarTuple

from sqlalchemy import Select
from sqlalchemy.orm import InstrumentedAttribute

from service.errors import InvalidInput, Said

# what a cursor the service did not give out is told (service.words)
NOT_OURS: Final = Said("不是本服务给出的游标")
MAX_SEQ: Final = 2**63 - 1  # the largest BIGINT: a larger number would fail in the driver

Ts = TypeVarTuple("Ts")
R = TypeVar("R")


def encode_cursor(*key: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(key, default=str).encode()).decode().rstrip("=")


def decode_cursor(cursor: str, size: int) -> list[Any]:
    """The key a cursor carries; a cursor that is not one of ours is a 422 naming ``cursor``."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        key = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except ValueError as exc:
        raise InvalidInput("cursor", NOT_OURS) from exc
    if not isinstance(key, list) or len(key) != size:
        raise InvalidInput("cursor", NOT_OURS)
    return key


def decode_time_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    """A cursor of ``encode_cursor(time.isoformat(), str(id))``."""
    at, last_id = decode_cursor(cursor, 2)
    if not isinstance(at, str) or not isinstance(last_id, str):
        raise InvalidInput("cursor", NOT_OURS)
    try:
        moment = datetime.fromisoformat(at)
        # Ours carry their zone; a naive or out-of-range time would fail in the UTC column.
        if moment.tzinfo is None:
            raise ValueError("a cursor's time has its zone")
        return moment.astimezone(UTC), uuid.UUID(last_id)
    except (ValueError, OverflowError) as exc:
        raise InvalidInput("cursor", NOT_OURS) from exc


def decode_seq_cursor(cursor: str) -> int:
    """A cursor of ``encode_cursor(seq)``: a sequence number the database can compare."""
    (seq,) = decode_cursor(cursor, 1)
    if not isinstance(seq, int) or isinstance(seq, bool) or not 0 <= seq <= MAX_SEQ:
        raise InvalidInput("cursor", NOT_OURS)
    return seq


def after_time_cursor(
    query: Select[*Ts],
    at: InstrumentedAttribute[datetime],
    key: InstrumentedAttribute[uuid.UUID],
    cursor: str | None,
    limit: int,
) -> Select[*Ts]:
    """``query`` in (``at``, ``key``) order from just after the row ``cursor`` names, one row
    beyond ``limit``: ``time_page`` cuts it there and tells whether a next page exists."""
    if cursor is not None:
        after, last = decode_time_cursor(cursor)
        query = query.where((at > after) | ((at == after) & (key > last)))
    return query.order_by(at, key).limit(limit + 1)


def before_time_cursor(
    query: Select[*Ts],
    at: InstrumentedAttribute[datetime],
    key: InstrumentedAttribute[uuid.UUID],
    cursor: str | None,
    limit: int,
) -> Select[*Ts]:
    """``query`` newest first, in descending (``at``, ``key``) order, from just before the row
    ``cursor`` names, one row beyond ``limit``: ``time_page`` cuts it there. ``at <= …`` is the
    range an index on (…, ``at``, ``key``) seeks to on both backends; the rest of the condition
    only sorts out the rows of the cursor's own time."""
    if cursor is not None:
        before, last = decode_time_cursor(cursor)
        query = query.where(at <= before, (at < before) | (key < last))
    return query.order_by(at.desc(), key.desc()).limit(limit + 1)


def time_page(
    rows: Sequence[R], limit: int, key: Callable[[R], tuple[datetime, uuid.UUID]]
) -> tuple[list[R], str | None]:
    """The page of ``rows`` read by ``after_time_cursor`` (or ``before_time_cursor``), and the
    cursor of the page after it (None on the last); ``key`` gives a row's (time, id)."""
    page = list(rows[:limit])
    if len(rows) <= limit or not page:
        return page, None
    at, last = key(page[-1])
    return page, encode_cursor(at.isoformat(), str(last))
