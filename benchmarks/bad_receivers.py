"""A healthy receiver beside six bad ones (part (c) of ``benchmarks.delivery``), in process, on a
fresh database of its own.

A notice goes into the outbox every ``INTERVAL`` seconds for ``PHASE_SECONDS`` while the
service's ``Deliverer`` runs as a worker runs it (its default settings); a healthy receiver
takes each notice's delay from its creation (the body's ``timestamp``) to its arrival. First
with the healthy subscription alone (the baseline), then with six bad ones beside it, each on a
real local HTTP server (threads of this process): one that never answers, one that drips its
answer a byte every half second, one answering 500, one redirecting to itself, one answering
503 with a ``Retry-After`` of 400 digits, and a WeCom robot answering ``errcode`` 93000. Shown:
the healthy receiver's p50 and p95 on each side and the ratio of the p95s; the goal is a p95
under one second beside the six. The deliverer looks for work every ``POLL`` seconds (the
default, 1 s, adds up to a second of polling to every delay, bad receivers or not); its other
settings are the defaults.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import statistics
import threading
import time
import uuid
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Final

from benchmarks import servers
from benchmarks.load import BenchError
from models import Event
from service.app import open_context
from service.config import Settings
from service.flows.admin.schemas import SubscriptionCreate
from service.flows.admin.subscriptions import create_subscription
from service.notify.deliverer import Deliverer
from service.store import outbox
from service.store.batch import WriteBatch

INTERVAL: Final = 0.2
PHASE_SECONDS: Final = 15.0
GOAL_SECONDS: Final = 1.0
# How often the deliverer looks for work here: the default (1 s) adds up to a second of polling
# to every delay, bad receivers or not; a quarter of that leaves the receivers' effect to see.
POLL: Final = 0.25
BAD: Final = ("hang", "drip", "fail", "redirect", "retry-after", "errcode")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128


class Receivers:
    """The healthy receiver and the six bad ones, each mode a path of one server (the healthy
    one a server of its own)."""

    def __init__(self) -> None:
        self.closing = threading.Event()
        self.delays: list[float] = []
        self._lock = threading.Lock()
        receivers = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                mode = self.path.rsplit("/", 1)[1]
                if mode == "healthy":
                    created = datetime.fromisoformat(json.loads(body)["timestamp"])
                    with receivers._lock:
                        receivers.delays.append(time.time() - created.timestamp())
                    self._answer(200, b"{}")
                elif mode == "hang":
                    receivers.closing.wait(600)
                elif mode == "drip":
                    self.send_response(200)
                    self.send_header("content-length", "100000")
                    self.end_headers()
                    self.wfile.flush()
                    while not receivers.closing.wait(0.5):
                        self.wfile.write(b" ")
                        self.wfile.flush()
                elif mode == "fail":
                    self._answer(500, b'{"error":"down"}')
                elif mode == "redirect":
                    self._answer(302, b"", ("location", self.path))
                elif mode == "retry-after":
                    self._answer(503, b"{}", ("retry-after", "9" * 400))
                else:
                    self._answer(200, b'{"errcode":93000,"errmsg":"invalid webhook url"}')

            def _answer(
                self, status: int, body: bytes, header: tuple[str, str] | None = None
            ) -> None:
                self.send_response(status)
                if header is not None:
                    self.send_header(*header)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def handle(self) -> None:
                with contextlib.suppress(OSError):  # the deliverer hung up: as it may
                    super().handle()

        self.servers = [_Server(("127.0.0.1", 0), Handler) for _ in range(2)]
        self.healthy = f"http://127.0.0.1:{self.servers[0].server_address[1]}/healthy"
        self.bad = {m: f"http://127.0.0.1:{self.servers[1].server_address[1]}/{m}" for m in BAD}

    def __enter__(self) -> Receivers:
        for server in self.servers:
            threading.Thread(target=server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.closing.set()
        for server in self.servers:
            server.shutdown()
            server.server_close()

    def taken(self) -> list[float]:
        with self._lock:
            delays, self.delays = self.delays, []
            return delays


async def measure_receivers(database_url: str) -> dict[str, Any]:
    servers.cli("db", "upgrade", env={**os.environ, "OUTAGE_DATABASE_URL": database_url})
    settings = Settings(
        database_url=database_url,
        delivery_interval_seconds=POLL,
        escalation_interval_seconds=0,
    )
    context = open_context(settings)
    try:
        async with context.sessions() as session:
            event = sample_event()
            session.add(event)
            await session.commit()
        with Receivers() as receivers:
            await create_subscription(context, SubscriptionCreate(url=receivers.healthy))
            alone = await _phase(context, event, receivers)
            for mode, url in receivers.bad.items():
                fmt = "wecom" if mode == "errcode" else "standard"
                await create_subscription(context, SubscriptionCreate(url=url, format=fmt))
            beside = await _phase(context, event, receivers)
    finally:
        await context.close()
    return {
        "alone": alone,
        "beside": beside,
        "ratio": round(beside["p95"] / alone["p95"], 2),
        "goal_seconds": GOAL_SECONDS,
        "meets_goal": beside["p95"] < GOAL_SECONDS,
    }


async def _phase(context: Any, event: Event, receivers: Receivers) -> dict[str, Any]:
    """Notices every ``INTERVAL`` s for ``PHASE_SECONDS`` with the deliverer running; the
    healthy receiver's delays."""
    deliverer = Deliverer(context.sessions, context.settings, context.playbooks)
    deliverer.start()
    sent = 0
    try:
        start = time.monotonic()
        while time.monotonic() - start < PHASE_SECONDS:
            async with context.sessions() as session:
                session.add(event)
                async with WriteBatch(session) as batch:
                    outbox.emit(batch, event, "event.opened")
                await session.commit()
            sent += 1
            await asyncio.sleep(INTERVAL)
        deadline = time.monotonic() + 60
        while len(receivers.delays) < sent:
            if time.monotonic() > deadline:
                got = len(receivers.delays)
                raise BenchError(f"the healthy receiver got {got} of {sent} notices in 60 s")
            await asyncio.sleep(0.05)
    finally:
        await deliverer.stop()
    delays = sorted(receivers.taken())
    return {
        "notices": sent,
        "p50": round(statistics.median(delays), 3),
        "p95": round(delays[int(0.95 * (len(delays) - 1))], 3),
        "max": round(delays[-1], 3),
    }


def sample_event() -> Event:
    """An event in a IV response, the notices' subject in the delivery benchmarks."""
    now = datetime.now(UTC)
    return Event(
        id=uuid.uuid4(),
        state="response",
        level="IV",
        peak_level="IV",
        response_level="IV",
        leading_hq="330603",
        opened_at=now,
        updated_at=now,
        basis=[],
        timeline_seq=0,
    )
