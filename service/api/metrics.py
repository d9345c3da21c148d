"""``GET /metrics``: Prometheus text, counts only (operations § Metrics).

Two kinds of figure, each from where it is right:

* What the database holds (events by state and level, open and overdue actions by agency,
  deliveries by state) is read at each scrape (service.flows.events.figures), awaited in the
  endpoint like any query, and only then handed to a collector that yields it: the same whichever
  worker answers, and no blocking database call inside prometheus-client's ``collect()``.
* What a process sees (reports received, request latency by route template, method and status
  class) is counted where it happens, by prometheus-client's metrics. Under ``serve`` they run
  in prometheus-client's multiprocess mode: ``serve`` sets ``PROMETHEUS_MULTIPROC_DIR`` (a folder
  under ``OUTAGE_VAR_DIR``, emptied at each start) before any worker imports the library, every
  worker writes its values to its own files there, and a scrape adds up all workers' files, so
  any worker gives the service's totals. Without the variable (an app made in a test) the
  process's own registry is shown.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator, Mapping
from typing import Final

from fastapi import FastAPI, Request
from fastapi.responses import Response
from prometheus_client import CollectorRegistry, Counter, Histogram, disable_created_metrics
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.flows.context import AppContext
from service.flows.events.figures import Figures, read_figures

MULTIPROCESS_ENV: Final = "PROMETHEUS_MULTIPROC_DIR"  # prometheus-client's own variable
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
REQUEST_SECONDS = Histogram(
    "outage_http_request_duration_seconds",
    "Time from a request's arrival to the end of its answer, by route template, method and "
    "status class",
    ["route", "method", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
    registry=PROCESS,
)


class RequestMetrics:
    """Pure ASGI: time every HTTP request, labelled by the template of the route it matched
    (``/api/v1/events/{event_id}``, never the path itself, so the series stay few).

    ``templates`` maps a route (by ``id``) to its whole template where the route's own
    ``path`` lacks its router's prefix; any other route's ``path`` is its template.
    """

    def __init__(self, app: ASGIApp, *, templates: Mapping[int, str]) -> None:
        self.app = app
        self.templates = templates

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500  # what the client gets when the app fails before it answers

        async def watched(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        started = time.perf_counter()
        try:
            await self.app(scope, receive, watched)
        finally:
            matched = scope.get("route")
            route = self.templates.get(id(matched)) or getattr(matched, "path", UNMATCHED)
            method = scope["method"] if scope["method"] in METHODS else "other"
            REQUEST_SECONDS.labels(route, method, f"{status // 100}xx").observe(
                time.perf_counter() - started
            )


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


def process_text() -> bytes:
    """The per-process metrics as text: every worker's added up in multiprocess mode."""
    folder = os.environ.get(MULTIPROCESS_ENV)
    if not folder:
        return generate_latest(PROCESS)
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=folder)  # type: ignore[no-untyped-call]
    return generate_latest(registry)


async def metrics(request: Request) -> Response:
    context: AppContext = request.app.state.context
    figures = await read_figures(context)
    body = process_text() + generate_latest(_Figures(figures))
    # The classic text format (every name here is plain ASCII), which every Prometheus reads.
    return Response(body, media_type=CONTENT_TYPE_PLAIN_0_0_4)


def install_metrics(app: FastAPI) -> None:
    """``GET /metrics``: no token (BearerAuth guards /api/ only); not in the OpenAPI document."""
    app.add_api_route("/metrics", metrics, methods=["GET"], include_in_schema=False)
