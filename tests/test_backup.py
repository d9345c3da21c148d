"""Backups that restore (docs/operations.md, Backups): ``db backup FILE``, a consistent copy of a
running SQLite service; on PostgreSQL, ``pg_dump`` and ``pg_restore`` as the docs give them.

The served test takes a backup while dispatchers post reports, restores it into a fresh data
folder (a fresh database on PostgreSQL), serves that, and finds every report answered 201 before
the backup began and an intact audit chain. The others run the command in this process: what it
refuses, and that a refusal leaves nothing behind.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sqlite3
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, closing
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy.engine import make_url

from service.cli import main
from tests.helpers import (
    REPO,
    SERVED_BACKENDS,
    SERVED_IDS,
    cli,
    cli_tokens,
    county,
    every_item,
    report,
    scratch_postgres,
    serve,
    service_env,
)

LOAD_SECONDS = 2.0  # of reports before the backup begins
COUNTIES = ["330603", "330604", "330624", "330681"]
LOSSES = [40, 70, 90, 110, 130]  # below threshold, IV and III on 200 MW grids


def tables(path: Path) -> dict[str, int]:
    """Each table of the SQLite file at ``path`` and its number of rows."""
    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
        names = [
            name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        ]
        return {name: db.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0] for name in names}


def integrity(path: Path) -> str:
    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
        return str(db.execute("PRAGMA integrity_check").fetchone()[0])


@dataclass(frozen=True)
class Served:
    """A service's data, migrated, with a dispatcher's token; and where its backup is restored
    (the same backend, fresh: a folder, or an empty PostgreSQL database)."""

    backend: str
    workers: int
    env: dict[str, str]
    dispatcher: dict[str, str]
    restored: dict[str, str]


@pytest.fixture(params=SERVED_BACKENDS, ids=SERVED_IDS)
def served(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Served]:
    backend, workers = request.param
    with ExitStack() as stack:
        if backend == "postgres":
            if not (shutil.which("pg_dump") and shutil.which("pg_restore")):
                missing = "pg_dump and pg_restore (postgresql-client) are not installed"
                if os.environ.get("CI"):
                    pytest.fail(missing)
                pytest.skip(missing)
            url = stack.enter_context(scratch_postgres("outage_backup"))
            fresh = stack.enter_context(scratch_postgres("outage_restored"))
        else:
            url = f"sqlite+aiosqlite:///{tmp_path / 'data' / 'coordinator.db'}"
            fresh = f"sqlite+aiosqlite:///{tmp_path / 'restored' / 'coordinator.db'}"
        env = service_env(url, tmp_path / "data" / "var")
        cli(env, "db", "upgrade")
        dispatcher = cli_tokens(env, {"dispatcher": ["--role", "dispatcher"]})["dispatcher"]
        restored = service_env(fresh, tmp_path / "restored" / "var")
        yield Served(backend, workers, env, dispatcher, restored)


def libpq(url: str) -> str:
    """The libpq form of an SQLAlchemy PostgreSQL URL, as pg_dump and pg_restore take it."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def backup_command(served: Served, copy: Path) -> list[str]:
    """How docs/operations.md says to back the service up while it runs."""
    if served.backend == "postgres":
        return ["pg_dump", "-Fc", "-d", libpq(served.env["OUTAGE_DATABASE_URL"]), "-f", str(copy)]
    return [sys.executable, "-m", "service.cli", "db", "backup", str(copy)]


