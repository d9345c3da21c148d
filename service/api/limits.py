"""The limits the app keeps at its door: the size of a request body (``BodyLimit``), and how
many wrong tokens one address may send (``WrongTokens``).

The size of a request body: past ``OUTAGE_MAX_BODY_BYTES`` is 413, before it is read whole.

Kept at the door (``service.api.door``), before the token check. A body that declares its size
(``Content-Length``) too large is refused at once, from the head alone: nothing of it reaches the
app, and no token is looked up for a request the service would never read (the limit is public,
so the refusal tells an unknown caller nothing). A body sent chunked, of no declared size, is
counted as the app reads it, which comes after the token check, and refused as soon as the count
passes the limit; what was read is dropped with the request. A declared size within the limit
needs no counting: the server delivers no more than it declares; nor does a request that declares
neither, which has no body (RFC 9112 6.3).

The connection stays open, and the server reads the rest of the body and drops it as it comes
(memory stays flat). Closing it would spare that reading, but a connection closed while the
client is still sending is reset, and the reset can reach the client before it reads the 413:
four concurrent 91 MB bodies refused with ``Connection: close`` left an httpx client with a
``ReadError`` instead of the answer.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from typing import Final

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.api.problems import problem, speaking
from service.errors import Said, TooManyRequests
from service.words import _

TOO_LARGE: Final = "Content Too Large"
DISCONNECT: Final[Message] = {"type": "http.disconnect"}


class BodyLimit:
    """The body limit the door (``service.api.door``) keeps in front of ``app``."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    def too_large(self, declared: int) -> bool:
        return declared > self.max_bytes

    async def counting(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The app, its body (chunked: of no declared size) counted as the app reads it."""
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


# Wrong tokens (design § Limits): this many from one address within the window, and the next
# token from it that this worker has not seen valid is answered 429 until the oldest of them
# leaves the window.
WRONG_TOKENS: Final = 10
WRONG_TOKEN_WINDOW_SECONDS: Final = 60.0
# How many addresses, and valid tokens, one worker remembers (the least recent go first).
REMEMBERED: Final = 10_000


def client_address(scope: Scope) -> str:
    """The caller's address: the peer's, or the one a trusted proxy names (uvicorn's
    ``--forwarded-allow-ips``, loopback by default)."""
    client = scope.get("client")
    return str(client[0]) if client else ""


def _digest(token: str) -> bytes:
    return hashlib.blake2b(token.encode(), digest_size=16).digest()


class WrongTokens:
    """Counts the wrong tokens (unknown or revoked) each address sends, in one worker.

    After ``most`` within ``window`` seconds the address is held: a token from it is refused
    (429, ``Retry-After`` the seconds until the oldest wrong one leaves the window) without
    being looked up, unless this worker has found that token valid before. So a guesser or a
    client stuck on a revoked token costs the database nothing while it is held, and a device
    with a good token behind the same address (a control room's NAT) keeps working. A request
    with no token at all costs no look-up and is not counted; a refused (429) one is not
    counted either, so the hold ends on its own once the address slows down.
    """

    def __init__(
        self,
        most: int = WRONG_TOKENS,
        window: float = WRONG_TOKEN_WINDOW_SECONDS,
        clock: Callable[[], float] = time.monotonic,
        remembered: int = REMEMBERED,
    ) -> None:
        self.most = most
        self.window = window
        self.clock = clock
        self.remembered = remembered
        self._wrong: OrderedDict[str, deque[float]] = OrderedDict()
        self._valid: OrderedDict[bytes, None] = OrderedDict()

    def check(self, address: str, token: str) -> None:
        """Raise ``TooManyRequests`` while ``address`` is held and ``token`` is not known valid."""
        times = self._wrong.get(address)
        if times is None or len(times) < self.most:
            return
        now = self.clock()
        while times and times[0] <= now - self.window:
            times.popleft()
        if len(times) < self.most or _digest(token) in self._valid:
            return
        wait = max(1, math.ceil(times[0] + self.window - now))
        raise TooManyRequests(
            Said(
                "此地址在 {window} 秒内送来 {most} 个错误令牌；请在 {wait} 秒后重试",
                window=int(self.window),
                most=self.most,
                wait=wait,
            ),
            retry_after=wait,
        )

    def forget(self) -> None:
        """Forget every address and token: a fresh start, as a restarted worker makes."""
        self._wrong.clear()
        self._valid.clear()

    def wrong(self, address: str, token: str) -> None:
        """``token`` from ``address`` was unknown or revoked."""
        self._valid.pop(_digest(token), None)
        times = self._wrong.pop(address, None) or deque(maxlen=self.most)
        times.append(self.clock())
        self._wrong[address] = times  # the most recent last
        if len(self._wrong) > self.remembered:
            self._wrong.popitem(last=False)

    def valid(self, token: str) -> None:
        """``token`` was found valid."""
        digest = _digest(token)
        self._valid[digest] = None
        self._valid.move_to_end(digest)
        if len(self._valid) > self.remembered:
            self._valid.popitem(last=False)
