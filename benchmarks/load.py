"""The load generators: ``wrk`` when it is on the PATH, else a built-in one (asyncio + httpx).

Both drive one :class:`Target` for a fixed time over a fixed number of connections and count as
an error every response whose status is not the one expected (a 200 where a 304 was expected is
an error), plus socket errors and timeouts.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import multiprocessing
import os
import subprocess
import tempfile
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import Any

import httpx


class BenchError(RuntimeError):
    """The benchmark could not run as set up (a server died, a request was refused, …)."""


@dataclass(frozen=True)
class Target:
    """One request, repeated: method, path, JSON body, headers, the status it must answer and,
    checked once before the run, fields its JSON answer must hold. With ``bodies``, those are
    sent in turn instead of ``body`` (the check sends the first)."""

    method: str
    path: str
    status: int
    body: Mapping[str, Any] | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    expect: Mapping[str, Any] = field(default_factory=dict)
    bodies: tuple[Mapping[str, Any], ...] = ()

    @property
    def label(self) -> str:
        return f"{self.method} {self.path}"

    def encoded(self) -> bytes | None:
        return self.every_body()[0]

    def every_body(self) -> list[bytes | None]:
        """The bodies sent in turn: ``bodies``, or ``body`` alone."""
        if self.bodies:
            return [json.dumps(body).encode() for body in self.bodies]
        return [None if self.body is None else json.dumps(self.body).encode()]

    def all_headers(self) -> dict[str, str]:
        sends = self.body is not None or self.bodies
        json_type = {"Content-Type": "application/json"} if sends else {}
        return {**json_type, **self.headers}


@dataclass(frozen=True)
class Load:
    """What one load run measured; errors are unexpected statuses, socket errors and timeouts."""

    requests: int
    errors: int
    seconds: float
    p50_ms: float
    p99_ms: float

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def as_json(self) -> dict[str, Any]:
        return {**asdict(self), "rps": round(self.rps, 1)}


Driver = Callable[[str, Target, argparse.Namespace, int], Load]


@dataclass(frozen=True)
class Poster:
    """A preparation's POSTs: ``post(path, who, body)`` sends ``body`` as JSON with the
    Authorization headers ``auth[who]`` and gives the answer's JSON; a refusal fails the run."""

    client: httpx.Client
    auth: dict[str, dict[str, str]]

    def __call__(self, path: str, who: str, body: dict[str, Any]) -> dict[str, Any]:
        answer = self.client.post(path, json=body, headers=self.auth[who])
        if not answer.is_success:
            raise BenchError(f"POST {path}: {answer.status_code} {answer.text[:300]}")
        found: dict[str, Any] = answer.json()
        return found


def check(url: str, target: Target) -> httpx.Response:
    """One request first, so that a refusal fails the run instead of being measured."""
    response = httpx.request(
        target.method,
        url + target.path,
        content=target.encoded(),
        headers=target.all_headers(),
        timeout=30,
        trust_env=False,
    )
    if response.status_code != target.status:
        raise BenchError(
            f"{target.label}: {response.status_code}, expected {target.status}: "
            f"{response.text[:300]}"
        )
    if target.expect:
        found = response.json()
        wrong = {k: found.get(k) for k, v in target.expect.items() if found.get(k) != v}
        if wrong:
            raise BenchError(f"{target.label}: expected {dict(target.expect)}, got {wrong}")
    return response


# --- wrk --------------------------------------------------------------------------------------

# Every thread counts the statuses it did not expect; done() sums them over the threads.
WRK_SCRIPT = """
wrk.method = "{method}"
{body}
{headers}
local threads = {{}}
function setup(thread) table.insert(threads, thread) end
function init(args) unexpected = 0 end
{turns}
function response(status, headers, body)
  if status ~= {status} then unexpected = unexpected + 1 end
end
function done(summary, latency, requests)
  local e = summary.errors
  local bad = 0
  for _, thread in ipairs(threads) do bad = bad + thread:get("unexpected") end
  io.write(string.format(
    'WRK_JSON {{"requests": %d, "us": %d, "unexpected": %d, "socket": %d, '
    .. '"p50": %d, "p99": %d}}\\n',
    summary.requests, summary.duration, bad, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
"""


