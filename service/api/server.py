"""What the HTTP server itself answers: a request head too large (431) or not valid HTTP (400),
as problem+json like every other refusal.

``outage-coordinator serve`` runs uvicorn with ``HeadLimitedProtocol``: uvicorn's httptools
protocol (what ``uvicorn[standard]`` runs by default), with two changes.

- uvicorn's httptools protocol reads a request head of any size: a 32 MB header value reached
  the app, and the parser gathered it at a cost of several times its size in memory. Here the
  bytes of a head are counted as they are read, and a head larger than
  ``OUTAGE_MAX_HEAD_BYTES`` is answered 431 and the connection closed as soon as the count
  passes the limit, before the rest is read. (uvicorn's h11 protocol has a limit,
  ``h11_max_incomplete_event_size``, but answers it 400 in text/plain, and is slower.)
- uvicorn's protocols wait for a request head as long as it takes: a client sending one a
  byte at a time, or opening a connection and sending nothing, held its connection (and its
  place among the file descriptors) for good; 4,000 such connections stayed open. Here a head
  must arrive whole within ``OUTAGE_HEAD_TIMEOUT_SECONDS`` of its first byte (of the
  connection's opening, for its first request), as nginx's ``client_header_timeout`` and Go's
  ``ReadHeaderTimeout`` have it. A head begun and not finished by then is answered 408 and the
  connection closed; a connection that sent nothing at all is closed without an answer, as
  uvicorn closes an idle keep-alive connection (``timeout_keep_alive``, 5 s, between
  requests). The body is not timed here: the app reads it, and the body limit bounds it.
- A request the parser refuses (a control character in a header, a malformed request line, a
  bad chunk) was answered 400 in text/plain; here it is problem+json, with the parser's reason.

Both are answered by the server, before any app sees the request, and end the connection: the
parser cannot find where the next request would start. The end lingers: a connection closed
while the client is still sending is reset, and the reset can destroy the answer before the
client reads it (four concurrent 32 MB headers sent by httpx got four ``ReadError``s and no 431).
So the answer goes out with a FIN, what the client still sends is read and dropped, and the
connection closes when the client closes its end, or after ``LINGER_SECONDS``.

A head is counted from the first read after the request before it; a pipelined request arriving
in the same read as the end of the one before it is counted from the next read (HTTP clients
rarely pipeline).

Like the app (``service.app.app_factory``), each worker reads its limit from the environment.
"""

from __future__ import annotations

import asyncio
import json
import sys
from functools import cache
from http import HTTPStatus
from typing import Any, Final

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from service.api.problems import PROBLEM_JSON, problem_body
from service.config import Settings

# uvicorn's own argument, by import path like the app's factory: each worker imports it.
PROTOCOL: Final = "service.api.server:HeadLimitedProtocol"
LINGER_SECONDS: Final = 5.0


@cache
def max_head_bytes() -> int:
    return Settings().max_head_bytes


@cache
def head_timeout_seconds() -> float:
    return Settings().head_timeout_seconds


class HeadLimitedProtocol(HttpToolsProtocol):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.max_head_bytes = max_head_bytes()
        self.head_bytes = 0  # of the head being read
        self.in_head = True  # False from the end of a head to the end of its body
        self.refused = False  # once answered 431, 400 or 408: what comes is dropped
        self.head_timeout = head_timeout_seconds()
        self.head_timer: asyncio.TimerHandle | None = None  # while a head is awaited

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._await_head()

    def connection_lost(self, exc: Exception | None) -> None:
        self._head_arrived()
        super().connection_lost(exc)

    def _await_head(self) -> None:
        if self.head_timer is None:
            self.head_timer = self.loop.call_later(self.head_timeout, self._head_too_slow)

    def _head_arrived(self) -> None:
        if self.head_timer is not None:
            self.head_timer.cancel()
            self.head_timer = None

    def _head_too_slow(self) -> None:
        self.head_timer = None
        if self.refused or self.transport.is_closing():
            return
        if self.head_bytes == 0:  # nothing of a request: an idle connection, closed
            self.transport.close()
            return
        timeout = self.head_timeout
        self.refuse(
            HTTPStatus.REQUEST_TIMEOUT,
            f"the request head (request line and headers) did not arrive whole within "
            f"{timeout:g} s",
            timeout_seconds=timeout,
        )

    def data_received(self, data: bytes) -> None:
        if self.refused:
            return
        if self.in_head:
            self._await_head()  # from the first byte of a head after a request
        # While a head is being read, the parser gets no more than the room left under the
        # limit; a head still unfinished with no room left is refused.
        while self.in_head and data:
            room = self.max_head_bytes - self.head_bytes
            if room <= 0:
                limit = self.max_head_bytes
                self.refuse(
                    HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE,
                    f"the request head (request line and headers) passed {limit} bytes",
                    limit=limit,
                )
                return
            piece, data = (data, b"") if len(data) <= room else (data[:room], data[room:])
            self.head_bytes += len(piece)
            super().data_received(piece)
            if self.transport.is_closing():
                return
        if data:
            super().data_received(data)

    def on_headers_complete(self) -> None:
        self.in_head = False
        self._head_arrived()
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self.in_head, self.head_bytes = True, 0

    def send_400_response(self, msg: str) -> None:
        # uvicorn calls this while handling the parser's HttpParserError, whose message is the
        # reason worth telling ("Invalid header value char"); its own msg is a fixed sentence.
        error = sys.exc_info()[1]
        reason = f": {error}" if error is not None and str(error) else ""
        self.refuse(
            HTTPStatus.BAD_REQUEST,
            f"the request is not valid HTTP/1.1{reason}. Header names and values may not hold "
            "control characters other than tab",
        )

    def refuse(self, status: HTTPStatus, detail: str, **extra: Any) -> None:
        """Answer ``status`` as problem+json and end the connection, lingering."""
        problem = problem_body(status, status.phrase, detail, **extra)
        body = json.dumps(problem, separators=(",", ":")).encode()
        head = [f"HTTP/1.1 {status.value} {status.phrase}\r\n".encode()]
        defaults = self.server_state.default_headers  # date, server, as uvicorn sends them
        head += [name + b": " + value + b"\r\n" for name, value in defaults]
        head += [
            f"content-type: {PROBLEM_JSON}\r\n".encode(),
            f"content-length: {len(body)}\r\n".encode(),
            b"connection: close\r\n\r\n",
        ]
        self.transport.write(b"".join([*head, body]))
        self.refused = True
        if not self.transport.can_write_eof():  # TLS: no half-close
            self.transport.close()
            return
        self.transport.write_eof()
        self.loop.call_later(LINGER_SECONDS, self.transport.close)
