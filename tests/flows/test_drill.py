"""``drill run``'s player (service.drill: runner, player, clock, calls) against the app, on
SQLite and PostgreSQL: the shipped typhoon ends closed, a drill, at III, with the evaluation its
scenario gives (worked out here by hand from the scenario's own numbers) whatever the speed, on
the drill's own clock; a drill stops at the first unexpected answer, naming the step, and never
leaves its tokens behind."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from service.drill.calls import ATTEMPTS, DrillStopped
from service.drill.runner import CLOCK_KEEPER, Pace, RealTime, run_drill
from service.playbooks.bundle import Playbooks
from service.playbooks.drills import AttestStep, ReportStep, Scenario, Step, load_scenario
from tests.helpers import (
    PLAYBOOKS_DIR,
    T0,
    Clock,
    MakeToken,
    bearer_token_of,
    county,
    hold_clock,
    post,
    report,
)

API = "/api/v1"
PLAYBOOKS = Playbooks.load(PLAYBOOKS_DIR)
TYPHOON = load_scenario(
    PLAYBOOKS_DIR / "drills" / "typhoon.yaml", PLAYBOOKS.grids, PLAYBOOKS.agencies
)
FAST = 1e6  # scenario minutes per real minute: ten hours in well under a second of waiting
# --speed 100000: the typhoon's ten hours in a third of a second of waiting, on the wall clock
HASTY = 1e5
CITY = "330600"

# Per agency, what the typhoon leaves on the drill's clock, at any speed (dispatched,
# on_time, late, open, cancelled, median minutes to acknowledge), worked out from the scenario's
# minutes and the checklists' due_minutes. Termination (minute 480) cancels the open response
# duties, acknowledged or not; every post-event duty is done before closing; a completion
# without an acknowledgement acknowledges too. Plan 4's chain runs once per county at each
# moment: the first report (首报) at 90 for 柯桥区 and at 120 for 上虞区, the follow-up (续报)
# of both at III (150), which supersedes what the first runs left open, and the final report
# (终报) at termination (480). For example:
# - power-company: 3 monitoring duties and the proposal's notice to important users at minute
#   0, 3 warning duties at 20, all acknowledged at 25 (after 25 and 5 minutes); 柯桥区's first
#   report and 7 response duties at 90, acknowledged at 95 (5); 上虞区's first report at 120,
#   superseded at 150 unanswered, when it fell due (neither on time nor late); the follow-ups
#   (150, made at 176) and the final reports (480, made at 485): 20, median 5. Some are due on
#   their completion (design § Deadlines), and acknowledging them in time is not enough: the
#   notice to important users (due at 30, done at 60), the first assessment of the impact (due
#   at 120, cancelled undone at termination), 柯桥区's first report (due at 120, superseded
#   unmade at 150) and telling the areas hit (due at 120, done at 430) are late: 15 on time,
#   4 late.
#   Cancelled: the 3 monitoring duties and the 2 warning duties never done.
# - grid-dispatch: the warning's operation mode (20, due in 60) and report to the upper
#   dispatch (20, due in 30 on its completion), acknowledged at 30; the report was never made
#   (cancelled when the warning was lifted at 200): late. Isolating the fault (90, due in 15)
#   and keeping the main grid up (90, due in 30), acknowledged at 175: late. 1 on time, 3 late;
#   minutes 10, 10, 85, 85: median 47.5.
# - public-security: 3 duties of 5.2.3 at the response's start (90), due in 60 minutes,
#   acknowledged at 170: 3 late, median 80, cancelled at termination.
# - economy-it: the proposal's assessment (0, acknowledged at 5); the notice to the other
#   departments (20, due in 30, acknowledged at 160: late); 3 response duties and 6.2's
#   investigation group at IV (90, acknowledged at 160: the coordination, due in 60, late);
#   plan 4's relay of each county's follow-up (180, done at 182) and final report (490, done
#   at 492); 2 post-event duties at termination (done at 520). 12 dispatched, 10 on time, 2
#   late; minutes 5, 140, 70, 70, 70, 10, 2, 2, 2, 2, 40, 40: median 25.
#   Cancelled: the notice and the 3 response duties.
# - hq-330603: led at IV and acknowledged its 14 duties at 100; the cooperation across the
#   border came at 120 (a second county), never acknowledged, due at 240: late; its 一般
#   investigation group and its on-site HQ gave way at 150, when the outage was reported 较大
#   (superseded by 市经信委's group, plan 6 by the grade, and the city's on-site HQ, plan 2.3:
#   neither open nor cancelled); its verification and report of the follow-up (176, 178) and
#   of the final report (485, 488); the 3 aftermath duties of plan 6.3 at termination, done at
#   590. 22, 21 on time, 13 cancelled. hq-330604 (hit at 120) the same way: its on-site HQ and
#   investigation group superseded at 150.
# - hq-city: the city HQ's formation (2.1) and its expert group (2.5) from 120, when it took
#   the lead, done at 440 with its other response duties; no plan 6.3 duty, which goes to the
#   counties hit; 市政府's receipt of 市经信委's report on each county, follow-up and final,
#   acknowledged at 185 and 495, which completes it (receiving is all a receipt asks).
#   provincial-drc: the same 4 receipts, nothing else.
# The member units that never answer are checked against the event's own action records.
ANSWERING = {
    "economy-it": (12, 10, 2, 0, 4, 25.0),
    "public-security": (3, 0, 3, 0, 3, 80.0),
    "power-company": (20, 15, 4, 0, 5, 5.0),
    "emergency-office": (5, 3, 2, 0, 2, 60.0),
    "grid-dispatch": (4, 1, 3, 0, 2, 47.5),
    "provincial-drc": (4, 4, 0, 0, 0, 3.0),
    "hq-city": (10, 10, 0, 0, 3, 12.5),
    "hq-330603": (22, 21, 1, 0, 13, 10.0),
    "hq-330604": (12, 12, 0, 0, 3, 5.0),
}
TERMINATED = 480


def stamp(origin: datetime, minute: int) -> str:
    """How the API writes the time of scenario minute ``minute`` of a drill begun at ``origin``."""
    return (origin + timedelta(minutes=minute)).isoformat().replace("+00:00", "Z")


def county_level(load: Decimal, lost: Decimal) -> str | None:
    """Plan 1.5 for a county grid, by hand: III at 60% of a grid of 150 MW or more, IV at 40%."""
    share = lost / load
    if load >= 150 and share >= Decimal("0.6"):
        return "III"
    return "IV" if share >= Decimal("0.4") else None


def by_hand(scenario: Scenario) -> dict[str, Any]:
    """The levels, leads and restoration curve the scenario's reports give (design § Who leads:
    levels never fall by report; IV in one county → its HQ, in several → the city; III → the
    city)."""
    rank = {None: 0, "IV": 1, "III": 2}
    levels: list[str] = []
    leads: list[str] = []
    counties_at_iv: set[str] = set()
    peak_lost: dict[str, Decimal] = {}
    latest_lost: dict[str, Decimal] = {}
    curve: list[float] = []
    for step in scenario.steps:
        if not isinstance(step, ReportStep):
            continue
        for snap in step.snapshots:
            level = county_level(snap.load_mw, snap.load_lost_mw)
            if level is not None:
                counties_at_iv.add(snap.region)
            if rank[level] > rank[levels[-1] if levels else None]:
                levels.append(str(level))
            peak_lost[snap.region] = max(peak_lost.get(snap.region, Decimal(0)), snap.load_lost_mw)
            latest_lost[snap.region] = snap.load_lost_mw
        if levels:
            lead = CITY if levels[-1] == "III" or len(counties_at_iv) > 1 else min(counties_at_iv)
            if not leads or leads[-1] != lead:
                leads.append(lead)
        curve.append(float(1 - sum(latest_lost.values()) / sum(peak_lost.values())))
    return {"levels": levels, "leads": leads, "curve": curve}


class HeldTime:
    """The service's held clock as the drill's time: each wait moves it on, so at speed 1 the
    service lives the scenario minute by minute (and instantly)."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock

    def elapsed(self) -> float:
        return (self.clock.now - T0).total_seconds()

    async def sleep(self, seconds: float) -> None:
        self.clock.now += timedelta(seconds=seconds)

    def now(self) -> datetime:
        return self.clock.now


