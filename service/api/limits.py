"""The size of a request body: past ``OUTAGE_MAX_BODY_BYTES`` is 413, before it is read whole.

A pure ASGI middleware around the token check and the app. A body that declares its size
(``Content-Length``) too large is refused at once, from the head alone: nothing of it reaches the
app, and no token is looked up for a request the service would never read (the limit is public,
so the refusal tells an unknown caller nothing). A body that does not declare it (chunked) is
counted as the app reads it, which comes after the token check, and refused as soon as the count
passes the limit; what was read is dropped with the request. A declared size within the limit
needs no counting: the server delivers no more than it declares.

The connection stays open, and the server reads the rest of the body and drops it as it comes
(memory stays flat). Closing it would spare that reading, but a connection closed while the
client is still sending is reset, and the reset can reach the client before it reads the 413:
four concurrent 91 MB bodies refused with ``Connection: close`` left an httpx client with a
``ReadError`` instead of the answer.
"""

from __future__ import annotations

from typing import Final

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.api.problems import problem, speaking
from service.words import _

TOO_LARGE: Final = "Content Too Large"
DISCONNECT: Final[Message] = {"type": "http.disconnect"}


def declared_length(headers: list[tuple[bytes, bytes]]) -> int | None:
    """The body size a request declares, or None when it is sent chunked (or declares none).

    A chunked body's size is its chunks', whatever a Content-Length beside it says (RFC 9112
    6.3), and the server parses Content-Length before the app sees it.
    """
    length = None
    for name, value in headers:
        if name == b"transfer-encoding":
            return None
        if name == b"content-length" and value.isdigit():
            length = int(value)
    return length


class BodyLimit:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = declared_length(scope["headers"])
        if declared is not None:
            if declared > self.max_bytes:
                await self.refuse(scope, receive, send, declared)
            else:
                await self.app(scope, receive, send)
            return
        await _Counted(self, scope, receive, send).run()

    async def refuse(
        self, scope: Scope, receive: Receive, send: Send, declared: int | None
    ) -> None:
        """413: the body declared ``declared`` bytes, or (None) passed the limit as it came."""
        limit = self.max_bytes
        with speaking():
            if declared is not None:
                sent = _("声明了 {declared} 字节", declared=declared)
            else:
                sent = _("在结束前已超过 {limit} 字节", limit=limit)
            detail = _("请求体{sent}；最多接受 {limit} 字节", sent=sent, limit=limit)
        answer = problem(
            413,
            TOO_LARGE,
            detail,
            errors=[{"field": "body", "message": detail}],
            limit=limit,
        )
        await answer(scope, receive, send)


class _Counted:
    """One request whose body is counted as the app receives it.

    Past the limit the 413 goes out at once (unless the app has begun an answer of its own), and
    the app is told the client left (``http.disconnect``): it stops reading, and whatever it
    answers to that is dropped.
    """

    def __init__(self, limit: BodyLimit, scope: Scope, receive: Receive, send: Send) -> None:
        self.limit = limit
        self.scope = scope
        self.receive_from = receive
        self.send_to = send
        self.received = 0
        self.started = False
        self.refused = False

    async def run(self) -> None:
        await self.limit.app(self.scope, self.receive, self.send)

    async def receive(self) -> Message:
        if self.refused:
            return DISCONNECT
        message = await self.receive_from()
        if message["type"] != "http.request":
            return message
        self.received += len(message.get("body", b""))
        if self.received <= self.limit.max_bytes:
            return message
        self.refused = True
        if self.started:
            raise BodyTooLate(self.limit.max_bytes)
        await self.limit.refuse(self.scope, self.receive_from, self.send_to, None)
        return DISCONNECT

    async def send(self, message: Message) -> None:
        if self.refused:
            return
        if message["type"] == "http.response.start":
            self.started = True
        await self.send_to(message)


class BodyTooLate(Exception):
    """A body passed the limit after the app had begun its answer: the answer is cut short."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"the request body passed {limit} bytes after the answer began")
