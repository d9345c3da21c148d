"""Storage trouble: the database cannot be reached, refuses writes, or has no room left.

None of these is the request's fault or a bug of the service, and each passes of itself or by an
operator's hand (a restarted server, a freed disk), so the service answers them as a clear
"not now" (service.api.problems: 503 or 507 with Retry-After) and keeps serving what it still can:
on a full disk, reads go on. ``trouble_of`` tells such an error from any other by what the driver
said (SQLite's result code, PostgreSQL's SQLSTATE, the socket's errno); everything it does not
know stays an error of the service.

``StorageWatch`` keeps one process's incident: the first refusal of a kind logs one line with the
driver's words, the rest are counted, and the line saying it is over (how long, how many refused)
comes when a probe finds the database well again (service.flows.health), not at the first
request that happens to succeed.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import os
import socket
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, InterfaceError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncEngine

from service.errors import Trouble

log = logging.getLogger(__name__)

# Below this much room a SQLite database counts as full (``room``): a report's transaction
# appends tens of KB to the write-ahead log, and a disk with less than a MB left is refusing
# some of them already, or will at the next.
ROOM_NEEDED: Final = 1 << 20


# SQLite's primary result codes (https://sqlite.org/rescode.html); an extended code carries its
# primary one in the low byte.
SQLITE_CODES: Final = {
    sqlite3.SQLITE_FULL: Trouble.FULL,
    sqlite3.SQLITE_READONLY: Trouble.READ_ONLY,
    sqlite3.SQLITE_CANTOPEN: Trouble.UNREACHABLE,
    sqlite3.SQLITE_IOERR: Trouble.IO_ERROR,
}
# PostgreSQL's SQLSTATEs (Appendix A of its manual): whole classes, then single codes.
SQLSTATE_CLASSES: Final = {"08": Trouble.UNREACHABLE}  # connection_exception
SQLSTATES: Final = {
    "25006": Trouble.READ_ONLY,  # read_only_sql_transaction (a standby, or set read-only)
    "53100": Trouble.FULL,  # disk_full
    "53300": Trouble.UNREACHABLE,  # too_many_connections
    "57P01": Trouble.UNREACHABLE,  # admin_shutdown
    "57P02": Trouble.UNREACHABLE,  # crash_shutdown
    "57P03": Trouble.UNREACHABLE,  # cannot_connect_now (starting up or shutting down)
    "58030": Trouble.IO_ERROR,  # io_error
}
ERRNOS: Final = {
    errno.ECONNREFUSED: Trouble.UNREACHABLE,
    errno.ECONNRESET: Trouble.UNREACHABLE,
    errno.ECONNABORTED: Trouble.UNREACHABLE,
    errno.EPIPE: Trouble.UNREACHABLE,
    errno.EHOSTUNREACH: Trouble.UNREACHABLE,
    errno.ENETUNREACH: Trouble.UNREACHABLE,
    errno.ETIMEDOUT: Trouble.UNREACHABLE,
    errno.ENOSPC: Trouble.FULL,
    errno.EDQUOT: Trouble.FULL,
    errno.EROFS: Trouble.READ_ONLY,
    errno.EIO: Trouble.IO_ERROR,
}


def trouble_of(error: BaseException) -> Trouble | None:
    """The storage trouble ``error`` shows, or None when it is some other error.

    Looks at the error, what SQLAlchemy wrapped (``orig``) and what it was raised from: a
    connection refused while the pool connects comes unwrapped (an ``OSError``), a statement's
    failure wrapped in a ``DBAPIError``.
    """
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        found = _one(current)
        if found is not None:
            return found
        current = getattr(current, "orig", None) or current.__cause__
    return None


def _one(error: BaseException) -> Trouble | None:
    if isinstance(error, DBAPIError) and error.connection_invalidated:
        return Trouble.UNREACHABLE  # SQLAlchemy found the connection gone and dropped it
    if isinstance(error, InterfaceError | PoolTimeout | TimeoutError | socket.gaierror):
        # a closed connection; no connection free in time; a connect that timed out (asyncpg's
        # connect timeout); a server name that does not resolve
        return Trouble.UNREACHABLE
    code = getattr(error, "sqlite_errorcode", None)
    if isinstance(code, int):
        return SQLITE_CODES.get(code & 0xFF)
    sqlstate = getattr(error, "sqlstate", None)
    if isinstance(sqlstate, str):
        return SQLSTATES.get(sqlstate) or SQLSTATE_CLASSES.get(sqlstate[:2])
    if isinstance(error, OSError):
        return ERRNOS.get(error.errno or 0)
    return None


@dataclass
class Incident:
    """One spell of trouble in this process: what, since when, how many refusals."""

    trouble: Trouble
    began: float
    refused: int = 0


class StorageWatch:
    """This process's storage incident, if one is on (``incident``), logged once.

    ``saw`` is told of every refusal (a request, a job's run, the deliverer's tick); ``well``
    when a probe found the database answering and, for a write-side trouble, taking a write.
    ``troubled`` is set while an incident is on, for whoever probes until it is over (the app's
    jobs), and waits on it otherwise.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.incident: Incident | None = None
        self.troubled = asyncio.Event()

    def saw(
        self, trouble: Trouble, error: BaseException | str, where: str, *, refused: bool = True
    ) -> None:
        """Count a refusal (a probe that found trouble, ``refused=False``, refused no one); the
        first of an incident (or of a new kind) is logged, with the driver's words or what a
        probe found (they name hosts and files: for the log, never for a client)."""
        if self.incident is None or self.incident.trouble is not trouble:
            self.incident = Incident(trouble, self.clock())
            self.troubled.set()
            log.warning(
                "storage trouble (%s) in %s: %s; refusing what needs the database until it is "
                "well (further refusals are counted, not logged)",
                trouble,
                where,
                _first_line(error),
            )
        self.incident.refused += refused

    def well(self) -> None:
        """The database answered a probe: an incident on is over (one line says so)."""
        incident, self.incident = self.incident, None
        self.troubled.clear()
        if incident is not None:
            log.warning(
                "storage trouble (%s) over after %.1f s; %d refused meanwhile",
                incident.trouble,
                self.clock() - incident.began,
                incident.refused,
            )


