"""Heavy pages beside the rest (issue 20, item 4): ``/healthz`` while six evaluation PDFs render
(both backends; in ``make bench``, or alone: ``python -m benchmarks.heavy_pages``, same flags).

One service as it ships (``serve``, one uvicorn worker) on a fresh database, and one event worked
until its timeline holds ``ENTRIES`` entries: 柯桥区 at level IV, then, in turn, the province's
commander setting it to II and back to IV (each a checklist dispatched or cancelled) and three
reports of its restoration. Its evaluation PDF is a few dozen pages with a curve of hundreds of
reports: the heaviest page the service draws.

In each of ``--heavy-pages-rounds`` rounds a client asks ``GET /healthz`` again ``POLL_GAP``
after each answer: first alone for ``ALONE_SECONDS`` (the baseline), then while ``PDFS`` clients
ask for the event's PDF at once, until the last PDF is answered. Shown: the p50 and p99 of
/healthz alone and beside the PDFs (the samples of every round together), the PDFs' answers and
the seconds the slowest took. Goal: /healthz's p99 beside the PDFs under 50 ms, and every PDF
answered 200.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import statistics
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final

import httpx

from benchmarks import servers
from benchmarks.alone import run_alone
from benchmarks.load import BenchError, Poster

PDFS: Final = 6
ENTRIES: Final = 2000
GOAL_MS: Final = 50.0
ALONE_SECONDS: Final = 5.0
POLL_GAP: Final = 0.01
PDF_TIMEOUT: Final = 600.0
OBSERVED: Final = datetime(2026, 7, 20, 6, 5, tzinfo=UTC)
KEQIAO: Final = "330603"
TOKENS: Final[dict[str, tuple[str, ...]]] = {
    "dispatcher": ("dispatcher",),
    "province": ("commander", "--region", "330000"),
    "observer": ("observer",),
}


def keqiao(lost: float, minutes: int, event_id: str | None = None) -> dict[str, Any]:
    """A report of 柯桥区 (151 MW of load) losing ``lost`` MW, ``minutes`` after the first."""
    return {
        **({"event_id": event_id} if event_id else {}),
        "observed_at": (OBSERVED + timedelta(minutes=minutes)).isoformat(),
        "cause": "typhoon",
        "snapshots": [{"scope": "county", "region": KEQIAO, "load_mw": 151, "load_lost_mw": lost}],
    }


def build_event(client: httpx.Client, auth: dict[str, dict[str, str]]) -> tuple[str, int]:
    """The event, worked until its timeline holds ``ENTRIES`` entries; its id and entries."""
    post = Poster(client, auth)
    event_id = str(post("/api/v1/reports", "dispatcher", keqiao(70, 0))["event_id"])
    minutes = itertools.count(1)
    for turn in itertools.count():
        level = "II" if turn % 2 == 0 else "IV"
        path = f"/api/v1/events/{event_id}/level"
        post(path, "province", {"level": level, "reason": f"bench: {level}"})
        for step in range(3):
            post("/api/v1/reports", "dispatcher", keqiao(70 - (turn + step) % 60, next(minutes)))
        if turn % 10 == 9 and (entries := timeline_length(client, auth, event_id)) >= ENTRIES:
            return event_id, entries
    raise AssertionError("unreachable")


def timeline_length(client: httpx.Client, auth: dict[str, dict[str, str]], event_id: str) -> int:
    entries, cursor = 0, None
    while True:
        params: dict[str, Any] = {"limit": 200, **({"cursor": cursor} if cursor else {})}
        answer = client.get(
            f"/api/v1/events/{event_id}/timeline", params=params, headers=auth["observer"]
        )
        if answer.status_code != 200:
            raise BenchError(f"GET timeline: {answer.status_code} {answer.text[:300]}")
        page = answer.json()
        entries += len(page["items"])
        cursor = page.get("next")
        if not cursor:
            return entries


class HealthPoll:
    """A thread asking ``GET /healthz`` again ``POLL_GAP`` after each answer until stopped;
    ``samples`` are the answers' times in ms (anything but a 200 counts in ``errors``)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.samples: list[float] = []
        self.errors = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> HealthPoll:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        with httpx.Client(base_url=self.url, timeout=30, trust_env=False) as client:
            while not self._stop.is_set():
                started = time.perf_counter()
                try:
                    status = client.get("/healthz").status_code
                except httpx.HTTPError:
                    status = 0
                self.samples.append((time.perf_counter() - started) * 1000)
                self.errors += status != 200
                self._stop.wait(POLL_GAP)


def pdfs_at_once(url: str, headers: dict[str, str], event_id: str) -> list[tuple[int, float]]:
    """``PDFS`` clients asking for the event's PDF at once: each one's status and seconds."""

    def one(_index: int) -> tuple[int, float]:
        started = time.perf_counter()
        with httpx.Client(base_url=url, timeout=PDF_TIMEOUT, trust_env=False) as client:
            answer = client.get(f"/api/v1/events/{event_id}/evaluation.pdf", headers=headers)
        return answer.status_code, time.perf_counter() - started

    with ThreadPoolExecutor(max_workers=PDFS) as clients:
        return list(clients.map(one, range(PDFS)))


