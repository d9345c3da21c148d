"""``GET /metrics``: Prometheus text, counts only (operations § Metrics).

Two kinds of figure, each from where it is right:

* What the database holds (events by state and level, open and overdue actions by agency,
  deliveries by state) is read at each scrape (service.flows.events.figures), awaited in the
  endpoint like any query, and only then handed to a collector that yields it: the same whichever
  worker answers, and no blocking database call inside prometheus-client's ``collect()``.
* What a process sees (reports received, request latency by route template, method and status
  class) is counted where it happens, by prometheus-client's metrics. Under ``serve --workers
  N`` they run in prometheus-client's multiprocess mode: ``serve`` sets
  ``PROMETHEUS_MULTIPROC_DIR`` (a folder under ``OUTAGE_VAR_DIR``, emptied at each start)
  before any worker imports the library, every worker writes its values to its own files
  there, and a scrape adds up all workers' files, so any worker gives the service's totals.
  Without the variable (``serve`` with one worker, an app made in a test) the process's own
  registry is shown.

A scrape cannot be turned against the service. Its text is computed at most once a second in a
worker, however many callers ask (``ScrapeCache``, kept on ``app.state.metrics_cache``): a caller
within the second gets the text already made, and callers that arrive while it is being made
await that one computation. Under ``serve`` the text is the workers' one (``SharedScrape``, a file
in the multiprocess folder), so that scrapes answered by different workers never see a counter go
back. A worker answers at most ten scrapes a second, the others waiting
their turn, up to twenty of them, and any more refused with 503 (``ScrapePace``, on
``app.state.metrics_pace``): a flood of scrape loops costs a worker ten cheap answers a second.
With ``OUTAGE_METRICS_TOKEN`` set, a scrape needs
``Authorization: Bearer <that token>`` (compared in constant time), else 401.
"""

from __future__ import annotations

import asyncio
import fcntl
import hmac
import math
import os
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from fastapi import FastAPI, Request
from fastapi.responses import Response
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from starlette.types import Scope

from service.api.auth import bearer_token
from service.api.problems import problem, speaking
from service.errors import Said, Unauthenticated
from service.flows.context import AppContext
from service.flows.events.figures import Figures, read_figures
from service.words import _, detail_of

MULTIPROCESS_ENV: Final = "PROMETHEUS_MULTIPROC_DIR"  # prometheus-client's own variable
MAX_AGE_SECONDS: Final = 1.0  # the most often a worker computes a scrape
ANSWERS_PER_SECOND: Final = 10.0  # the most scrapes a worker answers a second ...
MOST_WAITING: Final = 20  # ... and those it lets wait their turn (2 s), beyond which 503
METHODS: Final = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED: Final = "unmatched"  # a path no route has: one series, whatever the path

