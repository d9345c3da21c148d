"""Replaying a drill scenario (plan 7.1, 8.1) against a running service, over its HTTP API.

The runner is a client like any other: it holds an admin token, mints a token for each of the
scenario's actors through ``POST /api/v1/tokens`` (named ``drill: …``), plays the steps at their
minutes, and revokes those tokens at the end, however the drill ended. Every report and warning
it sends carries ``drill: true``, so the event is a drill (the service keeps its warnings,
actions, releases and notifications drills too, and pages nobody real).

Time: ``speed`` is scenario minutes per real minute (60: a scenario minute each second). The
service stamps everything with its own clock, so what the evaluation report counts (minutes to
acknowledge, on time or late against ``due_at``) is the real time the drill took; a report's
``observed_at`` is the moment it is sent. ``Pace`` is that time: the wall clock (``RealTime``),
or in a test the service's own held clock, which then follows the scenario minute by minute.

The first answer the scenario did not expect (a refusal, or an ``expect`` that does not hold)
stops the drill with ``DrillStopped``, naming the step and giving the service's problem+json. A
refusal for concurrent work (409, 503) is first sent again a few times, as any client should.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Final, Protocol

import httpx

from service.flows.admin.token_schemas import DRILL_TOKEN_PREFIX
from service.playbooks.drills import (
    ActionStep,
    AttestStep,
    DrillActor,
    EndStep,
    EvaluateStep,
    LevelStep,
    PublishStep,
    ReportStep,
    Scenario,
    Step,
    WarnStep,
)

API: Final = "/api/v1"
OPEN_EVENT_STATES: Final = ("monitoring", "warning", "response")
OPEN: Final = {"ack": ("pending",), "complete": ("pending", "acknowledged")}
# What a client does with a refusal for concurrent work (409 Conflict, 503 with Retry-After):
# the same request again, a few times, after a short pause.
RETRIED: Final = frozenset({409, 503})
ATTEMPTS: Final = 3
PAUSE: Final = 0.2
MAX_PAUSE: Final = 1.0


class DrillStopped(Exception):
    """The service answered what the scenario did not expect; the message names the step."""


@dataclass
class DrillRun:
    """What a drill made: its event, the warnings by the scenario's names, the files saved."""

    event_id: str | None = None
    warnings: dict[str, str] = field(default_factory=dict)
    files: list[Path] = field(default_factory=list)


# Called after each step with its index, the step and one line saying what the service answered.
Progress = Callable[[int, Step, str], None]


class Pace(Protocol):
    """The drill's sense of time: how far it is, how it waits, what time a report is observed."""

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
    admin = _bearer(admin_token)
    tokens: dict[str, tuple[str, dict[str, str]]] = {}
    done = DrillRun()
    try:
        for name, actor in scenario.actors.items():
            tokens[name] = await _mint(client, admin, name, actor)
        actors = {name: headers for name, (_id, headers) in tokens.items()}
        player = _Player(client, scenario, actors, out, done, pace)
        running = await _open_drills(client, admin)
        started = pace.elapsed()
        for index, step in enumerate(scenario.steps):
            wait = started + float(step.at) * 60 / speed - pace.elapsed()
            if wait > 0:
                await pace.sleep(wait)
            said = await player.play(index, step)
            if index == 0 and done.event_id in running:
                raise DrillStopped(
                    f"steps[0]: joined the open drill event {done.event_id} (one outage, one "
                    "event: it names the same grids); close or dismiss it, then run again"
                )
            if progress is not None:
                progress(index, step, said)
    finally:
        # However the drill ended; when it failed, that failure is the one to tell.
        unrevoked = await _revoke(client, admin, tokens)
    if unrevoked:
        raise DrillStopped("; ".join(unrevoked))
    return done


async def _revoke(
    client: httpx.AsyncClient, admin: dict[str, str], tokens: dict[str, tuple[str, Any]]
) -> list[str]:
    """Revoke the drill's tokens; what could not be revoked, said."""
    failed: list[str] = []
    for name, (token_id, _headers) in tokens.items():
        try:
            await _call(client, "DELETE", f"/tokens/{token_id}", admin, f"revoking {name}'s token")
        except DrillStopped as exc:
            failed.append(str(exc))
    return failed


