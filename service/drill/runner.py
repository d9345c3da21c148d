"""Replaying a drill scenario (plan 7.1, 8.1) against a running service, over its HTTP API.

The runner is a client like any other: it holds an admin token, mints a token for each of the
scenario's actors through ``POST /api/v1/tokens`` (named ``drill: …``), plays the steps at their
minutes, and revokes those tokens at the end, however the drill ended. Every report and warning
it sends carries ``drill: true``, so the event is a drill (the service keeps its warnings,
actions, releases and notifications drills too, and pages nobody real).

Time: ``speed`` is scenario minutes per real minute (60: a scenario minute each second), and it
changes only how long the runner waits. The drill event keeps the scenario's clock
(service.drill.clock, design § Drills): the runner moves it on to each step's minute before
playing the step, with an admin token it makes for that alone (``drill: 演练时钟``), so whatever
the speed the service records the scenario's minutes (acknowledgements late against ``due_at``,
the response's duration) and a report is observed at its minute. ``Pace`` is the runner's own
waiting: the wall clock (``RealTime``), or in a test the service's held clock.

The first answer the scenario did not expect (a refusal, or an ``expect`` that does not hold)
stops the drill with ``DrillStopped``, naming the step and giving the service's problem+json. A
refusal for concurrent work (409, 503) is first sent again a few times, as any client should.

Here the drill's tokens and its pace; service.drill.clock keeps its clock, service.drill.player
plays the steps, service.drill.calls sends each request.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final, Protocol

import httpx

from service.drill.calls import DrillStopped, bearer, call
from service.drill.clock import ScenarioClock
from service.drill.player import DrillRun, Player, step_where
from service.flows.admin.token_schemas import DRILL_TOKEN_PREFIX
from service.playbooks.drills import DrillActor, Scenario, Step

OPEN_EVENT_STATES: Final = ("monitoring", "warning", "response")
# The admin token a drill makes to keep its event's clock, and nothing else.
CLOCK_KEEPER: Final = "演练时钟"


# Called after each step with its index, the step and one line saying what the service answered.
Progress = Callable[[int, Step, str], None]


class Pace(Protocol):
    """The runner's sense of time: how far it is, how it waits, what time it is before the drill's
    event (and so its clock) exists."""

    def elapsed(self) -> float:
        """Seconds from an arbitrary origin, never going back."""
        ...

    async def sleep(self, seconds: float) -> None: ...

    def now(self) -> datetime: ...


class RealTime:
    """The wall clock: a drill against a service that runs on the same time."""

    def elapsed(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)

    def now(self) -> datetime:
        return datetime.now(UTC)


async def run_drill(
    scenario: Scenario,
    client: httpx.AsyncClient,
    admin_token: str,
    *,
    speed: float,
    out: Path,
    progress: Progress | None = None,
    pace: Pace | None = None,
) -> DrillRun:
    """Play ``scenario`` against the service ``client`` reaches; the evaluate step's files go
    to ``out``/the event's id."""
    if speed <= 0:
        raise ValueError("speed must be positive")
    pace = pace or RealTime()
    admin = bearer(admin_token)
    tokens: dict[str, tuple[str, dict[str, str]]] = {}
    kept: list[tuple[str, tuple[str, dict[str, str]]]] = []  # the clock's, apart from the actors'
    done = DrillRun()
    try:
        for name, actor in scenario.actors.items():
            tokens[name] = await _mint(client, admin, name, actor)
        actors = {name: headers for name, (_id, headers) in tokens.items()}
        keeper = await _mint(
            client, admin, CLOCK_KEEPER, DrillActor(role="admin", name=CLOCK_KEEPER)
        )
        kept.append((CLOCK_KEEPER, keeper))
        clock = ScenarioClock(client, keeper[1], pace.now)
        player = Player(client, scenario, actors, out, done, clock.now)
        running = await _open_drills(client, admin)
        started = pace.elapsed()
        for index, step in enumerate(scenario.steps):
            where = step_where(index, step)
            wait = started + float(step.at) * 60 / speed - pace.elapsed()
            if wait > 0:
                await pace.sleep(wait)
            await clock.advance(step.at, f"{where}: moving the drill's clock on")
            said = await player.play(index, step)
            if index == 0 and done.event_id in running:
                raise DrillStopped(
                    f"steps[0]: joined the open drill event {done.event_id} (one outage, one "
                    "event: it names the same grids); close or dismiss it, then run again"
                )
            if clock.event_id is None and done.event_id is not None:
                await clock.start(done.event_id, step.at, f"{where}: reading the drill's clock")
            if progress is not None:
                progress(index, step, said)
    finally:
        # However the drill ended; when it failed, that failure is the one to tell.
        unrevoked = await _revoke(client, admin, [*tokens.items(), *kept])
    if unrevoked:
        raise DrillStopped("; ".join(unrevoked))
    return done


async def _revoke(
    client: httpx.AsyncClient, admin: dict[str, str], tokens: list[tuple[str, tuple[str, Any]]]
) -> list[str]:
    """Revoke the drill's tokens, each named by whose it is; what could not be revoked, said."""
    failed: list[str] = []
    for name, (token_id, _headers) in tokens:
        try:
            await call(client, "DELETE", f"/tokens/{token_id}", admin, f"revoking {name}'s token")
        except DrillStopped as exc:
            failed.append(str(exc))
    return failed


async def _open_drills(client: httpx.AsyncClient, admin: dict[str, str]) -> set[str]:
    """The drill events still open: the first step must open an event of its own."""
    found: set[str] = set()
    params = {"drill": "true", "limit": "200"}
    while True:
        page = await call(client, "GET", "/events", admin, "listing drill events", params=params)
        found.update(e["id"] for e in page["items"] if e["state"] in OPEN_EVENT_STATES)
        if not page.get("next"):
            return found
        params = {**params, "cursor": page["next"]}


async def _mint(
    client: httpx.AsyncClient, admin: dict[str, str], name: str, actor: DrillActor
) -> tuple[str, dict[str, str]]:
    body = {
        "role": actor.role,
        "name": DRILL_TOKEN_PREFIX + actor.name,
        "region": actor.region,
        "agency": actor.agency,
    }
    made = await call(client, "POST", "/tokens", admin, f"making {name}'s token", body)
    return str(made["id"]), bearer(str(made["token"]))
