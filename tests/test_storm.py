"""Issue 9's typhoon: everyone works one event at once, against the service as it ships.

The service runs as a subprocess (``db upgrade``, then ``serve``): on PostgreSQL with two
workers, on SQLite with one, the escalation job every half second. One event opens with a warning
the city HQ publishes, then a level-IV report; for ``STORM_SECONDS`` at once:

* dispatchers of three counties and of the city report on it, at levels from none to II;
* the city and the province commanders set its level up and down (IV, III, II);
* four agencies poll their actions and acknowledge and complete them;
* the city HQ lifts the event's warning, and proposes and tries to publish further ones (409:
  the event is in response); on a second event it proposes, publishes and lifts warnings in turn;
* the escalation job runs in the server; so that it has work, the test's "clock" moves a few
  open actions past their due time every half second (the shortest due time in the playbooks is
  15 minutes), one row per statement so that the clock itself never holds a lock while waiting.

Every response is recorded; afterwards (design § Concurrency, design § One outage, one event, and
the issue's list): no 5xx but a 503 carrying ``Retry-After``, and such refusals rare (< 1%); every
report answered 201 is listed under its event; every action key once per event; the event's
``peak_level`` the highest level a 201 report reached; each event's timeline numbered 1, 2, 3 …
without gaps (``seq`` as the event's timeline shows it), its ``at`` never decreasing; no failed
escalation run in the server's log, and no action escalated twice for one due time. A failure lists
everything that broke at once, with the statuses by endpoint and the exceptions the server logged.
Separately: concurrent first reports for one county open exactly one event.
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from contextlib import ExitStack, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, update

from models import Action
from service.config import Settings
from service.flows.actions.schemas import owing
from service.plan.duties import OPEN_STATES
from service.plan.levels import Level, max_level
from service.store.engine import make_engine
from tests.helpers import (
    Service,
    cli_tokens,
    county,
    every_item,
    logged_exceptions,
    report,
    scratch_postgres,
    serve,
    service_env,
    timeline_faults,
)

# One worker runs the module (make test: --dist loadgroup), so its servers start once.
pytestmark = [pytest.mark.process, pytest.mark.xdist_group("storm")]

STORM_SECONDS = 8.0
ESCALATION_SECONDS = "0.5"
CLOCK_SECONDS = 0.5
# design § Concurrency: a conflict between transactions may be answered 409/503 with Retry-After;
# under this storm such refusals must stay rare.
MAX_REFUSED_SHARE = 0.01

TOKENS = {
    "dispatcher-330603": ["--role", "dispatcher", "--region", "330603"],
    "dispatcher-330604": ["--role", "dispatcher", "--region", "330604"],
    "dispatcher-330681": ["--role", "dispatcher", "--region", "330681"],
    "dispatcher-330600": ["--role", "dispatcher", "--region", "330600"],
    "commander-330600": ["--role", "commander", "--region", "330600"],
    "commander-330000": ["--role", "commander", "--region", "330000"],
    "power-company": ["--role", "agency", "--agency", "power-company"],
    "public-security": ["--role", "agency", "--agency", "public-security"],
    "grid-dispatch": ["--role", "agency", "--agency", "grid-dispatch"],
    "economy-it": ["--role", "agency", "--agency", "economy-it"],
}
AGENCIES = ["power-company", "public-security", "grid-dispatch", "economy-it"]
# Load lost of 200 MW county grids: none, IV (40–60%), III (≥ 60%); of the 3000 MW city grid:
# none, IV (20–40%), III (40–60%), II (≥ 60%) (plan 1.5, playbooks/classification.yaml).
COUNTY_LOST = [40, 90, 130]
CITY_LOST = [300, 750, 1350, 1950]
# The second event's warning area: grids no report of the storm names, so that a proposal
# without event_id opens an event of its own (design § One outage, one event).
WARNED_AREA = ["330624", "330683"]
FIRST_REPORTS = 30

# What each request may answer besides a contention refusal (409/503 with Retry-After).
ALLOWED: dict[str, set[int]] = {
    "POST /warnings": {201},
    "POST /reports": {201},
    "POST /events/{id}/level": {200, 403, 409},
    "GET /agencies/{code}/actions": {200, 304},
    "POST /actions/{id}/ack": {200, 409},
    "POST /actions/{id}/complete": {200, 409},
    "POST /events/{id}/warnings": {201},
    "POST /warnings/{id}/publish": {200, 403, 409},
    "POST /warnings/{id}/lift": {200, 403, 409},
}


@dataclass(frozen=True)
class Storm:
    service: Service
    database_url: str
    tokens: dict[str, dict[str, str]]


@pytest.fixture(
    scope="module",
    params=[pytest.param(("postgres", 2), marks=pytest.mark.postgres), ("sqlite", 1)],
    ids=["postgres-2-workers", "sqlite-1-worker"],
)
def storm(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Storm]:
    backend, workers = request.param
    work = tmp_path_factory.mktemp(f"storm-{backend}")
    with ExitStack() as stack:
        if backend == "postgres":
            url = stack.enter_context(scratch_postgres("outage_storm"))
        else:
            url = f"sqlite+aiosqlite:///{work / 'storm.db'}"
        env = service_env(url, work / "var", escalation_interval_seconds=ESCALATION_SECONDS)
        service = stack.enter_context(serve(env, workers, work / "serve.log"))
        yield Storm(service, url, cli_tokens(env, TOKENS))


@dataclass(frozen=True)
class Exchange:
    """One request of the storm and what it got: ``status`` 0 when no answer came, with the
    client's exception in ``failure``."""

    kind: str
    status: int
    retry_after: str | None
    response: httpx.Response | None
    failure: str | None = None

    @property
    def refused_for_contention(self) -> bool:
        return self.status in (409, 503) and self.retry_after is not None


