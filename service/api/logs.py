"""Structured logs (structlog): one JSON line per request, every line of a request with its id.

``configure`` sets structlog up once per process, on top of the standard library's logging, so
that the service's own lines, the request lines and those of other libraries (uvicorn, the
unhandled errors of service.api.problems) come out through one handler in one format: JSON by
default, or structlog's console renderer for a person at a terminal. Each request's id is the
client's ``X-Request-ID`` when it sent a sane one, else a new one (``new_request_id``); the door
(``service.api.door``) sets it (``request_id_var``) for every line logged while the request runs,
echoes it in the answer's headers and, once answered, writes the request's line
(``OUTAGE_REQUEST_LOG``), in batches (``RequestLines``).
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import itertools
import logging
import os
import re
import secrets
import sys
import time
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, Final

import orjson
import structlog
from structlog.typing import EventDict, Processor

from service.config import Settings

REQUEST_ID_HEADER: Final = b"x-request-id"
# What a proxy or client may send as the id: a UUID, a trace id, anything short and printable
# that cannot break a log line or a header. Anything else is replaced, not trusted.
SANE_ID: Final = re.compile(rb"[A-Za-z0-9._:@/+=-]{1,128}")
HANDLER_NAME: Final = "outage-coordinator"

REQUEST_LOGGER: Final = "service.requests"  # the "logger" of a request line


class _Stderr:
    """Whatever ``sys.stderr`` is when a line is written (a test runner may swap it), rather
    than the stream it was when the logger or handler was made."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


STDERR: Final = _Stderr()


# The id of the request being answered, set by the door (service.api.door) while it runs.
request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)


def add_request_id(_logger: object, _method: str, event: EventDict) -> EventDict:
    """A structlog processor: the id of the request being answered, on every line logged while
    it runs (one context variable of our own, where structlog's bound context variables cost a
    variable a key and a walk of the whole context at each line)."""
    found = request_id_var.get()
    if found is not None:
        event.setdefault("request_id", found)
    return event