@pytest.mark.parametrize("speed", [1, HASTY], ids=["held", "hasty"])
async def test_the_typhoon_drill_ends_closed_with_the_evaluation_its_scenario_gives(
    client: httpx.AsyncClient,
    make_token: MakeToken,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    speed: float,
) -> None:
    """At speed 1 on the service's held clock, the service lives the scenario minute by minute;
    at --speed 100000 on the wall clock, ten hours pass in a third of a second, and the record
    reads the same, in the scenario's minutes."""
    admin = await make_token("admin")
    pace: Pace = RealTime()
    if speed == 1:
        held = Clock()
        hold_clock(monkeypatch, held)
        pace = HeldTime(held)
    played: list[tuple[int, str]] = []

    def progress(index: int, step: Step, said: str) -> None:
        played.append((index, step.do))

    began = datetime.now(UTC)
    done = await run_drill(
        TYPHOON,
        client,
        bearer_token_of(admin),
        speed=speed,
        out=tmp_path,
        progress=progress,
        pace=pace,
    )
    assert played == [(n, step.do) for n, step in enumerate(TYPHOON.steps)]

    event = (await client.get(f"{API}/events/{done.event_id}", headers=admin)).json()
    assert (event["state"], event["drill"], event["peak_level"]) == ("closed", True, "III")
    assert event["leading_hq"]["region"] == CITY
    # the scenario's minute 0 is when its first step opened the event; it ends at minute 600
    origin = datetime.fromisoformat(event["opened_at"])
    assert origin == (T0 if speed == 1 else pytest.approx(began, abs=timedelta(seconds=30)))
    assert event["drill_clock"] == stamp(origin, 600)
    # every token it made is revoked (and so listed only when all are asked for): one for each
    # actor and the one that kept the drill's clock
    tokens = (await client.get(f"{API}/tokens?all=true", headers=admin)).json()["items"]
    drill_tokens = [t for t in tokens if t["name"].startswith("drill: ")]
    assert len(drill_tokens) == len(TYPHOON.actors) + 1
    assert f"drill: {CLOCK_KEEPER}" in {t["name"] for t in drill_tokens}
    assert all(t["revoked_at"] is not None for t in drill_tokens)

    folder = tmp_path / str(done.event_id)
    assert sorted(p.name for p in done.files) == [
        "evaluation.json",
        "evaluation.pdf",
        "warning-landfall.cap.xml",
    ]
    assert (folder / "evaluation.pdf").read_bytes().startswith(b"%PDF-")
    cap = (folder / "warning-landfall.cap.xml").read_text(encoding="utf-8")
    assert "<status>Exercise</status>" in cap and "<msgType>Cancel</msgType>" in cap

    evaluation = yaml.safe_load((folder / "evaluation.json").read_text(encoding="utf-8"))
    expected = by_hand(TYPHOON)
    assert expected["levels"] == ["IV", "III"] and expected["leads"] == ["330603", CITY]
    assert (evaluation["drill"], evaluation["state"], evaluation["partial"]) == (
        True,
        "closed",
        False,
    )
    assert [(x["level"], x["by"]) for x in evaluation["levels"]] == [
        (level, "report") for level in expected["levels"]
    ]
    assert [lead["region"] for lead in evaluation["leading_hqs"]] == expected["leads"]
    assert [point["overall"] for point in evaluation["restoration"]] == pytest.approx(
        expected["curve"]
    )
    reported = [int(step.at) for step in TYPHOON.steps if isinstance(step, ReportStep)]
    assert [point["at"] for point in evaluation["restoration"]] == [
        stamp(origin, minute) for minute in reported
    ]
    assert evaluation["restoration"][-1]["overall"] >= 0.8
    # from the first report at IV (minute 90) to the termination (480)
    assert evaluation["response_minutes"] == 390
    assert [x["at"] for x in evaluation["levels"]] == [stamp(origin, 90), stamp(origin, 150)]
    assert [lead["from"] for lead in evaluation["leading_hqs"]] == [
        stamp(origin, 90),
        stamp(origin, 120),
    ]

    figures = {
        a["agency"]: (
            a["dispatched"],
            a["on_time"],
            a["late"],
            a["open"],
            a["cancelled"],
            a["median_ack_minutes"],
        )
        for a in evaluation["agencies"]
    }
    assert {code: figures[code] for code in ANSWERING} == ANSWERING
    answering = {TYPHOON.actors[s.actor].agency for s in TYPHOON.steps if s.do == "ack"}
    assert answering == set(ANSWERING)
    # the units that never answer: every duty cancelled at termination, late when its due time
    # had passed by then
    actions = (await client.get(f"{API}/events/{done.event_id}/actions", headers=admin)).json()
    # 市公安局's duties (due at 150) were escalated when the drill's clock passed that time (the
    # step at 155), before their acknowledgement at 170: overdue, and late, in scenario minutes
    police = [a for a in actions["items"] if a["agency"] == "public-security"]
    assert {a["due_at"] for a in police} == {stamp(origin, 150)}
    assert {a["escalated_at"] for a in police} == {stamp(origin, 155)}
    assert {a["acknowledged_at"] for a in police} == {stamp(origin, 170)}
    silent: dict[str, list[int]] = {}
    for action in actions["items"]:
        if action["agency"] not in ANSWERING:
            assert action["state"] == "cancelled" and action["acknowledged_at"] is None
            counts = silent.setdefault(action["agency"], [0, 0])
            counts[0] += 1
            terminated = origin + timedelta(minutes=TERMINATED)
            counts[1] += datetime.fromisoformat(action["due_at"]) < terminated
    assert len(silent) == 17
    assert {code: figures[code] for code in silent} == {
        code: (dispatched, 0, late, 0, dispatched, None)
        for code, (dispatched, late) in silent.items()
    }

    conditions = {c["key"]: c for c in evaluation["termination"]["conditions"]}
    assert all(c["met"] for c in conditions.values()) and len(conditions) == 4
    for step in TYPHOON.steps:
        if isinstance(step, AttestStep):
            assert step.evidence in conditions[step.condition]["evidence"]


