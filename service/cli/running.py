"""Running a flow from the command line: the context a flow takes, opened on the configured
database for the one command and closed after it; and the one service a data folder may have
(``hold_data_folder``)."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Final, TypeVar

from service.cli.parsing import CommandLineError
from service.words import _

if TYPE_CHECKING:
    from service.config import Settings
    from service.flows.context import AppContext

T = TypeVar("T")

# The file in OUTAGE_VAR_DIR that ``serve`` holds locked for its whole life.
LOCK_FILE: Final = "serve.lock"
# The lock's open file, kept for the process's life: closing it (or the process's death, kill -9
# included) releases the lock.
_held: list[int] = []


def run_flow(settings: Settings, work: Callable[[AppContext], Awaitable[T]]) -> T:
    """``work``'s answer, run in an event loop of its own with a fresh context."""
    from service.flows.context import open_context

    async def run() -> T:
        context = open_context(settings)
        try:
            return await work(context)
        finally:
            await context.close()

    return asyncio.run(run())


def hold_data_folder(folder: Path, host: str, port: int) -> None:
    """Take the data folder for this process, or refuse (``CommandLineError``) when another
    service holds it: an exclusive ``flock`` on ``folder/serve.lock``, never waited for, which
    the operating system releases when the process ends, however it ends. The holder writes its
    pid, host and port there, for the refusal to name them."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / LOCK_FILE
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = _holder(fd)
        os.close(fd)
        if holder is None:
            raise CommandLineError(
                _("另一个服务正在使用数据目录 {folder}，本次未启动", folder=folder.resolve())
            ) from None
        raise CommandLineError(
            _(
                "另一个服务（进程 {pid}，{host}:{port}）正在使用数据目录 {folder}，本次未启动",
                pid=holder[0],
                host=holder[1],
                port=holder[2],
                folder=folder.resolve(),
            )
        ) from None
    except BaseException:
        os.close(fd)
        raise
    with contextlib.suppress(OSError):  # who holds it, for a second start's line; on a full
        # disk that line names the folder alone
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps({"pid": os.getpid(), "host": host, "port": port}).encode(), 0)
    _held.append(fd)


def _holder(fd: int) -> tuple[int, str, int] | None:
    """The pid, host and port the lock's holder wrote, or None before it wrote them."""
    try:
        said = json.loads(os.pread(fd, 4096, 0))
        return int(said["pid"]), str(said["host"]), int(said["port"])
    except (ValueError, TypeError, KeyError, OSError):
        return None
