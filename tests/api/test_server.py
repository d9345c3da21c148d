"""The service behind a real server (``outage-coordinator serve``): a 500 leaves the keep-alive
connection open for the client's next request.

One server for the module, on a scratch SQLite database; requests go over raw sockets where what
matters is the bytes on one connection.
"""

from __future__ import annotations

import json
import socket
import sqlite3
from collections.abc import Iterable, Iterator
from typing import Any, NamedTuple

import pytest

from service.config import Settings
from service.store.migrate import upgrade
from tests.helpers import ServerProcess, serving


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    folder = tmp_path_factory.mktemp("server")
    url = f"sqlite+aiosqlite:///{folder / 'coordinator.db'}"
    upgrade(Settings(database_url=url))
    with serving(url, folder / "var", folder / "server.log") as running:
        yield running


@pytest.fixture(scope="module")
def admin(server: ServerProcess) -> str:
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


def connect(server: ServerProcess) -> socket.socket:
    connection = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    return connection


def get(path: str, *headers: bytes) -> list[bytes]:
    return [b"GET " + path.encode() + b" HTTP/1.1\r\nHost: test\r\n" + b"".join(headers) + b"\r\n"]


@pytest.fixture
def events_table_gone(server: ServerProcess) -> Iterator[None]:
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
    server: ServerProcess, admin: str, events_table_gone: None
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
