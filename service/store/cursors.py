"""Opaque cursors for keyset pagination: pages stay stable while new rows arrive."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import datetime
from typing import Any

from service.errors import InvalidInput


def encode_cursor(*key: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(key, default=str).encode()).decode().rstrip("=")


def decode_cursor(cursor: str, size: int) -> list[Any]:
    """The key a cursor carries; a cursor that is not one of ours is a 422 naming ``cursor``."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        key = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except ValueError as exc:
        raise InvalidInput("cursor", "not a cursor this service gave out") from exc
    if not isinstance(key, list) or len(key) != size:
        raise InvalidInput("cursor", "not a cursor this service gave out")
    return key


def decode_time_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    """A cursor of ``encode_cursor(time.isoformat(), str(id))``."""
    at, last_id = decode_cursor(cursor, 2)
    try:
        return datetime.fromisoformat(at), uuid.UUID(last_id)
    except (TypeError, ValueError) as exc:
        raise InvalidInput("cursor", "not a cursor this service gave out") from exc
