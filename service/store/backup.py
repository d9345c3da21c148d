"""``db backup``: a consistent copy of the SQLite database while the service runs.

The copy is made with SQLite's online backup API (Python's ``sqlite3.Connection.backup``), never
by copying the file: in WAL mode the committed pages may still be in ``-wal`` beside it, and a
file copy taken while a writer checkpoints can catch a half-written page. The backup copies every
page in one step, inside one read transaction: the copy is the database as it was when that
transaction began, every transaction committed by then and none after it. Readers do not block
writers in WAL mode, so the service goes on taking reports while the copy is made.

The copy is written beside FILE under a temporary name, checked (``PRAGMA integrity_check``),
switched to a rollback journal (so that it is one self-contained file), flushed to disk and only
then given its name: an interrupted backup leaves no FILE that looks whole and is not. Without
``replace`` it is given its name with a hard link, which fails if FILE exists, however late
FILE appeared.

PostgreSQL has its own tools (``pg_dump``, base backups with WAL archiving): this module refuses
its URL, naming them.
"""

from __future__ import annotations

import contextlib
import errno
import os
import sqlite3
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from sqlalchemy.engine import make_url

from service.config import Settings
from service.errors import Conflict, InvalidInput, NotFound, Said

# Hard links are refused by some filesystems (FAT, some network and FUSE mounts) with one of these.
NO_LINKS = frozenset({errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV, errno.EMLINK})


@dataclass(frozen=True)
class Backup:
    """A backup made: from which database file to which, and its size."""

    source: Path
    target: Path
    pages: int
    size: int


def back_up_sqlite(settings: Settings, target: Path, *, replace: bool = False) -> Backup:
    """Copy the SQLite database of ``settings`` to ``target`` with SQLite's online backup.

    Refuses (``InvalidInput``) a PostgreSQL URL or an in-memory database, (``NotFound``) a
    database file that does not exist or a ``target`` folder that does not, and (``Conflict``)
    a ``target`` that exists unless ``replace``, or that is the database itself."""
    source = _database_file(settings)
    target = Path(os.path.abspath(target))
    if not target.parent.is_dir():
        raise NotFound(Said("备份目录 {folder} 不存在", folder=str(target.parent)))
    if target.is_dir():
        raise Conflict(_exists(target))
    if target.exists():
        if target.samefile(source):
            raise Conflict(Said("备份文件 {file} 就是数据库本身", file=str(target)))
        if not replace:
            raise Conflict(_exists(target))
    handle, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".partial", dir=target.parent)
    os.close(handle)
    partial = Path(name)
    try:
        pages = _copy(source, partial, settings.sqlite_busy_timeout_ms)
        _place(partial, target, replace=replace)
    finally:
        with contextlib.suppress(FileNotFoundError):
            partial.unlink()
    return Backup(source, target, pages, target.stat().st_size)


def _exists(target: Path) -> Said:
    return Said("备份文件 {file} 已存在；要覆盖它请加 --force", file=str(target))


def _database_file(settings: Settings) -> Path:
    if not settings.is_sqlite:
        raise InvalidInput(
            "OUTAGE_DATABASE_URL",
            Said(
                "db backup 只备份 SQLite 数据库；PostgreSQL 请用它自己的工具：pg_dump -Fc（用 "
                "pg_restore 恢复），或基础备份（pg_basebackup）加 WAL 归档"
            ),
        )
    database = make_url(settings.database_url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        raise InvalidInput(
            "OUTAGE_DATABASE_URL",
            Said("db backup 需要 SQLite 数据库文件，而不是 {database}", database=repr(database)),
        )
    source = Path(os.path.abspath(database))
    if not source.is_file():
        raise NotFound(Said("数据库文件 {file} 不存在", file=str(source)))
    return source


def _copy(source: Path, partial: Path, busy_timeout_ms: int) -> int:
    """Every page of ``source`` into ``partial`` in one step (one read transaction, so one
    moment's database); the number of pages. ``mode=rw``: a missing file is never created."""
    uri = f"file:{quote(str(source))}?mode=rw"
    timeout = busy_timeout_ms / 1000
    with (
        contextlib.closing(sqlite3.connect(uri, uri=True, timeout=timeout)) as origin,
        contextlib.closing(sqlite3.connect(partial, timeout=timeout)) as copy,
    ):
        origin.backup(copy, pages=-1)
        (verdict,) = copy.execute("PRAGMA integrity_check").fetchone()
        if verdict != "ok":  # the source's own fault, copied: a backup to keep is not made
            raise Conflict(
                Said("数据库 {file} 未通过完整性检查：{verdict}", file=str(source), verdict=verdict)
            )
        copy.execute("PRAGMA journal_mode=DELETE")  # one file: no -wal to keep beside it
        (pages,) = copy.execute("PRAGMA page_count").fetchone()
    with partial.open("rb+") as written:
        os.fsync(written.fileno())
    return int(pages)


def _place(partial: Path, target: Path, *, replace: bool) -> None:
    """Give the finished copy its name: over ``target`` if ``replace``, else only if there is
    none (a hard link, which fails when the name is taken)."""
    if replace:
        os.replace(partial, target)
    else:
        try:
            os.link(partial, target)
        except FileExistsError:
            raise Conflict(_exists(target)) from None
        except OSError as exc:
            if exc.errno not in NO_LINKS:
                raise
            if target.exists():
                raise Conflict(_exists(target)) from None
            os.replace(partial, target)
    folder = os.open(target.parent, os.O_RDONLY)
    try:
        os.fsync(folder)  # the new name survives a crash
    finally:
        os.close(folder)