def scenario_of(tmp_path: Path, steps: list[dict[str, Any]]) -> Scenario:
    path = tmp_path / "drill.yaml"
    actors = {
        "dispatcher": {"role": "dispatcher", "name": "调度"},
        "city": {"role": "commander", "region": CITY, "name": "市指挥部"},
    }
    body = {"version": 1, "title": "t", "cause": "typhoon", "actors": actors, "steps": steps}
    path.write_text(yaml.safe_dump(body, allow_unicode=True), encoding="utf-8")
    return load_scenario(path, PLAYBOOKS.grids, PLAYBOOKS.agencies)


def at_iv(at: int, **expect: Any) -> dict[str, Any]:
    snapshot = {"scope": "county", "region": "330603", "load_mw": 151, "load_lost_mw": 64}
    return {"at": at, "do": "report", "as": "dispatcher", "snapshots": [snapshot], "expect": expect}


@pytest.mark.parametrize(
    ("steps", "stopped"),
    [
        (
            [at_iv(0, **{"leading_hq.region": CITY})],
            "steps[0] (at 0, report): expected leading_hq.region = '330600', "
            "the service answered '330603'",
        ),
        (
            [at_iv(0), {"at": 5, "do": "close", "as": "city"}],
            "steps[1] (at 5, close): POST /events/",
        ),
    ],
    ids=["expect", "refused"],
)
async def test_a_drill_stops_at_the_first_unexpected_answer_and_revokes_its_tokens(
    client: httpx.AsyncClient,
    make_token: MakeToken,
    tmp_path: Path,
    steps: list[dict[str, Any]],
    stopped: str,
) -> None:
    admin = await make_token("admin")
    with pytest.raises(DrillStopped) as caught:
        await run_drill(
            scenario_of(tmp_path, steps), client, bearer_token_of(admin), speed=FAST, out=tmp_path
        )
    assert str(caught.value).startswith(stopped), caught.value
    if "close" in stopped:  # the problem+json's detail, as the service worded it
        assert "answered 409: " in str(caught.value) and "'close'" in str(caught.value)
    listed = (await client.get(f"{API}/tokens", headers=admin)).json()["items"]
    assert not [t for t in listed if t["name"].startswith("drill: ")]  # revoked, not listed
    tokens = (await client.get(f"{API}/tokens?all=true", headers=admin)).json()["items"]
    made = [t for t in tokens if t["name"].startswith("drill: ")]
    assert len(made) == 3 and all(t["revoked_at"] for t in made)  # two actors, the clock