async def _open_drills(client: httpx.AsyncClient, admin: dict[str, str]) -> set[str]:
    """The drill events still open: the first step must open an event of its own."""
    found: set[str] = set()
    params = {"drill": "true", "limit": "200"}
    while True:
        page = await _call(client, "GET", "/events", admin, "listing drill events", params=params)
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
    made = await _call(client, "POST", "/tokens", admin, f"making {name}'s token", body)
    return str(made["id"]), _bearer(str(made["token"]))


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def _call(
    client: httpx.AsyncClient,
    method: str,
    path: str,
    headers: dict[str, str],
    where: str,
    body: dict[str, Any] | None = None,
    params: dict[str, str] | None = None,
) -> Any:
    """The JSON answer of one request; DrillStopped naming ``where`` for anything but 2xx.

    A refusal for concurrent work (409, or 503 once the service's own retries ran out) changed
    nothing, and the same request a moment later usually goes through: it is sent again, up to
    ``ATTEMPTS`` times in all, after the ``Retry-After`` the service gives (at most
    ``MAX_PAUSE`` seconds) or a short pause. A conflict of the event's state answers the same
    each time, and stops the drill with that answer."""
    for attempt in range(1, ATTEMPTS + 1):
        try:
            answer = await client.request(
                method, API + path, headers=headers, json=body, params=params
            )
        except httpx.HTTPError as exc:
            raise DrillStopped(f"{where}: {method} {path}: no answer ({exc!r})") from exc
        if answer.status_code not in RETRIED or attempt == ATTEMPTS:
            break
        await asyncio.sleep(_pause(answer, attempt))
    if not answer.is_success:
        tries = f" (sent {ATTEMPTS} times)" if answer.status_code in RETRIED else ""
        raise DrillStopped(
            f"{where}: {method} {path} answered {answer.status_code}: {_problem(answer)}{tries}"
        )
    if "json" not in answer.headers.get("content-type", ""):
        return answer.content
    return answer.json()


def _pause(answer: httpx.Response, attempt: int) -> float:
    """Seconds to wait before sending a refused request again: the service's ``Retry-After``
    (seconds), capped, or a pause that grows with each attempt."""
    try:
        return min(float(answer.headers["retry-after"]), MAX_PAUSE)
    except (KeyError, ValueError):
        return min(PAUSE * attempt, MAX_PAUSE)


def _problem(answer: httpx.Response) -> str:
    """The problem+json's detail and each error's field and message, or the body's start."""
    try:
        problem = answer.json()
    except ValueError:
        return answer.text[:500]
    if not isinstance(problem, dict):
        return answer.text[:500]
    said = str(problem.get("detail") or problem.get("title") or "")
    for error in problem.get("errors") or []:
        if isinstance(error, dict):
            said += f"; {error.get('field', '?')}: {error.get('message', '')}"
    return said


def _json_number(value: Decimal) -> str:
    return format(value, "f")  # exact, as the API reads a decimal string


def _dig(answer: Any, path: str) -> Any:
    value = answer
    for key in path.split("."):
        if isinstance(value, list) and key.isdigit() and int(key) < len(value):
            value = value[int(key)]
        elif isinstance(value, dict) and key in value:
            value = value[key]
        else:
            return "(absent)"
    return value