@dataclass
class Recorder:
    client: httpx.AsyncClient
    exchanges: list[Exchange] = field(default_factory=list)

    async def __call__(
        self,
        kind: str,
        method: str,
        path: str,
        headers: dict[str, str],
        body: dict[str, Any] | None = None,
        params: dict[str, str] | None = None,
    ) -> httpx.Response | None:
        try:
            answer = await self.client.request(
                method, path, json=body, headers=headers, params=params
            )
        except httpx.TransportError as exc:
            self.exchanges.append(Exchange(kind, 0, None, None, f"{type(exc).__name__}: {exc}"))
            return None
        self.exchanges.append(
            Exchange(kind, answer.status_code, answer.headers.get("retry-after"), answer)
        )
        return answer


def status_faults(exchanges: list[Exchange]) -> list[str]:
    """5xx (a 503 only with Retry-After), statuses a request may not answer, and contention
    refusals beyond ``MAX_REFUSED_SHARE``, counted by endpoint."""
    faults: list[str] = []
    failed: dict[str, Counter[int]] = {}
    unexpected: dict[str, Counter[int]] = {}
    totals = Counter(x.kind for x in exchanges)
    for x in exchanges:
        if x.refused_for_contention:
            continue
        if x.status >= 500 or x.status == 0:
            failed.setdefault(x.kind, Counter())[x.status] += 1
        elif x.status not in ALLOWED[x.kind]:
            unexpected.setdefault(x.kind, Counter())[x.status] += 1
    for kind, statuses in sorted(failed.items()):
        faults.append(
            f"5xx or no answer: {kind}: {sum(statuses.values())} of {totals[kind]} "
            f"({_counts(statuses)}; 0 = no answer, a 503 counts only without Retry-After)"
        )
    unanswered = Counter(x.failure for x in exchanges if x.failure)
    if unanswered:
        faults.append(f"no answer: {dict(unanswered)}")
    for kind, statuses in sorted(unexpected.items()):
        faults.append(f"unexpected status: {kind}: {_counts(statuses)} of {totals[kind]}")
    refused = [x for x in exchanges if x.refused_for_contention]
    if len(refused) >= MAX_REFUSED_SHARE * len(exchanges):
        by_kind = Counter(x.kind for x in refused)
        faults.append(
            f"{len(refused)} of {len(exchanges)} requests refused for contention (409/503 with "
            f"Retry-After), not < {MAX_REFUSED_SHARE:.0%}: {dict(by_kind)}"
        )
    return faults


def _counts(statuses: Counter[int]) -> str:
    return ", ".join(f"{status}×{n}" for status, n in sorted(statuses.items()))


def statuses_by_kind(exchanges: list[Exchange]) -> str:
    kinds: dict[str, Counter[int]] = {}
    for x in exchanges:
        kinds.setdefault(x.kind, Counter())[x.status] += 1
    return "\n".join(f"  {kind}: {_counts(s)}" for kind, s in sorted(kinds.items()))


async def _answer(
    record: Recorder, kind: str, method: str, path: str, headers: dict[str, str], **kw: Any
) -> dict[str, Any]:
    """A setup request, which must succeed; its JSON."""
    answer = await record(kind, method, path, headers, **kw)
    assert answer is not None and answer.is_success, (kind, answer and answer.text)
    body: dict[str, Any] = answer.json()
    return body


