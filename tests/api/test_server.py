"""The service behind a real server (``outage-coordinator serve``), where the limits and the
server's own answers live: a 64 MB body and a 32 MB header are refused while the server's memory
stays flat (four at once as well), a header with a control character is a problem+json 400, and
a 500 leaves the keep-alive connection open for the client's next request.

One server for the module, on a scratch SQLite database; requests go over raw sockets where what
matters is the bytes on one connection.
"""

from __future__ import annotations

import asyncio
import json
import select
import socket
import sqlite3
import time
from collections.abc import AsyncIterator, Iterable, Iterator
from contextlib import suppress
from typing import Any, NamedTuple

import httpx
import pytest

from service.config import Settings
from service.store.migrate import upgrade
from tests.helpers import Service, serve, service_env

# One worker runs the module (make test: --dist loadgroup), so its servers start once.
pytestmark = [pytest.mark.process, pytest.mark.xdist_group("server")]

MiB = 1024 * 1024
# How much the server's peak resident memory may grow while it refuses a body or a head of tens
# of megabytes: what it reads before refusing (at most a limit's worth), and the allocator's
# slack. Read whole, the body cost 200 MB and the header 260 MB.
FLAT_KIB = 4 * 1024


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    folder = tmp_path_factory.mktemp("server")
    url = f"sqlite+aiosqlite:///{folder / 'coordinator.db'}"
    upgrade(Settings(database_url=url))
    env = service_env(url, folder / "var", escalation_interval_seconds="0")
    with serve(env, 1, folder / "server.log", upgrade=False) as running:
        yield running


@pytest.fixture(scope="module")
def admin(server: Service) -> str:
    """The bootstrap admin token the first start wrote."""
    return (server.log.parent / "var" / "admin-token").read_text().strip()


class Answer(NamedTuple):
    status: int
    headers: dict[str, str]
    body: bytes

    def problem(self) -> dict[str, Any]:
        assert self.headers["content-type"] == "application/problem+json", self
        problem: dict[str, Any] = json.loads(self.body)
        assert problem["status"] == self.status
        return problem


def exchange(connection: socket.socket, request: Iterable[bytes]) -> Answer:
    """Send ``request`` piece by piece on ``connection`` and read one answer.

    A server that refuses early closes the connection while the rest is being sent: sending
    stops there, and the answer already sent is read.
    """
    try:
        for piece in request:
            connection.sendall(piece)
    except (BrokenPipeError, ConnectionResetError):
        pass
    reader = connection.makefile("rb")
    status = int(reader.readline().split()[1])
    headers: dict[str, str] = {}
    while (line := reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    body = reader.read(int(headers.get("content-length", "0")))
    return Answer(status, headers, body)


def connect(server: Service) -> socket.socket:
    connection = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    return connection


def get(path: str, *headers: bytes) -> list[bytes]:
    return [b"GET " + path.encode() + b" HTTP/1.1\r\nHost: test\r\n" + b"".join(headers) + b"\r\n"]


def megabytes(count: int, byte: bytes = b" ") -> Iterator[bytes]:
    """``count`` MiB, a MiB at a time: the test never holds more."""
    block = byte * MiB
    for _ in range(count):
        yield block


def oversized(token: str, declared: bool, megabytes_sent: int) -> tuple[dict[str, str], Any]:
    """The headers and the streamed content of a POST /classify body of ``megabytes_sent`` MiB."""
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    if declared:
        headers["Content-Length"] = str(megabytes_sent * MiB + len(b'{"snapshots": ['))

    async def body() -> AsyncIterator[bytes]:
        yield b'{"snapshots": ['
        for block in megabytes(megabytes_sent):
            yield block

    return headers, body()


@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "chunked"])
async def test_64_mb_bodies_are_413_at_once_and_memory_stays_flat(
    server: Service, admin: str, declared: bool
) -> None:
    """One, then four at once: each client reads its 413 (the connection is not reset under it)
    while the server's peak memory stays within what it reads before refusing."""
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:

        async def post(megabytes_sent: int) -> httpx.Response:
            headers, content = oversized(admin, declared, megabytes_sent)
            return await client.post("/api/v1/classify", content=content, headers=headers)

        warm = await post(2)  # the same path, once
        assert warm.status_code == 413, warm.text
        before = server.reset_peak_memory()
        alone = await post(64)
        grown_alone = server.memory_kib() - before
        together = await asyncio.gather(*(post(64) for _ in range(4)))
        grown_together = server.memory_kib() - before

    for response in (alone, *together):
        assert response.status_code == 413, response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["limit"] == MiB
    assert grown_alone <= FLAT_KIB, f"the server's peak memory grew by {grown_alone} KiB"
    assert grown_together <= 4 * FLAT_KIB, f"the server's peak memory grew by {grown_together} KiB"