class _Player:
    """Plays one step at a time, carrying the event's and the warnings' ids between steps."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        scenario: Scenario,
        actors: dict[str, dict[str, str]],
        out: Path,
        run: DrillRun,
        pace: Pace,
    ) -> None:
        self.pace = pace
        self.client = client
        self.scenario = scenario
        self.actors = actors
        self.out = out
        self.run = run

    async def play(self, index: int, step: Step) -> str:
        where = f"steps[{index}] (at {step.at}, {step.do})"
        headers = self.actors[step.actor]
        answer = await self._step(step, headers, where)
        for path, want in step.expect.items():
            got = _dig(answer, path)
            if got != want:
                raise DrillStopped(
                    f"{where}: expected {path} = {want!r}, the service answered {got!r}"
                )
        return _summary(answer)

    async def _step(self, step: Step, headers: dict[str, str], where: str) -> Any:
        event = f"/events/{self.run.event_id}"
        if isinstance(step, ReportStep):
            return await self._report(step, headers, where)
        if isinstance(step, WarnStep):
            body: dict[str, Any] = {
                "area": step.area,
                "headline": step.headline,
                "description": step.description,
                "drill": True,
            }
            if self.run.event_id is not None:
                body["event_id"] = self.run.event_id
            made = await _call(self.client, "POST", "/warnings", headers, where, body)
            self.run.event_id = str(made["event_id"])
            self.run.warnings[step.warning] = str(made["id"])
            return made
        if isinstance(step, PublishStep):
            path = f"/warnings/{self.run.warnings[step.warning]}/{step.do}"
            return await _call(self.client, "POST", path, headers, where, _reason(step.reason))
        if isinstance(step, LevelStep):
            path = f"{event}/{'response' if step.do == 'respond' else 'level'}"
            body = {"level": step.level, "reason": step.reason}
            return await _call(self.client, "POST", path, headers, where, body)
        if isinstance(step, ActionStep):
            return await self._actions(step, headers, where)
        if isinstance(step, AttestStep):
            body = {"condition": step.condition, "evidence": step.evidence}
            return await _call(self.client, "POST", f"{event}/attestations", headers, where, body)
        if isinstance(step, EndStep):
            path = f"{event}/{step.do}"
            return await _call(self.client, "POST", path, headers, where, _reason(step.reason))
        return await self._evaluate(step, headers, where)

    async def _report(self, step: ReportStep, headers: dict[str, str], where: str) -> Any:
        snapshots = [
            {
                key: _json_number(value) if isinstance(value, Decimal) else value
                for key, value in snapshot.model_dump(exclude_none=True).items()
            }
            for snapshot in step.snapshots
        ]
        body: dict[str, Any] = {
            "snapshots": snapshots,
            "observed_at": self.pace.now().isoformat(),
            "cause": step.cause or self.scenario.cause,
            "drill": True,
        }
        if step.note is not None:
            body["note"] = step.note
        if self.run.event_id is not None:
            body["event_id"] = self.run.event_id
        answer = await _call(self.client, "POST", "/reports", headers, where, body)
        self.run.event_id = str(answer["event_id"])
        return answer

    async def _actions(self, step: ActionStep, headers: dict[str, str], where: str) -> Any:
        """Acknowledge or complete the agency's open actions the step names."""
        agency = self.scenario.actors[step.actor].agency
        params = {"event_id": str(self.run.event_id)}
        listed = await _call(
            self.client, "GET", f"/agencies/{agency}/actions", headers, where, params=params
        )
        found = [
            action
            for action in listed["items"]
            if action["state"] in OPEN[step.do]
            and (step.phase is None or action["phase"] == step.phase)
        ]
        if step.keys is not None:
            missing = sorted(set(step.keys) - {a["key"] for a in found})
            if missing:
                raise DrillStopped(
                    f"{where}: {agency} holds no open action {', '.join(missing)} on the event"
                )
            found = [a for a in found if a["key"] in step.keys]
        if not found:
            raise DrillStopped(f"{where}: {agency} holds no open action to {step.do} on the event")
        verb = "ack" if step.do == "ack" else "complete"
        body = {} if step.note is None else {"note": step.note}
        answers = [
            await _call(self.client, "POST", f"/actions/{a['id']}/{verb}", headers, where, body)
            for a in found
        ]
        return {"count": len(answers), "items": answers}

    async def _evaluate(self, step: EvaluateStep, headers: dict[str, str], where: str) -> Any:
        """The evaluation report, its PDF and each warning's CAP alert, saved under ``out``/the
        event's id."""
        event = f"/events/{self.run.event_id}"
        (self.out / str(self.run.event_id)).mkdir(parents=True, exist_ok=True)
        report = await _call(self.client, "GET", f"{event}/evaluation", headers, where)
        self._save("evaluation.json", json.dumps(report, ensure_ascii=False, indent=2).encode())
        if step.pdf:
            pdf = await _call(self.client, "GET", f"{event}/evaluation.pdf", headers, where)
            self._save("evaluation.pdf", pdf)
        for name, warning_id in self.run.warnings.items():
            cap = await _call(self.client, "GET", f"/warnings/{warning_id}/cap", headers, where)
            self._save(f"warning-{name}.cap.xml", cap)
        return report

    def _save(self, name: str, content: bytes) -> None:
        path = self.out / str(self.run.event_id) / name
        path.write_bytes(content)
        self.run.files.append(path)


def _reason(reason: str | None) -> dict[str, str]:
    return {} if reason is None else {"reason": reason}


def _summary(answer: Any) -> str:
    """One line of what the service answered: state, level and who leads, where it says."""
    if not isinstance(answer, dict):
        return ""
    if "count" in answer:
        return f"{answer['count']} action(s)"
    parts = [
        f"{key} {answer[key]}"
        for key in ("state", "response_level", "condition")
        if answer.get(key) is not None
    ]
    hq = answer.get("leading_hq")
    if isinstance(hq, dict):
        parts.append(f"led by {hq.get('name')}")
    if "response_minutes" in answer:
        parts.append(f"evaluation: {len(answer.get('agencies', []))} agencies")
    return ", ".join(parts)