async def test_storm_on_one_event(storm: Storm) -> None:
    tokens = storm.tokens
    # Idle connections are dropped before uvicorn's keep-alive timeout (5 s) closes them, so
    # that a request without answer (status 0) is the server's doing: uvicorn closes the
    # connection of a request that raised, and one sent on it then finds it closed.
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64, keepalive_expiry=2)
    async with httpx.AsyncClient(base_url=storm.service.url, timeout=30, limits=limits) as client:
        record = Recorder(client)
        city = tokens["commander-330600"]
        proposer = tokens["dispatcher-330600"]
        # The typhoon is forecast: a warning opens the event and the city HQ publishes it; then
        # 柯桥区 loses 46% (level IV) and the response starts.
        warned = await _answer(
            record,
            "POST /warnings",
            "POST",
            "/api/v1/warnings",
            proposer,
            body=_warning(["330603", "330604"], "台风登陆"),
        )
        event_id = warned["event_id"]
        await _answer(
            record,
            "POST /warnings/{id}/publish",
            "POST",
            f"/api/v1/warnings/{warned['id']}/publish",
            city,
            body={},
        )
        first = await _answer(
            record,
            "POST /reports",
            "POST",
            "/api/v1/reports",
            tokens["dispatcher-330603"],
            body=report(county("330603", 151, 70), event_id=event_id),
        )
        assert (first["level"], first["state"]) == ("IV", "response"), first
        other = await _answer(
            record,
            "POST /warnings",
            "POST",
            "/api/v1/warnings",
            proposer,
            body=_warning(WARNED_AREA, "台风南移"),
        )
        assert other["event_id"] != event_id
        events = [event_id, other["event_id"]]

        deadline = time.monotonic() + STORM_SECONDS
        loops = _storm_loops(record, tokens, warned, other, deadline)
        stop_clock = asyncio.Event()
        clock = asyncio.create_task(_clock(storm.database_url, events, stop_clock))
        try:
            await asyncio.gather(*(_repeat(loop, deadline) for loop in loops))
        finally:
            stop_clock.set()
            backdated = await clock
        await asyncio.sleep(2 * float(ESCALATION_SECONDS))  # the job's last run ends

        faults = status_faults(record.exchanges)
        faults += await _stored_faults(client, storm, record.exchanges, events, backdated)

    log = storm.service.log_text()
    failed_runs = log.count("raised an exception")
    if failed_runs:
        faults.append(f"the escalation job failed {failed_runs} time(s) (server log)")
    assert not faults, (
        "\n".join(faults)
        + f"\n\n{len(record.exchanges)} requests in {STORM_SECONDS:.0f} s; statuses:\n"
        + statuses_by_kind(record.exchanges)
        + f"\nexceptions in the server log: {dict(logged_exceptions(log)) or 'none'}"
    )


def _warning(area: list[str], headline: str) -> dict[str, Any]:
    return {"area": area, "headline": headline, "description": "风暴测试"}


async def _repeat(step: Callable[[int], Awaitable[None]], deadline: float) -> None:
    turn = 0
    while time.monotonic() < deadline:
        await step(turn)
        turn += 1