def _stamped() -> list[Processor]:
    """What every line gets: the request's id, the level and the time (UTC, ISO 8601)."""
    return [
        add_request_id,
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


Line = tuple[float, str, str, int, float, str]  # time, method, path, status, ms, request id


class RequestLines:
    """The request lines, written in batches as nginx's ``access_log … buffer= flush=`` does.

    A request adds its line's fields to a list (a tuple, well under a microsecond); the lines
    are rendered by the renderer every other line goes through (structlog's JSON or console
    renderer) and written in one go at most ``FLUSH_SECONDS`` after the first of them, or
    once ``MOST_LINES`` wait, and when the worker stops (the app's lifespan) or the process
    exits. Rendering each line through structlog's whole processor chain as it came cost a
    fifth of a short request's time; this way a line costs its renderer and a share of one
    write. Each line keeps the time its request ended. A worker killed outright loses at most
    the last quarter of a second's request lines; every other line (warnings, errors, the
    libraries') is written as it comes.
    """

    FLUSH_SECONDS: Final = 0.25
    MOST_LINES: Final = 256

    def __init__(self, renderer: Processor | None) -> None:
        self.renderer = renderer  # None: request lines are dropped (an app made in a test)
        self.waiting: list[Line] = []
        self.flushing: asyncio.TimerHandle | None = None
        self.loop: asyncio.AbstractEventLoop | None = None  # the loop ``flushing`` is on

    def add(self, method: str, path: str, status: int, ms: float, request_id: str) -> None:
        if self.renderer is None:
            return
        self.waiting.append((time.time(), method, path, status, ms, request_id))
        if len(self.waiting) >= self.MOST_LINES:
            self.flush()
            return
        loop = asyncio.get_running_loop()
        if self.flushing is None or self.loop is not loop:  # none yet, or on a loop now gone
            self.flushing = loop.call_later(self.FLUSH_SECONDS, self.flush)
            self.loop = loop

    def flush(self) -> None:
        """Write every line waiting. A stream that cannot take them (a full disk, a closed
        pipe) loses them: a log line never fails a request or the worker."""
        if self.flushing is not None:
            self.flushing.cancel()
            self.flushing = None
        if not self.waiting or self.renderer is None:
            return
        waiting, self.waiting = self.waiting, []
        rendered = [self._render(line) for line in waiting]
        with contextlib.suppress(OSError, ValueError):  # ValueError: a closed stream
            STDERR.write("\n".join(rendered) + "\n")
            STDERR.flush()

    def _render(self, line: Line) -> str:
        at, method, path, status, ms, request_id = line
        fields = {
            "event": "request",
            "logger": REQUEST_LOGGER,
            "method": method,
            "path": path,
            "status": status,
            "duration_ms": ms,
            "request_id": request_id,
            "level": "info",
            # structlog's TimeStamper(fmt="iso", utc=True), at the request's end
            "timestamp": datetime.fromtimestamp(at, UTC).isoformat().replace("+00:00", "Z"),
        }
        assert self.renderer is not None
        return str(self.renderer(None, "info", fields))


# Made anew by each configure(); the first drops its lines, as configure(output=False) does.
request_lines = RequestLines(None)


def request_line(method: str, path: str, status: int, ms: float, request_id: str) -> None:
    """A request's line, written with the next batch (``RequestLines``)."""
    request_lines.add(method, path, status, ms, request_id)


def flush_request_lines() -> None:
    """Write the request lines waiting now (a worker's lifespan ends with it, as does the
    process)."""
    request_lines.flush()


atexit.register(flush_request_lines)


def orjson_text(value: Any, **options: Any) -> str:
    """structlog's JSONRenderer serializer: orjson, as structlog's performance notes advise, a
    fifth of the standard library's time for a request line; text, as the lines are written to
    stderr's text stream. ``options`` is what the renderer passes (its fallback ``default`` for
    values JSON has no form for, which orjson takes too)."""
    return orjson.dumps(value, default=options.get("default")).decode()


def configure(settings: Settings, *, output: bool = True) -> None:
    """Set logging up for this process: structlog's own lines straight to stderr, rendered as
    ``OUTAGE_LOG_FORMAT`` says, without the standard library's machinery (a record, a caller
    lookup and a copy per line cost several times the rest), the request lines by the same
    renderer in batches; and, with ``output``, one handler on the root logger rendering every
    library's lines the same way.

    Without ``output`` (an app made in a test, which calls it only when nothing has configured
    structlog yet) info lines are dropped and the test runner's logging is left alone; ``serve``
    and each of its workers configure with it.
    """
    renderer: list[Processor] = (
        [
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(serializer=orjson_text),
        ]
        if settings.log_format == "json"
        else [structlog.dev.ConsoleRenderer()]
    )
    global request_lines
    request_lines.flush()
    request_lines = RequestLines(renderer[-1] if output else None)
    structlog.configure(
        processors=[*_stamped(), *renderer],
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.INFO if output else logging.WARNING
        ),
        logger_factory=structlog.WriteLoggerFactory(file=STDERR),  # type: ignore[arg-type]
        cache_logger_on_first_use=True,
    )
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


class RequestIds:
    """New request ids, 32 hex digits: a random half drawn when the process starts (and again
    in each worker forked from it) and a count. As unique across a service's workers and
    restarts as a random UUID's, without asking the system for randomness at every request
    (``uuid4`` reads ``os.urandom``: about 2 µs, a tenth of what the request line costs)."""

    def __init__(self) -> None:
        self._draw()
        os.register_at_fork(after_in_child=self._draw)

    def _draw(self) -> None:
        self.prefix = secrets.token_hex(8)
        self.count = itertools.count()

    def new(self) -> str:
        return f"{self.prefix}{next(self.count) & 0xFFFF_FFFF_FFFF_FFFF:016x}"


REQUEST_IDS: Final = RequestIds()


def new_request_id(sent: bytes | None) -> str:
    """The id a client sent (``X-Request-ID``) when it is sane, else a new one (32 hex
    digits)."""
    if sent is not None and SANE_ID.fullmatch(sent):
        return sent.decode("ascii")
    return REQUEST_IDS.new()