def measure_heavy_pages(database_url: str, rounds: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="outage-heavy-") as folder, contextlib.ExitStack() as s:
        work = Path(folder)
        env = {**os.environ, "OUTAGE_DATABASE_URL": database_url, "OUTAGE_VAR_DIR": str(work)}
        servers.cli("db", "upgrade", env=env)
        auth = servers.new_tokens(env, TOKENS)
        port = servers.free_port()
        log = work / "service.log"
        process = s.enter_context(servers.server(servers.service_command(port), env, log))
        url = f"http://127.0.0.1:{port}"
        servers.wait_ready(url + "/healthz", process, log)
        with httpx.Client(base_url=url, timeout=60, trust_env=False) as client:
            event_id, entries = build_event(client, auth)
        alone, beside, pdfs = [], [], []
        for _round in range(rounds):
            with HealthPoll(url) as poll:
                time.sleep(ALONE_SECONDS)
            alone.append(poll)
            with HealthPoll(url) as poll:
                pdfs.append(pdfs_at_once(url, auth["observer"], event_id))
            beside.append(poll)
            if process.poll() is not None:
                raise BenchError(f"the service exited:\n{servers.tail(log)}")
        return heavy_pages_json(entries, alone, beside, pdfs)


def percentile(samples: list[float], share: float) -> float:
    """The sample below which ``share`` of them lie (the nearest rank)."""
    ordered = sorted(samples)
    return ordered[max(0, min(len(ordered) - 1, round(share * len(ordered)) - 1))]


def heavy_pages_json(
    entries: int,
    alone: list[HealthPoll],
    beside: list[HealthPoll],
    pdfs: list[list[tuple[int, float]]],
) -> dict[str, Any]:
    """The rounds' /healthz samples alone and beside the PDFs, pooled; the PDFs' answers."""

    def side(polls: list[HealthPoll]) -> dict[str, Any]:
        samples = [ms for poll in polls for ms in poll.samples]
        return {
            "samples": len(samples),
            "errors": sum(poll.errors for poll in polls),
            "p50_ms": round(statistics.median(samples), 1),
            "p99_ms": round(percentile(samples, 0.99), 1),
            "max_ms": round(max(samples), 1),
            "rounds_p99_ms": [round(percentile(poll.samples, 0.99), 1) for poll in polls],
        }

    shown = {"alone": side(alone), "beside": side(beside)}
    statuses = [status for run in pdfs for status, _seconds in run]
    slowest = [max(seconds for _status, seconds in run) for run in pdfs]
    refused = sum(status != 200 for status in statuses)
    return {
        "status": "ok",
        "entries": entries,
        "pdfs": PDFS,
        "rounds": len(pdfs),
        **shown,
        "pdf_statuses": sorted(set(statuses)),
        "pdfs_not_200": refused,
        "pdfs_slowest_s": round(statistics.median(slowest), 1),
        "goal_ms": GOAL_MS,
        "meets_goal": shown["beside"]["p99_ms"] < GOAL_MS
        and refused == 0
        and shown["beside"]["errors"] == 0,
    }


def heavy_pages_table(results: dict[str, dict[str, Any]]) -> str:
    """The figures of each backend that measured them."""
    lines = []
    for backend, found in results.items():
        heavy = found.get("heavy_pages")
        if not heavy or heavy.get("status") != "ok":
            continue
        lines.append(
            f"{backend}: GET /healthz every {POLL_GAP * 1000:.0f} ms after each answer, alone and "
            f"while {heavy['pdfs']} evaluation PDFs of a {heavy['entries']}-entry event render "
            f"at once ({heavy['rounds']} round(s))"
        )
        lines.append(f"  {'/healthz':<24}{'samples':>9}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}")
        for name, label in (("alone", "alone (baseline)"), ("beside", "beside the PDFs")):
            row = heavy[name]
            lines.append(
                f"  {label:<24}{row['samples']:>9}{row['p50_ms']:>9.1f}{row['p99_ms']:>9.1f}"
                f"{row['max_ms']:>9.1f}" + (f" ({row['errors']} errors)" if row["errors"] else "")
            )
        verdict = "met" if heavy["meets_goal"] else "MISSED"
        answers = "/".join(str(status) for status in heavy["pdf_statuses"])
        lines.append(
            f"  PDFs answered {answers}, the slowest in {heavy['pdfs_slowest_s']:.1f} s; goal: "
            f"p99 beside the PDFs < {heavy['goal_ms']:.0f} ms, every PDF 200: {verdict}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """This measure alone: ``python -m benchmarks.heavy_pages`` takes ``make bench``'s options
    (``--backends``, ``--heavy-pages-rounds``, ``--postgres-url``) and prints its table."""
    return run_alone(
        argv,
        __doc__.split("\n")[0],
        "heavy_pages",
        ("heavy",),
        lambda urls, args, _work: measure_heavy_pages(urls["heavy"], args.heavy_pages_rounds),
        heavy_pages_table,
    )


if __name__ == "__main__":
    raise SystemExit(main())