def _storm_loops(
    record: Recorder,
    tokens: dict[str, dict[str, str]],
    published: dict[str, Any],
    other: dict[str, Any],
    deadline: float,
) -> list[Callable[[int], Awaitable[None]]]:
    """One coroutine step per client of the storm, each repeated until the deadline:
    ``published`` is the storm event's warning, ``other`` the second event's."""
    event_id = published["event_id"]
    city, province = tokens["commander-330600"], tokens["commander-330000"]
    proposer = tokens["dispatcher-330600"]
    minutes = iter(range(1, 1_000_000))  # observed_at moves on with every report

    def reporter(region: str) -> Callable[[int], Awaitable[None]]:
        headers = tokens[f"dispatcher-{region}"]
        offset = random.randrange(4)

        async def step(turn: int) -> None:
            if region == "330600":
                lost = CITY_LOST[(turn + offset) % len(CITY_LOST)]
                snapshot = {
                    "scope": "city",
                    "region": region,
                    "load_mw": 3000,
                    "load_lost_mw": lost,
                }
            else:
                snapshot = county(region, 200, COUNTY_LOST[(turn + offset) % len(COUNTY_LOST)])
            body = report(snapshot, minutes=next(minutes), event_id=event_id)
            await record("POST /reports", "POST", "/api/v1/reports", headers, body=body)

        return step

    def commander(headers: dict[str, str], levels: list[Level]) -> Callable[[int], Awaitable[None]]:
        async def step(turn: int) -> None:
            level = levels[turn % len(levels)]
            body = {"level": level, "reason": f"风暴测试：调整为{level}级"}
            path = f"/api/v1/events/{event_id}/level"
            await record("POST /events/{id}/level", "POST", path, headers, body=body)

        return step

    def agency(code: str) -> Callable[[int], Awaitable[None]]:
        headers = tokens[code]
        events = [event_id, other["event_id"]]

        async def step(turn: int) -> None:
            polled = await record(
                "GET /agencies/{code}/actions",
                "GET",
                f"/api/v1/agencies/{code}/actions",
                headers,
                params={"event_id": events[turn % 2]},
            )
            open_ = [
                a
                for a in (polled.json()["items"] if polled and polled.status_code == 200 else [])
                if a["state"] in OPEN_STATES
            ]
            if not open_:
                await asyncio.sleep(0.05)
                return
            action = random.choice(open_)
            verb = "ack" if action["state"] == "pending" else "complete"
            path = f"/api/v1/actions/{action['id']}/{verb}"
            body = {"note": f"{code} {verb}"}
            await record(f"POST /actions/{{id}}/{verb}", "POST", path, headers, body=body)

        return step

    warning = {"id": other["id"], "state": "proposed"}

    async def warn_other(_turn: int) -> None:
        """Publish, lift, propose again: the second event's warnings in turn."""
        if warning["state"] == "lifted":
            answer = await record(
                "POST /events/{id}/warnings",
                "POST",
                f"/api/v1/events/{other['event_id']}/warnings",
                proposer,
                body=_warning(WARNED_AREA, "台风仍在南移"),
            )
            if answer is not None and answer.status_code == 201:
                warning.update(id=answer.json()["id"], state="proposed")
            return
        verb = "publish" if warning["state"] == "proposed" else "lift"
        path = f"/api/v1/warnings/{warning['id']}/{verb}"
        answer = await record(f"POST /warnings/{{id}}/{verb}", "POST", path, city, body={})
        if answer is not None and answer.status_code == 200:
            warning["state"] = answer.json()["state"]

    lifted = False

    async def warn_storm(_turn: int) -> None:
        """Halfway through, lift the storm event's published warning (its warning actions are
        cancelled); before and after, propose further warnings and try to publish them (409:
        the event is in response)."""
        nonlocal lifted
        await asyncio.sleep(0.1)
        if not lifted and time.monotonic() > deadline - STORM_SECONDS / 2:
            lifted = True
            path = f"/api/v1/warnings/{published['id']}/lift"
            await record("POST /warnings/{id}/lift", "POST", path, city, body={})
            return
        proposed = await record(
            "POST /events/{id}/warnings",
            "POST",
            f"/api/v1/events/{event_id}/warnings",
            proposer,
            body=_warning(["330603"], "台风加强"),
        )
        if proposed is None or proposed.status_code != 201:
            return
        path = f"/api/v1/warnings/{proposed.json()['id']}/publish"
        await record("POST /warnings/{id}/publish", "POST", path, city, body={})

    return [
        reporter("330603"),
        reporter("330604"),
        reporter("330681"),
        reporter("330600"),
        commander(city, ["III", "IV", "II"]),
        commander(province, ["II", "III", "IV", "III"]),
        *(agency(code) for code in AGENCIES),
        warn_other,
        warn_storm,
    ]


async def _clock(database_url: str, events: list[str], stop: asyncio.Event) -> int:
    """Until ``stop``: every ``CLOCK_SECONDS`` move up to three unescalated actions of ``events``
    that still owe what their due time asks for a minute past it, as if the clock had run on;
    how many it moved.

    Each row is its own transaction (one row lock, taken while holding none), so the clock
    cannot take part in a deadlock: any the storm shows are the service's own.
    """
    engine = make_engine(Settings(database_url=database_url))  # SQLite: the busy timeout
    ids = [uuid.UUID(e) for e in events]
    moved = 0
    try:
        while not stop.is_set():
            now = datetime.now(UTC)
            still_open = (
                owing(),
                Action.escalated_at.is_(None),
                Action.due_at > now,
            )
            async with engine.begin() as connection:
                due = list(
                    await connection.scalars(
                        select(Action.id).where(Action.event_id.in_(ids), *still_open).limit(3)
                    )
                )
            for action_id in due:
                async with engine.begin() as connection:
                    moved += (
                        await connection.execute(
                            update(Action)
                            .where(Action.id == action_id, *still_open)
                            .values(due_at=now - timedelta(minutes=1))
                        )
                    ).rowcount
            with suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), CLOCK_SECONDS)
    finally:
        await engine.dispose()
    return moved