async def test_32_mb_headers_are_431_and_memory_stays_flat(server: Service) -> None:
    """uvicorn's httptools protocol read one whole (peak memory +260 MB) and /healthz answered
    200. One over a raw socket, then four at once from httpx, which got a reset instead of its
    answer until the server lingered before closing."""
    with connect(server) as warm:  # the same path, once
        assert exchange(warm, get("/healthz", b"X-Big: " + b"a" * 20000 + b"\r\n")).status == 431
    before = server.reset_peak_memory()

    with connect(server) as connection:
        answer = exchange(
            connection,
            [b"GET /healthz HTTP/1.1\r\nHost: test\r\nX-Big: ", *megabytes(32, b"a"), b"\r\n\r\n"],
        )
    grown = server.memory_kib() - before
    big = "a" * 32 * MiB
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
        together = await asyncio.gather(
            *(client.get("/healthz", headers={"X-Big": big}) for _ in range(4))
        )

    assert answer.status == 431
    problem = answer.problem()
    assert problem["title"] == "Request Header Fields Too Large"
    assert problem["limit"] == Settings().max_head_bytes
    assert answer.headers["connection"] == "close"
    assert grown <= FLAT_KIB, f"the server's peak memory grew by {grown} KiB"
    assert [r.status_code for r in together] == [431] * 4
    assert server.memory_kib() - before <= FLAT_KIB


def test_a_head_at_the_limit_is_read_and_one_byte_more_is_431(server: Service) -> None:
    limit = Settings().max_head_bytes
    start = b"GET /healthz HTTP/1.1\r\nHost: test\r\nX-Pad: "

    def head(size: int) -> bytes:
        return start + b"p" * (size - len(start) - 4) + b"\r\n\r\n"

    assert len(head(limit)) == limit
    with connect(server) as connection:
        at_limit = exchange(connection, [head(limit)])
        # the connection is kept: the next head is counted from zero
        again = exchange(connection, [head(limit)])
        past_limit = exchange(connection, [head(limit + 1)])

    assert (at_limit.status, again.status) == (200, 200)
    assert past_limit.status == 431


@pytest.mark.parametrize(
    "header",
    [
        b"Idempotency-Key: key\x011",
        b"Authorization: Bearer oc_\x01token",
        b"X-Note: a\x00b",
        b"X\x01Name: value",
    ],
    ids=["idempotency-key", "authorization", "nul", "name"],
)
def test_a_control_character_in_a_header_is_a_problem_json_400(
    server: Service, header: bytes
) -> None:
    """The server's parser refuses the request before the app sees it; its answer is problem+json
    (it was text/plain), with the parser's reason."""
    with connect(server) as connection:
        answer = exchange(connection, get("/api/v1/events", header + b"\r\n"))

    assert answer.status == 400
    problem = answer.problem()
    assert problem["title"] == "Bad Request"
    assert problem["detail"].startswith("the request is not valid HTTP/1.1: Invalid header")
    assert answer.headers["connection"] == "close"


@pytest.fixture
def events_table_gone(server: Service) -> Iterator[None]:
    """The database breaks under the running service: the events table is renamed away."""
    database = sqlite3.connect(server.log.parent / "coordinator.db")
    try:
        database.execute("ALTER TABLE events RENAME TO events_away")
        database.commit()
        yield
    finally:
        database.execute("ALTER TABLE events_away RENAME TO events")
        database.commit()
        database.close()