def _first_line(error: BaseException | str) -> str:
    if isinstance(error, str):
        return error
    cause = getattr(error, "orig", None) or error
    text = str(cause).strip().splitlines()
    return f"{type(cause).__name__}: {text[0] if text else ''}"


async def answers(engine: AsyncEngine) -> None:
    """Raise unless the database answers a query (``SELECT 1``)."""
    async with engine.connect() as connection:
        await connection.execute(text("SELECT 1"))


def disk_room(engine: AsyncEngine) -> int | None:
    """The free space of a SQLite database's disk, in bytes (``statvfs``: no connection
    taken); None for PostgreSQL, whose disk is the server's and out of the service's sight."""
    path = engine.url.database
    if engine.dialect.name != "sqlite" or not path or path == ":memory:":
        return None
    disk = os.statvfs(Path(path).resolve().parent)
    return disk.f_bavail * disk.f_frsize


async def room(engine: AsyncEngine) -> int | None:
    """How many bytes a SQLite database can still grow by through ``engine``'s connection: its
    disk's free space, or less where the connection's page limit (``PRAGMA max_page_count``)
    comes first, plus the free pages the file holds; None for PostgreSQL."""
    disk = disk_room(engine)
    if disk is None:
        return None
    async with engine.connect() as connection:
        page_size, pages, most, free = [
            int(await connection.scalar(text(f"PRAGMA {name}")) or 0)
            for name in ("page_size", "page_count", "max_page_count", "freelist_count")
        ]
    return min(disk, (most - pages) * page_size) + free * page_size


async def takes_writes(engine: AsyncEngine) -> None:
    """Raise unless the database takes a write and commits it: the migrations' one row
    (``alembic_version``) written over with itself, which changes nothing but is a real write
    (a new row version, a page to the journal). Only while a write-side incident is on."""
    async with engine.begin() as connection:
        await connection.execute(text("UPDATE alembic_version SET version_num = version_num"))
