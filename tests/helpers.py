"""What several test modules share: request bodies, posting, counting, scratch databases, ports.

Test modules import from here, never from one another (nor from conftest).
"""

from __future__ import annotations

import asyncio
import os
import socket
import uuid
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, NamedTuple

import asyncpg
import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from service.flows.context import AppContext

DEFAULT_PG = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
BACKENDS = ["sqlite", "postgres"]


def _pg_admin_dsn() -> str:
    url = make_url(os.environ.get("OUTAGE_TEST_DATABASE_URL", DEFAULT_PG))
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


async def _pg_execute(sql: str) -> None:
    connection = await asyncpg.connect(_pg_admin_dsn(), timeout=5)
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


@contextmanager
def scratch_postgres(prefix: str) -> Iterator[str]:
    """A new, empty PostgreSQL database on the test server, dropped afterwards.

    Skips the test when the server is unreachable, except under CI, where that fails it.
    """
    name = f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    try:
        asyncio.run(_pg_execute(f'CREATE DATABASE "{name}"'))
    except (OSError, asyncpg.PostgresError) as exc:
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is unreachable under CI: {exc}")
        pytest.skip(f"PostgreSQL unreachable: {exc}")
    base = make_url(os.environ.get("OUTAGE_TEST_DATABASE_URL", DEFAULT_PG))
    url = base.set(drivername="postgresql+asyncpg", database=name)
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        asyncio.run(_pg_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


REPO = Path(__file__).resolve().parents[1]
PLAYBOOKS_DIR = REPO / "playbooks"
# The plan itself, beside the checkout (../shared/plan); tests that read it skip without it.
PLAN_FILE = REPO.parent / "shared" / "plan" / "outage-plan-zh.md"

MakeToken = Callable[..., Awaitable[dict[str, str]]]
"""``await make_token("dispatcher", region="330603")`` → Authorization headers (conftest)."""

T0 = datetime(2026, 7, 20, 6, 0, tzinfo=UTC)


def county(region: str, load: Any, lost: Any, **extra: Any) -> dict[str, Any]:
    """A county grid's snapshot: load before the event and load lost, MW."""
    return {"scope": "county", "region": region, "load_mw": load, "load_lost_mw": lost, **extra}


def report(*snapshots: dict[str, Any], minutes: int = 0, **extra: Any) -> dict[str, Any]:
    """A POST /reports body observed ``minutes`` after T0."""
    return {
        "observed_at": (T0 + timedelta(minutes=minutes)).isoformat(),
        "cause": "typhoon",
        "snapshots": list(snapshots),
        **extra,
    }


class Boundary(NamedTuple):
    """One grid's figures at or just beside a plan 1.5 threshold, written as a client writes them.

    ``level`` and ``clause`` are what the plan gives; ``fraction`` is load lost ÷ load when it is
    a threshold exactly (else None).
    """

    scope: str
    region: str
    load_mw: str
    load_lost_mw: str
    level: str | None
    clause: str | None
    fraction: str | None


# Thresholds met exactly, where a computation in binary floating point lands on the wrong side
# (60.4 ÷ 151.0 gives 0.39999999999999997, 21000.78 ÷ 70002.6 less than 0.3), each beside the
# smallest step below it that a report can carry (6 decimal places): the classifier, and the API
# that reads these figures as JSON numbers, must decide both exactly.
EXACT_BOUNDARIES: list[Boundary] = [
    Boundary("county", "330603", "151.0", "60.4", "IV", "1.5 一般(3)", "0.4"),
    Boundary("county", "330603", "151.0", "60.399999", None, None, None),
    # 0.1 + 0.2 MW of 0.75 MW is 40% exactly
    Boundary("county", "330624", "0.75", "0.3", "IV", "1.5 一般(3)", "0.4"),
    Boundary("county", "330624", "0.75", "0.299999", None, None, None),
    Boundary("province", "330000", "70002.6", "21000.78", "I", "1.5 特别重大", "0.3"),
    Boundary("province", "330000", "70002.6", "21000.779999", "II", "1.5 重大(1)", None),
    Boundary("province", "330000", "70002.6", "9100.338", "II", "1.5 重大(1)", "0.13"),
    Boundary("province", "330000", "70002.6", "9100.337999", "III", "1.5 较大(1)", None),
    Boundary("province", "330000", "3000", "390", "II", "1.5 重大(1)", "0.13"),
]


async def post(client: httpx.AsyncClient, headers: dict[str, str], body: dict[str, Any]) -> Any:
    """POST /reports, which must answer 201; its JSON."""
    response = await client.post("/api/v1/reports", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


async def count(context: AppContext, model: Any) -> int:
    """How many rows ``model``'s table holds."""
    async with context.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# design.md "Event lifecycle", written out as the oracle of the lifecycle tests (plan and HTTP):
# (from, trigger, guards, to) for every allowed move; None is a new event.
DESIGN_MOVES: list[tuple[str | None, str, dict[str, bool], str]] = [
    (None, "report", {}, "monitoring"),
    (None, "report", {"reaches_response": True}, "response"),
    (None, "propose_warning", {}, "monitoring"),
    ("monitoring", "propose_warning", {}, "monitoring"),
    # a further warning may be proposed for an event already warned or in response
    ("warning", "propose_warning", {}, "warning"),
    ("response", "propose_warning", {}, "response"),
    ("monitoring", "report", {}, "monitoring"),
    ("monitoring", "report", {"reaches_response": True}, "response"),
    ("warning", "report", {}, "warning"),
    ("warning", "report", {"reaches_response": True}, "response"),
    ("response", "report", {"reaches_response": True}, "response"),
    ("response", "report", {}, "response"),
    ("monitoring", "publish_warning", {"has_proposed_warning": True}, "warning"),
    ("warning", "lift_warning", {}, "monitoring"),
    ("response", "lift_warning", {}, "response"),
    ("monitoring", "start_response", {}, "response"),
    ("warning", "start_response", {}, "response"),
    ("response", "set_level", {}, "response"),
    # not in design.md's table: a higher HQ takes the lead, the level kept (plan 2.2, 5.1)
    ("response", "take_lead", {}, "response"),
    ("response", "terminate", {"termination_conditions_met": True}, "terminated"),
    ("monitoring", "dismiss", {}, "closed"),
    ("terminated", "close", {"post_event_work_done": True}, "closed"),
]
DESIGN_STATES = ["monitoring", "warning", "response", "terminated", "closed"]
DESIGN_ROLES = ["admin", "dispatcher", "commander", "agency", "observer"]
# The "who" column: the one role that fires each trigger.
DESIGN_WHO = {
    "report": "dispatcher",
    "propose_warning": "dispatcher",
    "publish_warning": "commander",
    "lift_warning": "commander",
    "start_response": "commander",
    "set_level": "commander",
    "take_lead": "commander",
    "terminate": "commander",
    "dismiss": "commander",
    "close": "commander",
}


def design_allowed(state: str) -> list[str]:
    """The triggers design.md's table lets out of ``state``, sorted."""
    return sorted({t for start, t, _g, _e in DESIGN_MOVES if (start or "monitoring") == state})


# design.md "Agency codes", the 5.2.3 member units in the plan's order.
MEMBER_UNITS = {
    "publicity": "市委宣传部",
    "development-reform": "市发改委",
    "economy-it": "市经信委",
    "education": "市教育局",
    "public-security": "市公安局",
    "civil-affairs": "市民政局",
    "finance": "市财政局",
    "land-resources": "市国土局",
    "environment": "市环保局",
    "construction": "市建设局",
    "transport": "市交通运输局",
    "water": "市水利局",
    "forestry": "市林业局",
    "health": "市卫生计生委",
    "culture-broadcast": "市文广局",
    "work-safety": "市安监局",
    "power-company": "绍兴电力局",
    "emergency-office": "市应急办",
    "military": "绍兴军分区",
    "armed-police": "武警绍兴市支队",
}
OTHER_UNITS = {
    "grid-dispatch": ("电力调度控制中心", "power"),
    "important-users": ("重要电力用户", "user"),
    "provincial-drc": ("省发改委", "province"),
    "hq-province": ("省应急指挥部", "hq"),
    "hq-city": ("市应急指挥部", "hq"),
    "leading-hq": ("牵头应对的应急指挥部", "symbolic"),
}