async def test_a_drill_needs_an_admin_token_and_its_own_event(
    client: httpx.AsyncClient, make_token: MakeToken, tmp_path: Path
) -> None:
    scenario = scenario_of(tmp_path, [at_iv(0)])
    observer = bearer_token_of(await make_token("observer"))
    with pytest.raises(
        DrillStopped, match=r"making \w+'s token: POST /tokens answered 403: role 'observer'"
    ):
        await run_drill(scenario, client, observer, speed=FAST, out=tmp_path)

    # an open drill event of the same grids would be joined (one outage, one event): refused
    dispatcher = await make_token("dispatcher")
    open_drill = await post(client, dispatcher, report(county("330603", 151, 64), drill=True))
    admin = bearer_token_of(await make_token("admin"))
    with pytest.raises(DrillStopped, match=f"joined the open drill event {open_drill['event_id']}"):
        await run_drill(scenario, client, admin, speed=FAST, out=tmp_path)


class Refusing(httpx.AsyncBaseTransport):
    """The service as ``inner`` reaches it, but the first ``times`` requests matching ``method``
    and ``path`` are refused with ``status`` as the service refuses concurrent work, before
    they reach it (so nothing was done)."""

    def __init__(
        self, inner: httpx.AsyncClient, method: str, path: str, status: int, times: int
    ) -> None:
        self.inner, self.method, self.path = inner, method, path
        self.status, self.left = status, times
        self.refused = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == self.method and request.url.path == self.path and self.left > 0:
            self.left -= 1
            self.refused += 1
            problem = {"title": "Conflict", "status": self.status, "detail": "send it again"}
            headers = {"Retry-After": "0"} if self.status == 503 else {}
            return httpx.Response(self.status, json=problem, headers=headers)
        return await self.inner.send(request)


