"""The door: the one layer of the service's own that every HTTP request passes on its way in,
and its answer on its way out.

In, in this order:

1. the request's id: the client's ``X-Request-ID`` when it is sane, else a new one
   (``service.api.logs``), bound for every line logged while the request runs;
2. under ``/api/``, the language it asks for (``Accept-Language``, ``service.api.language``):
   what it is told, problems included, is said in it;
3. the body's declared size: past ``OUTAGE_MAX_BODY_BYTES`` it is refused 413 from the head
   alone (``service.api.limits``), before any token is looked up; a chunked body is counted as
   the app reads it;
4. under ``/api/``, the bearer token (``service.api.auth``): 401 without a valid one, 429 for
   an address that sent too many wrong ones; the verified caller is left in the request's state.

Out: the id echoed in the answer's headers; an error nothing else handled answered 500 (storage
trouble 503 or 507, ``service.api.problems``) with the connection kept open; once answered, the
request's count and time for /metrics (``OUTAGE_METRICS``) and its line (``OUTAGE_REQUEST_LOG``).

One layer rather than one a job: every layer a request passes is a call of its own, and every
layer that watches the answer wraps each message sent. Here the headers are read in one pass and
one watcher (``Watched``) sees what is sent; each job stays a named piece of its own module,
which the door runs in order.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Final

from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.api.auth import TokenCheck
from service.api.language import API_PREFIX, SpeakingAs
from service.api.limits import BodyLimit, WrongTokens
from service.api.logs import REQUEST_ID_HEADER, new_request_id, request_id_var, request_line
from service.api.metrics import RequestMetrics
from service.api.problems import answer_unexpected
from service.errors import Trouble

log = logging.getLogger(__name__)

_LANGUAGE: Final = b"accept-language"
_AUTHORIZATION: Final = b"authorization"
_LENGTH: Final = b"content-length"
_CHUNKED: Final = b"transfer-encoding"


class Head:
    """What the door reads of a request's headers, in one pass."""

    __slots__ = ("authorization", "chunked", "language", "length", "request_id")

    def __init__(self, headers: list[tuple[bytes, bytes]]) -> None:
        self.request_id: bytes | None = None
        self.language: bytes | None = None
        self.authorization: bytes | None = None
        self.length: int | None = None
        self.chunked = False
        for name, value in headers:
            if name == REQUEST_ID_HEADER:
                self.request_id = self.request_id or value  # the first, as before
            elif name == _LANGUAGE:
                self.language = self.language or value
            elif name == _AUTHORIZATION:
                self.authorization = self.authorization or value
            elif name == _LENGTH:
                if value.isdigit():
                    self.length = int(value)
            elif name == _CHUNKED:
                # A chunked body's size is its chunks', whatever a Content-Length beside it
                # says (RFC 9112 6.3): counted as it comes.
                self.chunked = True
        if self.chunked:
            self.length = None


class Watched:
    """The one watcher of what the app sends: the status, whether the answer began and ended,
    and the request's id added to the answer's headers."""

    __slots__ = ("echoed", "finished", "send_to", "started", "status")

    def __init__(self, send: Send, request_id: str) -> None:
        self.send_to = send
        self.echoed = (REQUEST_ID_HEADER, request_id.encode("ascii"))
        self.status = 500  # what the client gets when the app fails before it answers
        self.started = False
        self.finished = False

    async def send(self, message: Message) -> None:
        kind = message["type"]
        if kind == "http.response.start":
            self.started = True
            self.status = message["status"]
            message = {**message, "headers": [*message.get("headers", ()), self.echoed]}
        elif kind == "http.response.body" and not message.get("more_body"):
            self.finished = True
        await self.send_to(message)


class Door:
    """Pure ASGI, outermost of the service's own layers: see the module's docstring.

    ``storage_trouble`` (``service.store.trouble.trouble_of``, given by the app's wiring) tells
    storage trouble from a bug; ``metrics`` is None when /metrics is off.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        wrong_tokens: WrongTokens,
        max_body_bytes: int,
        log_requests: bool,
        metrics: RequestMetrics | None = None,
        storage_trouble: Callable[[BaseException], Trouble | None] = lambda _error: None,
    ) -> None:
        self.app = app
        self.body_limit = BodyLimit(app, max_body_bytes)
        self.token_check = TokenCheck(wrong_tokens)
        self.log_requests = log_requests
        self.metrics = metrics
        self.storage_trouble = storage_trouble

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        head = Head(scope["headers"])
        request_id = new_request_id(head.request_id)
        watched = Watched(send, request_id)
        bound = request_id_var.set(request_id)
        started = time.perf_counter()
        try:
            if scope["path"].startswith(API_PREFIX):
                with SpeakingAs(head.language):
                    await self._let_in(scope, receive, watched, head, api=True)
            else:
                await self._let_in(scope, receive, watched, head, api=False)
        finally:
            took = time.perf_counter() - started
            if self.metrics is not None:
                self.metrics.record(scope, watched.status, took)
            if self.log_requests:
                ms = round(took * 1000, 3)
                request_line(scope["method"], scope["path"], watched.status, ms, request_id)
            request_id_var.reset(bound)

    async def _let_in(
        self, scope: Scope, receive: Receive, watched: Watched, head: Head, *, api: bool
    ) -> None:
        """The request refused for its size or (``api``) its token, or let in; an error nothing
        else handled answered here."""
        try:
            if head.length is not None and self.body_limit.too_large(head.length):
                await self.body_limit.refuse(scope, receive, watched.send, head.length)
                return
            if api:
                refusal = await self.token_check.refusal(scope, head.authorization)
                if refusal is not None:
                    await refusal(scope, receive, watched.send)
                    return
            if head.chunked:
                await self.body_limit.counting(scope, receive, watched.send)
            else:
                await self.app(scope, receive, watched.send)
        except ClientDisconnect:
            # The client went away before its body was read whole (or the body limit refused
            # it and told the app so): no one is left to answer, and nothing went wrong here.
            log.info("client went away in %s %s", scope["method"], scope["path"])
        except Exception as error:
            if watched.started and not watched.finished:
                raise  # an answer cut short: closing the connection is the one way to say so
            await answer_unexpected(
                error, self.storage_trouble(error), scope, receive, watched.send, watched.started
            )