# The ``_created`` series (a counter's start time, per process) are left out, as multiprocess
# mode leaves them out: the same text whether one worker serves or several.
disable_created_metrics()  # type: ignore[no-untyped-call]
PROCESS = CollectorRegistry()
REPORTS_RECEIVED = Counter(
    "outage_reports_received",
    "Reports stored (POST /api/v1/reports answered 201; a replay of an Idempotency-Key is not "
    "counted again)",
    registry=PROCESS,
)
# The requests' series are few whatever the traffic, so that a scrape stays small (under 50 KB
# with every route hit in every way): one line per route template, method and status class for
# the count, one per route and method for the time, and the latency's buckets by status class
# alone (a histogram by route would be fourteen lines for each).
REQUESTS = Counter(
    "outage_http_requests",
    "Requests answered, by route template, method and status class",
    ["route", "method", "status"],
    registry=PROCESS,
)
# The public page and feeds answered from memory before the app (service.api.public.front),
# which neither the request log nor the series above see.
PUBLIC_FRONT_ANSWERS = Counter(
    "outage_public_front_answers",
    "Answers to the public page and its feeds given from the worker's edition, before the app, "
    "by path and status",
    ["path", "status"],
    registry=PROCESS,
)
REQUEST_SECONDS_SPENT = Counter(
    "outage_http_request_seconds",
    "Time spent answering, by route template and method (over outage_http_requests_total: "
    "the mean time of a request)",
    ["route", "method"],
    registry=PROCESS,
)
REQUEST_SECONDS = Histogram(
    "outage_http_request_duration_seconds",
    "Time from a request's arrival to the end of its answer, by status class",
    ["status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
    registry=PROCESS,
)
SCRAPE_SECONDS = Gauge(
    "outage_metrics_scrape_seconds",
    "How long the last computation of this text took in the worker that answered",
    registry=PROCESS,
    multiprocess_mode="liveall",
)


class RequestMetrics:
    """Counts and times every HTTP request (``record``, called by the door,
    ``service.api.door.Door``, once the answer is sent), labelled by the template of the
    route it matched (``/api/v1/events/{event_id}``, never the path itself, so the series stay
    few). A request the route does not serve by its method (405) counts as ``unmatched``, as
    does one refused before routing (a missing token's 401, a body too large).

    The three series a request moves are looked up once per route, method and status and kept
    (``series``): asking prometheus-client for a labelled child takes its lock and builds the
    label tuple each time, as much again as moving the values.
    """

    def __init__(self) -> None:
        self.series: dict[tuple[int, str, int], Series] = {}

    def record(self, scope: Scope, status: int, took: float) -> None:
        method = scope["method"] if scope["method"] in METHODS else "other"
        matched = scope.get("route")
        # few: routes (by id: a route is not hashable; each lives as long as the app)
        # × 8 methods × the statuses answered
        key = (id(matched), method, status)
        series = self.series.get(key) or self._series(key, matched)
        series.count.inc()
        series.spent.inc(took)
        series.latency.observe(took)

    def _series(self, key: tuple[int, str, int], matched: object) -> Series:
        _route_id, method, status = key
        route = self.route(matched, method)
        klass = f"{status // 100}xx"
        found = self.series[key] = Series(
            REQUESTS.labels(route, method, klass),
            REQUEST_SECONDS_SPENT.labels(route, method),
            REQUEST_SECONDS.labels(klass),
        )
        return found

    def route(self, matched: object, method: str) -> str:
        """The matched route's template, when the route serves this method."""
        if matched is None or method not in (getattr(matched, "methods", None) or METHODS):
            return UNMATCHED
        return str(getattr(matched, "path", UNMATCHED))


@dataclass(frozen=True, slots=True)
class Series:
    """The labelled children one kind of request moves: its count, its time, its latency."""

    count: Counter
    spent: Counter
    latency: Histogram


class _Figures(Collector):
    """The database's counts, read before the scrape, as gauge families."""

    def __init__(self, figures: Figures) -> None:
        self.figures = figures

    def collect(self) -> Iterator[Metric]:
        found = self.figures
        events = GaugeMetricFamily(
            "outage_events",
            "Events by state and level (none: below every level)",
            labels=["state", "level"],
        )
        for (state, level), count in found.events.items():
            events.add_metric([state, level], count)
        yield events
        for name, what, counts in (
            ("outage_actions_open", "Actions pending or acknowledged", found.actions_open),
            ("outage_actions_overdue", "Open actions past their due time", found.actions_overdue),
        ):
            family = GaugeMetricFamily(name, f"{what}, by agency", labels=["agency"])
            for agency, count in counts.items():
                family.add_metric([agency], count)
            yield family
        deliveries = GaugeMetricFamily(
            "outage_deliveries", "Notification deliveries by state", labels=["state"]
        )
        for state, count in found.deliveries.items():
            deliveries.add_metric([state], count)
        yield deliveries


class ScrapeCache:
    """The last scrape's text and when its computation began (``clock``'s seconds).

    ``text()`` gives it while it is younger than ``max_age``; else one computation (``produce``)
    starts, and every caller until it ends awaits that same one. It runs as a task of its own,
    shielded: a caller that goes away does not cancel it for the others. A computation that
    fails is not kept: each of its callers gets the error, and the next caller tries anew.
    ``computations`` counts those that ended well.
    """

    def __init__(
        self,
        produce: Callable[[], Awaitable[bytes]],
        *,
        max_age: float = MAX_AGE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
        shared: SharedScrape | None = None,
    ) -> None:
        self.produce = produce
        self.max_age = max_age
        self.clock = clock
        self.shared = shared
        self.body: bytes | None = None
        self.made_at = -math.inf
        self.computations = 0
        self.running: asyncio.Task[bytes] | None = None

    async def text(self) -> bytes:
        if self.shared is not None:
            # the workers' one text, whichever made it: never one older than another has given
            latest = self.shared.fresh(self.max_age)
            if latest is not None:
                return latest
        elif self.body is not None and self.clock() - self.made_at < self.max_age:
            return self.body
        if self.running is None:
            self.running = asyncio.create_task(self._compute())
            # its error is its callers'; none left (all gone away), it is not logged as lost
            self.running.add_done_callback(lambda task: task.cancelled() or task.exception())
        return await asyncio.shield(self.running)

    def clear(self) -> None:
        """Forget the text kept: the next caller computes anew."""
        self.body, self.made_at = None, -math.inf

    async def _compute(self) -> bytes:
        try:
            started = self.clock()
            began = self.shared.clock() if self.shared is not None else started
            body = await self.produce()
            if self.shared is not None:
                body = self.shared.offer(body, began)
            self.body, self.made_at = body, started
            self.computations += 1
            return body
        finally:
            self.running = None


class SharedScrape:
    """The last scrape's text as every worker of one service sees it: a file in the multiprocess
    folder (``scrape.txt``: the wall-clock time its computation began, a line, then the text),
    replaced whole (``os.replace``) under a lock file, and only by a text begun later.

    With several workers each keeping its own text, scrapes answered by turns by one and the
    other would see counters go back by up to a second's counts, which Prometheus takes for a
    restart. Kept here, any worker gives the newest text there is, or a newer one it made.
    """

    NAME: Final = "scrape.txt"  # not *.db: prometheus-client reads only its own files there

    def __init__(self, folder: Path, *, clock: Callable[[], float] = time.time) -> None:
        self.path = folder / self.NAME
        self.lock = folder / "scrape.lock"
        self.clock = clock

    def fresh(self, max_age: float) -> bytes | None:
        """The text kept, when its computation began less than ``max_age`` seconds ago."""
        began, body = self._read()
        return body if body is not None and self.clock() - began < max_age else None

    def offer(self, body: bytes, began: float) -> bytes:
        """Keep ``body`` (begun at ``began``) unless a text begun later is there already; the
        text kept either way, which is what the caller gives. Where the file cannot be written
        (a full disk), ``body`` is given as it is: this scrape is the worker's own."""
        try:
            return self._offer(body, began)
        except OSError:
            return body

    def _offer(self, body: bytes, began: float) -> bytes:
        with self.lock.open("a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            kept, there = self._read()
            if there is not None and kept >= began:
                return there
            written = self.path.with_suffix(f".{os.getpid()}.tmp")
            try:
                written.write_bytes(f"{began!r}\n".encode() + body)
                os.replace(written, self.path)
            except OSError:
                written.unlink(missing_ok=True)  # a part written on a full disk holds room
                raise
            return body

    def _read(self) -> tuple[float, bytes | None]:
        try:
            head, _newline, body = self.path.read_bytes().partition(b"\n")
            return float(head), body
        except (OSError, ValueError):  # none yet, or a disk that fails
            return -math.inf, None


class ScrapePace:
    """At most ``rate`` answers a second, as a leaky bucket (nginx's ``limit_req`` without
    ``nodelay``): each caller takes the next free turn, ``1/rate`` seconds after the one before,
    and sleeps until it (a caller that waits costs nothing); one whose turn lies more than
    ``most_waiting`` turns ahead is refused (``turn()`` is False: 503 with Retry-After). A flood
    of scrape loops is thus answered ``rate`` times a second whatever its size, and Prometheus
    (a scrape every few seconds from each server) never waits.
    """

    def __init__(
        self,
        rate: float = ANSWERS_PER_SECOND,
        most_waiting: int = MOST_WAITING,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.interval = 1 / rate
        self.most_waiting = most_waiting
        self.clock = clock
        self.sleep = sleep
        self.next_turn = -math.inf

    async def turn(self) -> bool:
        now = self.clock()
        turn = max(now, self.next_turn)
        if turn - now > self.most_waiting * self.interval + 1e-9:
            return False
        self.next_turn = turn + self.interval
        if turn > now:
            await self.sleep(turn - now)
        return True


def process_text() -> bytes:
    """The per-process metrics as text: every worker's added up in multiprocess mode."""
    folder = os.environ.get(MULTIPROCESS_ENV)
    if not folder:
        return generate_latest(PROCESS)
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=folder)  # type: ignore[no-untyped-call]
    return generate_latest(registry)


async def scrape_text(context: AppContext) -> bytes:
    """One scrape computed: the database's counts, then every process's metrics (the time the
    worker's previous computation took among them)."""
    started = time.perf_counter()
    figures = await read_figures(context)
    body = process_text() + generate_latest(_Figures(figures))
    SCRAPE_SECONDS.set(time.perf_counter() - started)
    return body


def allowed(token: str | None, expected: str | None) -> bool:
    """Whether the bearer token given opens /metrics: any caller when no token is set, else the
    one whose token equals it, compared in constant time (``hmac.compare_digest``)."""
    if expected is None:
        return True
    return token is not None and hmac.compare_digest(token.encode(), expected.encode())


async def metrics(request: Request) -> Response:
    context: AppContext = request.app.state.context
    secret = context.settings.metrics_token
    expected = secret.get_secret_value() if secret is not None else None
    if not allowed(bearer_token(request.scope["headers"]), expected):
        refused = Unauthenticated(Said("读取 /metrics 需要指标令牌（Authorization: Bearer …）"))
        with speaking():
            detail = detail_of(refused)
        return problem(refused.status, refused.title, detail)
    pace: ScrapePace = request.app.state.metrics_pace
    if not await pace.turn():
        with speaking():
            detail = _("指标请求过多，请稍后再试")
        busy = problem(503, "Service unavailable", detail)
        busy.headers["Retry-After"] = "1"
        return busy
    cache: ScrapeCache = request.app.state.metrics_cache
    # The classic text format (every name here is plain ASCII), which every Prometheus reads.
    return Response(await cache.text(), media_type=CONTENT_TYPE_PLAIN_0_0_4)


def install_metrics(app: FastAPI) -> None:
    """``GET /metrics``, not in the OpenAPI document; its token, when one is set, is its own
    (the door checks tokens under /api/ only). The cache reads the context the lifespan puts on
    the app."""
    folder = os.environ.get(MULTIPROCESS_ENV)
    shared = SharedScrape(Path(folder)) if folder else None
    app.state.metrics_cache = ScrapeCache(lambda: scrape_text(app.state.context), shared=shared)
    app.state.metrics_pace = ScrapePace()
    app.add_api_route("/metrics", metrics, methods=["GET"], include_in_schema=False)
