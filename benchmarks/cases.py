"""What is measured over HTTP: the request bodies and the service/bare pairs with their goals."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Final

import httpx

from benchmarks.load import BenchError, Load, Target, check

AGENCY = "power-company"
POLL = f"/api/v1/agencies/{AGENCY}/actions"


def report(load_lost_mw: float) -> dict[str, Any]:
    """A report on 柯桥区 (151 MW before the event) with no event_id: the first opens an event,
    every later one joins it (design § One outage, one event)."""
    snapshot = {"scope": "county", "region": "330603", "load_mw": 151.0}
    return {
        "observed_at": "2026-07-20T14:05:00+08:00",
        "cause": "typhoon",
        "snapshots": [{**snapshot, "load_lost_mw": load_lost_mw}],
    }


def held_actions(
    client: httpx.Client, agency: str, headers: dict[str, str], **filters: str
) -> list[dict[str, Any]]:
    """Every action ``agency`` holds (of ``filters``: ``event_id``, ``state`` …), every page of
    its poll, newest first."""
    params = {**filters, "limit": "200"}
    found: list[dict[str, Any]] = []
    while True:
        answer = client.get(f"/api/v1/agencies/{agency}/actions", params=params, headers=headers)
        if answer.status_code != 200:
            raise BenchError(f"polling {agency}: {answer.status_code} {answer.text[:300]}")
        page = answer.json()
        found += page["items"]
        if page["next"] is None:
            return found
        params["cursor"] = page["next"]


QUIET = report(30.0)  # 19.9 % lost: below every threshold; figures and restoration updated
RESPONSE = report(60.4)  # 40 % lost: level IV; the first starts the response and its checklist
CLASSIFY = {"snapshots": RESPONSE["snapshots"]}


@dataclass(frozen=True)
class Pair:
    name: str
    label: str
    service: Target
    bare: Target
    goal: float | None  # the least service ÷ bare req/s; None: shown for information
    before_writes: bool = False  # run before the report pairs fill the database
    connections: int | None = None  # None: --concurrency
    # the most the service's p99 may be, as a multiple of the bare app's p99; None: no goal
    p99_goal: float | None = None
    # a goal of another backend's own (issue 20: reports ≥ 0.6× on SQLite, 0.5× on PostgreSQL)
    goals: tuple[tuple[str, float], ...] = ()

    def goal_on(self, backend: str | None) -> float | None:
        return dict(self.goals).get(backend or "", self.goal)


# Reports: at least 0.6× their floors on SQLite and 0.5× on PostgreSQL, p99 at most twice the
# floor's; classify 0.7× with p99 at most four times (issue 20).
REPORT_GOALS: Final = (("postgres", 0.5),)


def build_pairs(tokens: dict[str, str], etag: str, row_id: str, event_id: str) -> list[Pair]:
    dispatcher = {"Authorization": f"Bearer {tokens['dispatcher']}"}
    agency = {"Authorization": f"Bearer {tokens['agency']}", "If-None-Match": etag}
    join = Target("POST", "/join", 201, QUIET)
    reports = "/api/v1/reports"
    quiet = {"level": None, "state": "response"}
    return [
        Pair(
            "reports",
            "POST /api/v1/reports (no level, by grid)",
            Target("POST", reports, 201, QUIET, dispatcher, quiet),
            Target("POST", "/join-by-grid", 201, QUIET),
            0.6,
            p99_goal=2.0,
            goals=REPORT_GOALS,
        ),
        Pair(
            "reports_event",
            "POST /api/v1/reports (no level, event_id)",
            Target("POST", reports, 201, {**QUIET, "event_id": event_id}, dispatcher, quiet),
            join,
            0.6,
            p99_goal=2.0,
            goals=REPORT_GOALS,
        ),
        Pair(
            "reports_dispatch",
            "POST /api/v1/reports (IV, joins the event)",
            Target(
                "POST", reports, 201, RESPONSE, dispatcher, {"level": "IV", "state": "response"}
            ),
            join,
            None,
        ),
        Pair(
            "classify",
            "POST /api/v1/classify",
            Target("POST", "/api/v1/classify", 200, CLASSIFY, dispatcher, {"level": "IV"}),
            Target("POST", "/echo", 200, CLASSIFY),
            0.7,
            p99_goal=4.0,
        ),
        Pair(
            "poll",
            f"GET {POLL} (304)",
            Target("GET", POLL, 304, headers=agency),
            Target("GET", f"/rows/{row_id}", 200),
            0.8,
            before_writes=True,
        ),
    ]


def prepare(base: dict[str, str], tokens: dict[str, str]) -> tuple[list[Pair], int]:
    """Give the agency actions (one level-IV report) and read its list's ETag once; store one
    bare row to read back. The pairs to run, and how many actions the agency holds."""
    dispatcher = {"Authorization": f"Bearer {tokens['dispatcher']}"}
    opened = check(base["service"], Target("POST", "/api/v1/reports", 201, RESPONSE, dispatcher))
    agency = {"Authorization": f"Bearer {tokens['agency']}"}
    listing = check(base["service"], Target("GET", POLL, 200, headers=agency))
    if "etag" not in listing.headers:
        raise BenchError(f"GET {POLL} answered no ETag")
    row_id = check(base["bare"], Target("POST", "/insert", 201, QUIET)).json()["id"]
    pairs = build_pairs(tokens, listing.headers["etag"], row_id, opened.json()["event_id"])
    with httpx.Client(base_url=base["service"], timeout=30, trust_env=False) as client:
        held = held_actions(client, AGENCY, agency)
    return pairs, len(held)


def median_round(rounds: list[Load]) -> Load:
    """The round with the median req/s (of an even number, the lower middle one)."""
    return sorted(rounds, key=lambda load: load.rps)[(len(rounds) - 1) // 2]


def paired_ratio(service: list[Load], bare: list[Load]) -> float:
    """The median over rounds of service req/s ÷ bare req/s in the same round: the two ran one
    after the other, so a slow spell of the machine mostly cancels out of their ratio."""
    ratios = sorted(s.rps / b.rps if b.rps else 0.0 for s, b in zip(service, bare, strict=True))
    middle = len(ratios) // 2
    return ratios[middle] if len(ratios) % 2 else (ratios[middle - 1] + ratios[middle]) / 2


def p99_ratio(service: list[Load], bare: list[Load]) -> float:
    """The median over rounds of service p99 ÷ bare p99 in the same round."""
    ratios = sorted(
        s.p99_ms / b.p99_ms if b.p99_ms else math.inf for s, b in zip(service, bare, strict=True)
    )
    middle = len(ratios) // 2
    return ratios[middle] if len(ratios) % 2 else (ratios[middle - 1] + ratios[middle]) / 2


def pair_json(
    pair: Pair, loads: dict[str, list[Load]], backend: str | None = None
) -> dict[str, Any]:
    """The pair as measured: each side's median round, with every round's req/s, the median of
    the rounds' ratios and, where the pair has a p99 goal, of their p99s' ratios."""
    service, bare = median_round(loads["service"]), median_round(loads["bare"])
    ratio = paired_ratio(loads["service"], loads["bare"])
    goal = pair.goal_on(backend)
    tail = p99_ratio(loads["service"], loads["bare"])
    meets_p99 = None if pair.p99_goal is None else tail <= pair.p99_goal

    def side(target: Target, median: Load, rounds: list[Load]) -> dict[str, Any]:
        every = [round(load.rps, 1) for load in rounds]
        errors = sum(load.errors for load in rounds)
        return {"endpoint": target.label, **median.as_json(), "errors": errors, "rounds": every}

    return {
        "name": pair.name,
        "label": pair.label,
        "service": side(pair.service, service, loads["service"]),
        "bare": side(pair.bare, bare, loads["bare"]),
        "ratio": round(ratio, 3),
        "goal": goal,
        "p99_ratio": round(tail, 2),
        "p99_goal": pair.p99_goal,
        "meets_p99_goal": meets_p99,
        "meets_goal": None if goal is None else ratio >= goal and meets_p99 is not False,
    }
