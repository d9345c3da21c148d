"""Structured logs (structlog): one JSON line per request, every line of a request with its id.

``configure`` sets structlog up once per process, on top of the standard library's logging, so
that the service's own lines, the request lines and those of other libraries (uvicorn, the
unhandled errors of service.api.problems) come out through one handler in one format: JSON by
default, or structlog's console renderer for a person at a terminal. ``RequestLog`` is a pure
ASGI middleware: it takes the request's id from ``X-Request-ID`` when the client sent a sane one
(or makes one), binds it in contextvars for every line logged while the request runs, echoes it
in the answer's headers and, when ``OUTAGE_REQUEST_LOG`` is on, writes the request's line.
"""

from __future__ import annotations

import logging
import re
import sys
import time
import uuid
from typing import Final

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from structlog.contextvars import bind_contextvars, reset_contextvars
from structlog.typing import Processor

from service.config import Settings

REQUEST_ID_HEADER: Final = b"x-request-id"
# What a proxy or client may send as the id: a UUID, a trace id, anything short and printable
# that cannot break a log line or a header. Anything else is replaced, not trusted.
SANE_ID: Final = re.compile(rb"[A-Za-z0-9._:@/+=-]{1,128}")
HANDLER_NAME: Final = "outage-coordinator"

# Made anew by each configure(): a logger caches the configuration it first logged with.
request_log = structlog.get_logger()
REQUEST_LOGGER: Final = "service.requests"  # the "logger" of a request line


class _Stderr:
    """Whatever ``sys.stderr`` is when a line is written (a test runner may swap it), rather
    than the stream it was when the logger or handler was made."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


STDERR: Final = _Stderr()


def _stamped() -> list[Processor]:
    """What every line gets: the request's bound id, the level and the time (UTC, ISO 8601)."""
    return [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]


QUIET_LIBRARIES: Final = ("httpx", "httpcore")


def quiet_libraries() -> None:
    """httpx logs each request it sends at info, URL and all, and a receiver's URL may hold a
    robot's key or credentials (design § Notifications): its lines, and httpcore's, are kept
    from warning up. The deliverer records each attempt's outcome in the database, where the
    URL is shown masked."""
    for library in QUIET_LIBRARIES:
        logging.getLogger(library).setLevel(logging.WARNING)


def configure(settings: Settings, *, output: bool = True) -> None:
    """Set logging up for this process: structlog's own lines (the request lines) straight to
    stderr, rendered as ``OUTAGE_LOG_FORMAT`` says, without the standard library's machinery
    (a record, a caller lookup and a copy per line cost several times the rest); and, with
    ``output``, one handler on the root logger rendering every library's lines the same way.

    Without ``output`` (an app made in a test, which calls it only when nothing has configured
    structlog yet) info lines are dropped and the test runner's logging is left alone; ``serve``
    and each of its workers configure with it.
    """
    renderer: list[Processor] = (
        [structlog.processors.format_exc_info, structlog.processors.JSONRenderer()]
        if settings.log_format == "json"
        else [structlog.dev.ConsoleRenderer()]
    )
    global request_log
    structlog.configure(
        processors=[*_stamped(), *renderer],
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.INFO if output else logging.WARNING
        ),
        logger_factory=structlog.WriteLoggerFactory(file=STDERR),  # type: ignore[arg-type]
        cache_logger_on_first_use=True,
    )
    request_log = structlog.get_logger()
    quiet_libraries()
    if not output:
        return
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[*_stamped(), structlog.stdlib.add_logger_name],
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *renderer],
    )
    handler = logging.StreamHandler(STDERR)
    handler.set_name(HANDLER_NAME)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == HANDLER_NAME]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(logging.INFO)


def request_id_of(headers: list[tuple[bytes, bytes]]) -> str:
    """The client's ``X-Request-ID`` when it is sane, else a new one (32 hex digits)."""
    for name, value in headers:
        if name == REQUEST_ID_HEADER:
            if SANE_ID.fullmatch(value):
                return value.decode("ascii")
            break
    return uuid.uuid4().hex


class RequestLog:
    """Pure ASGI, outermost: the request's id around everything else, and its line after."""

    def __init__(self, app: ASGIApp, *, log_requests: bool) -> None:
        self.app = app
        self.log_requests = log_requests

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = request_id_of(scope["headers"])
        echoed = (REQUEST_ID_HEADER, request_id.encode("ascii"))
        status = 500  # what the client gets when the app fails before it answers

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message = {**message, "headers": [*message.get("headers", ()), echoed]}
            await send(message)

        bound = bind_contextvars(request_id=request_id)
        started = time.perf_counter()
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            if self.log_requests:
                request_log.info(
                    "request",
                    logger=REQUEST_LOGGER,
                    method=scope["method"],
                    path=scope["path"],
                    status=status,
                    duration_ms=round((time.perf_counter() - started) * 1000, 3),
                )
            reset_contextvars(**bound)
