"""The page parameters every list endpoint takes (cursors: service.store.cursors)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query

Limit = Annotated[int, Query(ge=1, le=200, description="page size")]
Cursor = Annotated[str | None, Query(max_length=200, description="`next` of the previous page")]