def test_a_500_keeps_the_connection_and_says_nothing_internal(
    server: Service, admin: str, events_table_gone: None
) -> None:
    """uvicorn closed the connection after every 500, so the client's next request on it failed
    (a reset: was it received?). The error is logged, not told."""
    token = b"Authorization: Bearer " + admin.encode() + b"\r\n"
    with connect(server) as connection:
        failed = exchange(connection, get("/api/v1/events", token))
        after = exchange(connection, get("/healthz"))
        again = exchange(connection, get("/api/v1/events", token))

    assert failed.status == 500
    assert failed.problem() == {
        "type": "about:blank",
        "title": "Internal error",
        "status": 500,
        "detail": "the service failed; the error is logged",
    }
    assert "connection" not in failed.headers
    assert (after.status, json.loads(after.body)) == (200, {"status": "ok", "database": "ok"})
    assert again.status == 500
    log = server.log.read_text()
    assert "unhandled error in GET /api/v1/events" in log
    assert "no such table: events" in log


# --- a request head sent slowly ----------------------------------------------------------------

HEAD_TIMEOUT = 1.0
# How long the test waits at most for the server to act on a head sent slowly: a bound on a
# failing test, not a measure.
PATIENCE = 15.0


@pytest.fixture(scope="module")
def impatient_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    folder = tmp_path_factory.mktemp("impatient")
    url = f"sqlite+aiosqlite:///{folder / 'coordinator.db'}"
    upgrade(Settings(database_url=url))
    env = service_env(
        url,
        folder / "var",
        escalation_interval_seconds="0",
        head_timeout_seconds=str(HEAD_TIMEOUT),
    )
    with serve(env, 1, folder / "server.log", upgrade=False) as running:
        yield running


def test_a_head_sent_slowly_is_cut_and_others_are_answered_throughout(
    impatient_server: Service,
) -> None:
    """Slow clients each send a head a byte at a time, and one opens a connection and sends
    nothing: uvicorn held them all for as long as they liked. Each slow one is answered 408
    and closed, the silent one closed, while a client sending whole heads meanwhile gets every
    answer."""
    head = b"GET /healthz HTTP/1.1\r\nHost: test\r\nX-Slow: " + b"s" * 200 + b"\r\n\r\n"
    slow = [connect(impatient_server) for _ in range(20)]
    silent = connect(impatient_server)
    answered: list[int] = []
    sent = 0
    started = time.monotonic()
    with connect(impatient_server) as brisk:
        try:
            while time.monotonic() - started < PATIENCE and sent < len(head) - 1:
                for connection in slow:
                    with suppress(OSError):  # cut: the answer is read below
                        connection.sendall(head[sent : sent + 1])
                sent += 1
                answered.append(exchange(brisk, get("/healthz")).status)
                time.sleep(0.05)
                if select.select(slow, [], [], 0)[0] == slow:
                    break  # every slow one has its answer
            cut = [exchange(connection, []) for connection in slow]
            silent.settimeout(PATIENCE)
            silence = silent.recv(1)
        finally:
            for connection in (*slow, silent):
                connection.close()

    assert sent < len(head) - 1, "no slow head was cut"
    assert answered and set(answered) == {200}
    for answer in cut:
        assert answer.status == 408
        problem = answer.problem()
        assert problem["title"] == "Request Timeout"
        assert problem["timeout_seconds"] == HEAD_TIMEOUT
        assert answer.headers["connection"] == "close"
    assert silence == b""  # closed without an answer


def test_a_head_sent_whole_is_not_timed_after_it_arrives(impatient_server: Service) -> None:
    """The clock stops when a head is whole, and starts again at the next head's first byte: a
    keep-alive connection quiet between requests for longer than the head timeout (but less
    than uvicorn's keep-alive of 5 s) is answered again."""
    with connect(impatient_server) as connection:
        first = exchange(connection, get("/healthz"))
        time.sleep(HEAD_TIMEOUT * 2)
        second = exchange(connection, get("/healthz"))
    assert (first.status, second.status) == (200, 200)


async def test_an_oversized_chunked_sign_in_is_413_and_logs_no_error(server: Service) -> None:
    """The board's sign-in reads its form; the body limit cut it short and told the app the
    client left, and Starlette's ``ClientDisconnect`` was logged as an unhandled error with its
    traceback."""
    before = len(server.log_text())

    async def body() -> AsyncIterator[bytes]:
        yield b"token="
        for block in megabytes(2, b"a"):
            yield block

    async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
        answer = await client.post(
            "/board/login",
            content=body(),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        after = await client.get("/healthz")

    assert answer.status_code == 413, answer.text
    assert after.status_code == 200
    logged = server.log_text()[before:]
    assert "unhandled error" not in logged
    assert "ClientDisconnect" not in logged