def restore(served: Served, copy: Path) -> None:
    """The backup made the database of a fresh data folder, as docs/operations.md says."""
    if served.backend == "postgres":
        database = libpq(served.restored["OUTAGE_DATABASE_URL"])
        done = subprocess.run(
            ["pg_restore", "--no-owner", "-d", database, str(copy)],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
        return
    database = Path(make_url(served.restored["OUTAGE_DATABASE_URL"]).database or "")
    database.parent.mkdir()
    shutil.copyfile(copy, database)


@pytest.mark.process
async def test_backup_under_load_restores_every_acknowledged_report(
    served: Served, tmp_path: Path
) -> None:
    env, dispatcher = served.env, served.dispatcher
    answered: list[tuple[float, str, str]] = []  # (when the 201 arrived, event id, report id)
    stopped = False
    copy = tmp_path / "backups" / "coordinator-backup"
    copy.parent.mkdir()

    async def post_reports(client: httpx.AsyncClient, region: str) -> None:
        event_id: str | None = None
        turn = 0
        while not stopped:
            turn += 1
            body = report(county(region, 200, LOSSES[turn % len(LOSSES)]), minutes=turn)
            if event_id is not None:
                body["event_id"] = event_id
            answer = await client.post("/api/v1/reports", json=body, headers=dispatcher)
            if answer.status_code in (409, 503) and "retry-after" in answer.headers:
                continue  # design § Concurrency: a conflict may be answered so; the client retries
            assert answer.status_code == 201, answer.text
            event_id = answer.json()["event_id"]
            answered.append((time.monotonic(), event_id, answer.json()["report_id"]))

    with serve(env, served.workers, tmp_path / "serve.log", upgrade=False) as service:
        async with httpx.AsyncClient(base_url=service.url, timeout=30) as client:
            load = asyncio.gather(*(post_reports(client, region) for region in COUNTIES))
            try:
                await asyncio.sleep(LOAD_SECONDS)
                began = time.monotonic()
                backup = await asyncio.create_subprocess_exec(
                    *backup_command(served, copy),
                    env=env,
                    cwd=REPO,
                    stdout=asyncio.subprocess.PIPE,
                    stderr=asyncio.subprocess.PIPE,
                )
                out, err = await asyncio.wait_for(backup.communicate(), 60)
                ended = time.monotonic()
            finally:
                stopped = True
                await load
    assert backup.returncode == 0, err.decode()
    before = {(event, report_id) for when, event, report_id in answered if when < began}
    during = [when for when, _, _ in answered if began <= when < ended]
    assert len(before) >= 2 * len(COUNTIES), f"too little load before the backup: {len(before)}"
    assert during, "no report was acknowledged while the backup ran: it was not under load"
    if served.backend == "sqlite":
        source = make_url(env["OUTAGE_DATABASE_URL"]).database
        assert out.decode().startswith(f"已将 {source} 备份到 {copy}："), out
        assert integrity(copy) == "ok"
        assert [p.name for p in copy.parent.iterdir()] == [copy.name]  # one file, no partial

    restore(served, copy)
    verified = cli(served.restored, "audit", "verify")
    assert "哈希链全部完整" in verified, verified
    restored_log = tmp_path / "restored.log"
    with serve(served.restored, served.workers, restored_log) as service:
        async with httpx.AsyncClient(base_url=service.url, timeout=30) as client:
            listed: set[tuple[str, str]] = set()
            for event_id in {event for event, _ in before}:
                path = f"/api/v1/events/{event_id}/reports"
                listed |= {(event_id, r["id"]) for r in await every_item(client, path, dispatcher)}
            lost = before - listed
            assert not lost, (
                f"{len(lost)} of {len(before)} reports acknowledged before the backup began are "
                "not in the restored copy"
            )
            # The restored service takes reports again, with the tokens the backup held.
            event_id = next(iter(before))[0]
            body = report(county(COUNTIES[0], 200, 30), minutes=10_000, event_id=event_id)
            again = await client.post("/api/v1/reports", json=body, headers=dispatcher)
            assert again.status_code == 201, again.text


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "data" / "coordinator.db"
    monkeypatch.setenv("OUTAGE_DATABASE_URL", f"sqlite+aiosqlite:///{path}")
    monkeypatch.setenv("OUTAGE_VAR_DIR", str(tmp_path / "var"))
    assert main(["db", "upgrade"]) == 0
    assert main(["tokens", "create", "--role", "dispatcher", "--name", "城调"]) == 0
    return path


def test_backup_copies_the_database_and_refuses_to_overwrite_unless_forced(
    database: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "backup.db"
    target.write_bytes(b"last week's backup")
    capsys.readouterr()
    assert main(["db", "backup", str(target)]) == 2
    said = capsys.readouterr()
    assert said.err == f"错误：备份文件 {target} 已存在；要覆盖它请加 --force\n" and not said.out
    assert target.read_bytes() == b"last week's backup"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["backup.db", "data"]

    assert main(["--lang", "en", "db", "backup", "--force", str(target)]) == 0
    said = capsys.readouterr()
    assert said.out.startswith(f"backed up {database} to {target}: ") and not said.err
    assert said.out.rstrip().endswith("integrity check ok")
    assert tables(target) == tables(database) and tables(target)["api_tokens"] == 1
    assert stat.S_IMODE(target.stat().st_mode) == 0o600  # token hashes, timelines: owner only
    assert sorted(p.name for p in tmp_path.iterdir()) == ["backup.db", "data"]

    fresh = tmp_path / "new.db"
    assert main(["db", "backup", str(fresh)]) == 0
    assert tables(fresh) == tables(database) and integrity(fresh) == "ok"


def test_backup_refuses_postgresql_naming_pg_dump(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("OUTAGE_DATABASE_URL", "postgresql+asyncpg://outage@db.example/outage")
    target = tmp_path / "backup.db"
    assert main(["db", "backup", str(target)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("错误：db backup 只备份 SQLite 数据库") and "pg_dump" in err, err
    assert main(["--lang", "en", "db", "backup", str(target)]) == 2
    err = capsys.readouterr().err
    assert "pg_dump" in err and "WAL archiving" in err, err
    assert not target.exists()


def test_backup_refuses_a_missing_database_or_folder_and_creates_neither(
    database: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    nowhere = tmp_path / "nowhere" / "backup.db"
    capsys.readouterr()
    assert main(["db", "backup", str(nowhere)]) == 2
    assert capsys.readouterr().err == f"错误：备份目录 {nowhere.parent} 不存在\n"
    assert not nowhere.parent.exists()

    assert main(["db", "backup", str(database)]) == 2  # the database itself
    assert "就是数据库本身" in capsys.readouterr().err
    assert integrity(database) == "ok"

    missing = tmp_path / "gone" / "coordinator.db"
    monkeypatch.setenv("OUTAGE_DATABASE_URL", f"sqlite+aiosqlite:///{missing}")
    assert main(["db", "backup", str(tmp_path / "backup.db")]) == 2
    assert capsys.readouterr().err == f"错误：数据库文件 {missing} 不存在\n"
    assert not missing.parent.exists() and not (tmp_path / "backup.db").exists()