async def _stored_faults(
    client: httpx.AsyncClient,
    storm: Storm,
    exchanges: list[Exchange],
    events: list[str],
    backdated: int,
) -> list[str]:
    """What the database holds after the storm, against what the storm was told."""
    faults: list[str] = []
    reader = storm.tokens["dispatcher-330600"]
    event_id = events[0]
    accepted = [
        x.response.json()
        for x in exchanges
        if x.kind == "POST /reports" and x.status == 201 and x.response is not None
    ]
    elsewhere = [a["report_id"] for a in accepted if a["event_id"] != event_id]
    if elsewhere:
        faults.append(f"{len(elsewhere)} reports naming the event were put in another event")
    listed = {
        r["id"] for r in await every_item(client, f"/api/v1/events/{event_id}/reports", reader)
    }
    lost = [a["report_id"] for a in accepted if a["report_id"] not in listed]
    if lost:
        faults.append(f"{len(lost)} of {len(accepted)} reports answered 201 are not stored")

    detail = (await client.get(f"/api/v1/events/{event_id}", headers=reader)).json()
    reached = max_level(*(a["level"] for a in accepted))
    if detail["peak_level"] != reached:
        faults.append(
            f"peak_level is {detail['peak_level']}, but a report answered 201 reached {reached}"
        )

    engine = make_engine(Settings(database_url=storm.database_url))
    try:
        async with engine.begin() as connection:
            # An action is one item for one unit of one event (design § Words): an item owed
            # by each county hit is one action per county HQ; a link of plan 4's chain, one per
            # run of the chain (design § Reporting chain: each level change starts one).
            twice = (
                await connection.execute(
                    select(Action.event_id, Action.key, Action.agency, func.count())
                    .group_by(Action.event_id, Action.key, Action.agency, Action.run)
                    .having(func.count() > 1)
                )
            ).all()
            keys = dict((await connection.execute(select(Action.id, Action.key))).all())
    finally:
        await engine.dispose()
    if twice:
        shown = ", ".join(f"{key} of {agency}×{n}" for _event, key, agency, n in twice[:5])
        faults.append(f"{len(twice)} action(s) more than once on one event: {shown}")

    overdue = 0
    for label, eid in zip(("the storm event", "the warned event"), events, strict=True):
        entries = await every_item(client, f"/api/v1/events/{eid}/timeline", reader)
        faults += [f"{label}'s timeline: {f}" for f in timeline_faults(entries)]
        # a due time begins at a dispatch (a reopening included) and at a hand-over to a new
        # leading HQ, which gives the pending duty a due time of its own (design § Dispatch)
        dispatched = Counter(
            key
            for e in entries
            if e["kind"] in ("actions_dispatched", "actions_handed_over")
            for key in e["data"]["keys"]
        )
        escalated = Counter(
            e["data"]["action_id"] for e in entries if e["kind"] == "action_overdue"
        )
        overdue += sum(escalated.values())
        # once per due time: a reopened or handed-over action may be escalated again
        again = [a for a, n in escalated.items() if n > dispatched[keys[uuid.UUID(a)]]]
        if again:
            faults.append(f"{label}: {len(again)} action(s) escalated twice for one due time")
    if backdated == 0:
        faults.append("the test's clock found no open action to move past its due time")
    elif overdue == 0:
        faults.append(f"{backdated} actions were past due, and the escalation job escalated none")
    return faults


async def test_concurrent_first_reports_open_one_event(storm: Storm) -> None:
    """design § One outage, one event: concurrent first reports for one grid (越城区, in no open
    event) open exactly one event, and each is answered 201 with it."""
    dispatcher = storm.tokens["dispatcher-330600"]
    async with httpx.AsyncClient(base_url=storm.service.url, timeout=30) as client:
        answers = await asyncio.gather(
            *(
                client.post(
                    "/api/v1/reports",
                    json=report(county("330602", 200, 20 + n), minutes=n),
                    headers=dispatcher,
                )
                for n in range(FIRST_REPORTS)
            )
        )
        naming = await every_item(client, "/api/v1/events", dispatcher, region="330602")
    statuses = Counter(a.status_code for a in answers)
    assert statuses == {201: FIRST_REPORTS}, f"statuses: {dict(statuses)}"
    joined = Counter(a.json()["event_id"] for a in answers)
    assert len(joined) == 1, (
        f"{FIRST_REPORTS} concurrent first reports for 330602 opened {len(joined)} events "
        f"(reports per event: {sorted(joined.values(), reverse=True)})"
    )
    assert [e["id"] for e in naming] == list(joined), f"events naming 330602: {naming}"
