"""``db backup FILE``: a consistent copy of a running SQLite service that restores (docs/
operations.md, Backups).

The served test takes a backup while dispatchers post reports, restores it into a fresh data
folder, serves that, and finds every report answered 201 before the backup began and an intact
audit chain. The others run the command in this process: what it refuses, and that a refusal
leaves nothing behind.
"""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
import stat
import sys
import time
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from service.cli import main
from tests.helpers import (
    REPO,
    cli,
    cli_tokens,
    county,
    every_item,
    report,
    serve,
    service_env,
)

LOAD_SECONDS = 1.5  # of reports before the backup begins
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
    data: Path
    env: dict[str, str]
    dispatcher: dict[str, str]


@pytest.fixture
def served(tmp_path: Path) -> Served:
    """A data folder for a SQLite service, migrated, with a dispatcher's token."""
    data = tmp_path / "data"
    env = service_env(f"sqlite+aiosqlite:///{data / 'coordinator.db'}", data / "var")
    cli(env, "db", "upgrade")
    dispatcher = cli_tokens(env, {"dispatcher": ["--role", "dispatcher"]})["dispatcher"]
    return Served(data, env, dispatcher)


@pytest.mark.process
async def test_backup_under_load_restores_every_acknowledged_report(
    served: Served, tmp_path: Path
) -> None:
    data, env, dispatcher = served.data, served.env, served.dispatcher
    answered: list[tuple[float, str, str]] = []  # (when the 201 arrived, event id, report id)
    stopped = False
    copy = tmp_path / "backups" / "coordinator-backup.db"
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

    with serve(env, 1, tmp_path / "serve.log", upgrade=False) as service:
        async with httpx.AsyncClient(base_url=service.url, timeout=30) as client:
            load = asyncio.gather(*(post_reports(client, region) for region in COUNTIES))
            try:
                await asyncio.sleep(LOAD_SECONDS)
                began = time.monotonic()
                backup = await asyncio.create_subprocess_exec(
                    sys.executable,
                    *("-m", "service.cli", "db", "backup", str(copy)),
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
    assert out.decode().startswith(f"已将 {data / 'coordinator.db'} 备份到 {copy}："), out
    before = {(event, report_id) for when, event, report_id in answered if when < began}
    during = [when for when, _, _ in answered if began <= when < ended]
    assert len(before) >= 2 * len(COUNTIES), f"too little load before the backup: {len(before)}"
    assert during, "no report was acknowledged while the backup ran: it was not under load"
    assert integrity(copy) == "ok"
    assert not copy.with_name(copy.name + "-wal").exists()  # one self-contained file
    assert [p.name for p in copy.parent.iterdir()] == [copy.name]  # no partial copy left

    # Restored into a fresh data folder: the copy is its database, nothing else comes along.
    fresh = tmp_path / "restored"
    fresh.mkdir()
    shutil.copyfile(copy, fresh / "coordinator.db")
    restored = service_env(f"sqlite+aiosqlite:///{fresh / 'coordinator.db'}", fresh / "var")
    verified = cli(restored, "audit", "verify")
    assert "哈希链全部完整" in verified, verified
    with serve(restored, 1, tmp_path / "restored.log") as service:
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
