"""The store's fixtures: an empty database of each backend, for the migrations' tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from service.config import Settings
from tests.helpers import BACKEND_PARAMS, scratch_postgres


@pytest.fixture(params=BACKEND_PARAMS)
def empty_settings(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Settings]:
    """Settings for a brand-new, empty database of each backend (a file under the test's tmp
    folder, or a database made on the PostgreSQL server and dropped after)."""
    if request.param == "sqlite":
        yield Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}")
        return
    with scratch_postgres("outage_migrations") as url:
        yield Settings(database_url=url)
