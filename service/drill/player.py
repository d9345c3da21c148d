"""Playing a drill scenario's steps (service.drill.runner), one at a time: each step's requests,
its ``expect`` checked against the answer, and what the drill made (``DrillRun``) carried from one
step to the next. Every report and warning it sends carries ``drill: true``."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Final

import httpx

from service.drill.calls import DrillStopped, call
from service.playbooks.drills import (
    ActionStep,
    AttestStep,
    EndStep,
    EvaluateStep,
    LevelStep,
    PublishStep,
    ReportStep,
    Scenario,
    Step,
    WarnStep,
)

OPEN: Final = {"ack": ("pending",), "complete": ("pending", "acknowledged")}
PAGE: Final = 200  # the poll's largest page: a drill's event is read in as few requests as can be


@dataclass
class DrillRun:
    """What a drill made: its event, the warnings by the scenario's names, the files saved."""

    event_id: str | None = None
    warnings: dict[str, str] = field(default_factory=dict)
    files: list[Path] = field(default_factory=list)


def step_where(index: int, step: Step) -> str:
    """How a message names the step: ``steps[3] (at 20, publish)``."""
    return f"steps[{index}] (at {step.at}, {step.do})"


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


class Player:
    """Plays one step at a time, carrying the event's and the warnings' ids between steps;
    ``now`` is the drill's clock (service.drill.clock), the time a report is observed."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        scenario: Scenario,
        actors: dict[str, dict[str, str]],
        out: Path,
        run: DrillRun,
        now: Callable[[], datetime],
    ) -> None:
        self.now = now
        self.client = client
        self.scenario = scenario
        self.actors = actors
        self.out = out
        self.run = run

    async def play(self, index: int, step: Step) -> str:
        where = step_where(index, step)
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
            made = await call(self.client, "POST", "/warnings", headers, where, body)
            self.run.event_id = str(made["event_id"])
            self.run.warnings[step.warning] = str(made["id"])
            return made
        if isinstance(step, PublishStep):
            path = f"/warnings/{self.run.warnings[step.warning]}/{step.do}"
            return await call(self.client, "POST", path, headers, where, _reason(step.reason))
        if isinstance(step, LevelStep):
            path = f"{event}/{'response' if step.do == 'respond' else 'level'}"
            body = {"level": step.level, "reason": step.reason}
            return await call(self.client, "POST", path, headers, where, body)
        if isinstance(step, ActionStep):
            return await self._actions(step, headers, where)
        if isinstance(step, AttestStep):
            body = {"condition": step.condition, "evidence": step.evidence}
            return await call(self.client, "POST", f"{event}/attestations", headers, where, body)
        if isinstance(step, EndStep):
            path = f"{event}/{step.do}"
            return await call(self.client, "POST", path, headers, where, _reason(step.reason))
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
            "observed_at": self.now().isoformat(),
            "cause": step.cause or self.scenario.cause,
            "drill": True,
        }
        if step.note is not None:
            body["note"] = step.note
        if self.run.event_id is not None:
            body["event_id"] = self.run.event_id
        answer = await call(self.client, "POST", "/reports", headers, where, body)
        self.run.event_id = str(answer["event_id"])
        return answer

    async def _actions(self, step: ActionStep, headers: dict[str, str], where: str) -> Any:
        """Acknowledge or complete the agency's open actions the step names."""
        agency = self.scenario.actors[step.actor].agency
        found = [
            action
            for action in await self._event_actions(agency, headers, where)
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
            await call(self.client, "POST", f"/actions/{a['id']}/{verb}", headers, where, body)
            for a in found
        ]
        return {"count": len(answers), "items": answers}

    async def _event_actions(
        self, agency: str | None, headers: dict[str, str], where: str
    ) -> list[dict[str, Any]]:
        """Every action the agency holds on the drill's event, every page of its poll, in the
        order they were dispatched (the poll gives the newest first): a step's duties are taken
        up in the same order on every run."""
        params = {"event_id": str(self.run.event_id), "limit": str(PAGE)}
        path = f"/agencies/{agency}/actions"
        listed = await call(self.client, "GET", path, headers, where, params=params)
        actions: list[dict[str, Any]] = listed["items"]
        while listed["next"] is not None:
            params["cursor"] = listed["next"]
            listed = await call(self.client, "GET", path, headers, where, params=params)
            actions += listed["items"]
        return sorted(actions, key=lambda a: (datetime.fromisoformat(a["dispatched_at"]), a["key"]))

    async def _evaluate(self, step: EvaluateStep, headers: dict[str, str], where: str) -> Any:
        """The evaluation report, its PDF and each warning's CAP alert, saved under ``out``/the
        event's id."""
        event = f"/events/{self.run.event_id}"
        (self.out / str(self.run.event_id)).mkdir(parents=True, exist_ok=True)
        report = await call(self.client, "GET", f"{event}/evaluation", headers, where)
        self._save("evaluation.json", json.dumps(report, ensure_ascii=False, indent=2).encode())
        if step.pdf:
            pdf = await call(self.client, "GET", f"{event}/evaluation.pdf", headers, where)
            self._save("evaluation.pdf", pdf)
        for name, warning_id in self.run.warnings.items():
            cap = await call(self.client, "GET", f"/warnings/{warning_id}/cap", headers, where)
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