def _lua_string(text: str) -> str:
    if "]==]" in text:
        raise BenchError(f"cannot quote {text!r} for wrk")
    return f"[==[{text}]==]"


# A target's bodies in turn: each thread formats them once and sends the next each time.
WRK_TURNS = """
local bodies = {{ {bodies} }}
local turn = 0
local prepared = nil
function request()
  if prepared == nil then
    prepared = {{}}
    for _, body in ipairs(bodies) do table.insert(prepared, wrk.format(nil, nil, nil, body)) end
  end
  turn = turn % #prepared + 1
  return prepared[turn]
end
"""


def wrk_script(target: Target) -> str:
    body = target.encoded()
    bodies = target.every_body()
    turns = ""
    if len(bodies) > 1:
        turns = WRK_TURNS.format(bodies=", ".join(_lua_string(b.decode()) for b in bodies if b))
    return WRK_SCRIPT.format(
        method=target.method,
        body="" if body is None else f"wrk.body = {_lua_string(body.decode())}",
        headers="\n".join(
            f"wrk.headers[ {_lua_string(k)} ] = {_lua_string(v)}"
            for k, v in target.all_headers().items()
        ),
        status=target.status,
        turns=turns,
    )


def run_wrk(url: str, target: Target, args: argparse.Namespace, seconds: int) -> Load:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(wrk_script(target))
    try:
        command = [
            "wrk",
            f"-t{min(args.threads, args.concurrency)}",
            f"-c{args.concurrency}",
            f"-d{seconds}s",
            "--timeout",
            "10s",
            "-s",
            script.name,
            url + target.path,
        ]
        out = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60)
    finally:
        os.unlink(script.name)
    line = next((x for x in out.stdout.splitlines() if x.startswith("WRK_JSON ")), None)
    if out.returncode != 0 or line is None:
        raise BenchError(f"wrk failed ({out.returncode}): {out.stderr.strip() or out.stdout}")
    found = json.loads(line.removeprefix("WRK_JSON "))
    return Load(
        requests=found["requests"],
        errors=found["unexpected"] + found["socket"],
        seconds=found["us"] / 1e6,
        p50_ms=found["p50"] / 1000,
        p99_ms=found["p99"] / 1000,
    )


# --- the built-in generator -------------------------------------------------------------------


async def _drive(
    target: Target, url: str, connections: int, seconds: int
) -> tuple[list[float], int, float]:
    latencies: list[float] = []
    errors = 0
    bodies, headers = target.every_body(), target.all_headers()
    turns = itertools.count()
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    async with httpx.AsyncClient(limits=limits, timeout=10, trust_env=False) as client:
        start = time.perf_counter()
        deadline = start + seconds

        async def one_connection() -> None:
            nonlocal errors
            while time.perf_counter() < deadline:
                sent = time.perf_counter()
                try:
                    body = bodies[next(turns) % len(bodies)]
                    response = await client.request(
                        target.method, url, content=body, headers=headers
                    )
                    failed = response.status_code != target.status
                except httpx.HTTPError:
                    failed = True
                latencies.append(time.perf_counter() - sent)
                errors += failed

        await asyncio.gather(*(one_connection() for _ in range(connections)))
        return latencies, errors, time.perf_counter() - start


def _drive_process(
    target: Target, url: str, connections: int, seconds: int
) -> tuple[list[float], int, float]:
    return asyncio.run(_drive(target, url, connections, seconds))


def run_python(url: str, target: Target, args: argparse.Namespace, seconds: int) -> Load:
    processes = max(1, min(args.client_processes, args.concurrency))
    shares = [
        args.concurrency // processes + (i < args.concurrency % processes) for i in range(processes)
    ]
    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=processes, mp_context=spawn) as pool:
        runs = [
            pool.submit(_drive_process, target, url + target.path, share, seconds)
            for share in shares
        ]
        done = [run.result() for run in runs]
    latencies = sorted(x for lat, _, _ in done for x in lat)
    if not latencies:
        raise BenchError(f"no request to {target.label} finished")
    return Load(
        requests=len(latencies),
        errors=sum(errors for _, errors, _ in done),
        seconds=max(elapsed for _, _, elapsed in done),
        p50_ms=latencies[len(latencies) // 2] * 1000,
        p99_ms=latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000,
    )


def driver(generator: str) -> Driver:
    return run_wrk if generator == "wrk" else run_python