@pytest.mark.parametrize("status", [409, 503])
async def test_a_refusal_for_concurrent_work_is_sent_again(
    client: httpx.AsyncClient, make_token: MakeToken, tmp_path: Path, status: int
) -> None:
    scenario = scenario_of(tmp_path, [at_iv(0, state="response")])
    admin = await make_token("admin")
    refusing = Refusing(client, "POST", f"{API}/reports", status, times=2)
    async with httpx.AsyncClient(transport=refusing, base_url=client.base_url) as flaky:
        done = await run_drill(scenario, flaky, bearer_token_of(admin), speed=FAST, out=tmp_path)
    assert refusing.refused == 2 and done.event_id is not None
    reports = await client.get(f"{API}/events/{done.event_id}/reports", headers=admin)
    assert len(reports.json()["items"]) == 1  # the refused attempts did nothing


async def test_a_refusal_that_lasts_stops_the_drill_after_a_few_attempts(
    client: httpx.AsyncClient, make_token: MakeToken, tmp_path: Path
) -> None:
    scenario = scenario_of(tmp_path, [at_iv(0)])
    admin = bearer_token_of(await make_token("admin"))
    refusing = Refusing(client, "POST", f"{API}/reports", 503, times=100)
    async with httpx.AsyncClient(transport=refusing, base_url=client.base_url) as flaky:
        with pytest.raises(DrillStopped) as caught:
            await run_drill(scenario, flaky, admin, speed=FAST, out=tmp_path)
    assert refusing.refused == ATTEMPTS
    said = "POST /reports answered 503: send it again"
    assert str(caught.value) == f"steps[0] (at 0, report): {said} (sent {ATTEMPTS} times)"
