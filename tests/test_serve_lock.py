"""One service per data folder: ``serve`` holds ``OUTAGE_VAR_DIR/serve.lock`` (an OS file lock)
for its life and refuses a second start on the same folder, on the same port or another, before
it touches anything of the first (its metrics folder, its database's jobs); the lock goes with
the process, ``kill -9`` included."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import ExitStack, suppress
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from service.cli import running
from service.cli.parsing import CommandLineError
from tests.helpers import (
    REPO,
    SERVED_BACKENDS,
    SERVED_IDS,
    SERVICE_COMMAND,
    Service,
    cli,
    free_port,
    serve,
    served_database,
    service_env,
)

# How long a refused start may take: an interpreter's start and the settings, on a busy machine.
REFUSAL_SECONDS = 60
# How long an orphaned worker may take to notice and shut down cleanly (the service's grace for a
# job under way is 10 s), on a busy machine.
ORPHAN_SECONDS = 60


@dataclass(frozen=True)
class Running:
    env: dict[str, str]
    var: Path
    service: Service
    workers: int


@pytest.fixture(scope="module", params=SERVED_BACKENDS, ids=SERVED_IDS)
def first(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Running]:
    """A service that has answered requests (so that its workers have metrics files)."""
    backend, workers = request.param
    folder = tmp_path_factory.mktemp("lock")
    with ExitStack() as stack:
        url = served_database(stack, backend, folder, "outage_lock")
        env = service_env(url, folder / "var", escalation_interval_seconds="0")
        cli(env, "db", "upgrade")
        service = stack.enter_context(serve(env, workers, folder / "serve.log", upgrade=False))
        for _ in range(4):
            assert httpx.get(f"{service.url}/healthz", timeout=30).status_code == 200
        yield Running(env, folder / "var", service, workers)


def second_start(env: dict[str, str], port: int) -> subprocess.CompletedProcess[str]:
    """``serve`` on ``port``, in a process group of its own; killed (group and all) if it is
    still running after ``REFUSAL_SECONDS``: it was not refused."""
    process = subprocess.Popen(
        [*SERVICE_COMMAND, "serve", "--port", str(port), "--workers", "2"],
        env=env,
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        out, err = process.communicate(timeout=REFUSAL_SECONDS)
    except subprocess.TimeoutExpired:
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        pytest.fail(f"a second serve on the same data folder ran for {REFUSAL_SECONDS} s")
    return subprocess.CompletedProcess(process.args, process.returncode, out, err)


def metrics_files(var: Path) -> dict[str, tuple[int, int]]:
    """Each file of the workers' metrics: its inode and size (a file emptied away and made
    again has another inode)."""
    folder = var / "metrics"
    if not folder.exists():  # one worker counts in its own memory
        return {}
    return {path.name: (path.stat().st_ino, path.stat().st_size) for path in folder.iterdir()}


def requests_counted(service: Service) -> float:
    text = httpx.get(f"{service.url}/metrics", timeout=30).text
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("outage_http_request_duration_seconds_count{")
    )


@pytest.mark.process
@pytest.mark.parametrize("port", ["same", "another"])
def test_a_second_serve_on_the_same_data_folder_is_refused(first: Running, port: str) -> None:
    service = first.service
    counted = requests_counted(service)
    assert counted >= 4
    files = metrics_files(first.var)
    assert bool(files) == (first.workers > 1)  # several workers count in files, one in memory

    done = second_start(first.env, service.port if port == "same" else free_port())

    assert done.returncode == 2, done.stderr
    assert done.stdout == ""
    assert done.stderr.splitlines() == [
        f"错误：另一个服务（进程 {service.process.pid}，127.0.0.1:{service.port}）正在使用数据目录 "
        f"{first.var.resolve()}，本次未启动"
    ]
    # nothing of the first was emptied: its workers' files are all there, the same files, none
    # shorter, and its counts are kept
    after = metrics_files(first.var)
    for name, (inode, size) in files.items():
        assert after[name][0] == inode and after[name][1] >= size, name
    assert requests_counted(service) >= counted
    assert service.process.poll() is None


@pytest.mark.process
def test_the_lock_goes_with_a_killed_service(tmp_path: Path) -> None:
    env = service_env(f"sqlite+aiosqlite:///{tmp_path / 'kill.db'}", tmp_path / "var")
    with serve(env, 1, tmp_path / "serve.log") as killed:
        killed.kill()  # kill -9: no handler runs, the OS alone lets the lock go
    with serve(env, 1, tmp_path / "serve.log", upgrade=False) as again:
        assert httpx.get(f"{again.url}/healthz", timeout=30).status_code == 200
        holder = (tmp_path / "var" / "serve.lock").read_text()
        assert f'"pid": {again.process.pid}' in holder


def test_hold_data_folder_refuses_a_second_holder(tmp_path: Path) -> None:
    """In one process: two opens of the lock file are two holders to ``flock``."""
    before = len(running._held)
    running.hold_data_folder(tmp_path / "var", "0.0.0.0", 8123)
    try:
        with pytest.raises(CommandLineError) as refused:
            running.hold_data_folder(tmp_path / "var", "127.0.0.1", 8124)
        assert str(refused.value) == (
            f"另一个服务（进程 {os.getpid()}，0.0.0.0:8123）正在使用数据目录 "
            f"{(tmp_path / 'var').resolve()}，本次未启动"
        )
        assert len(running._held) == before + 1
        # a holder that has not yet written who it is: the refusal says what it knows
        (tmp_path / "var" / "serve.lock").write_text("")
        with pytest.raises(CommandLineError) as unnamed:
            running.hold_data_folder(tmp_path / "var", "127.0.0.1", 8124)
        assert str(unnamed.value) == (
            f"另一个服务正在使用数据目录 {(tmp_path / 'var').resolve()}，本次未启动"
        )
    finally:
        os.close(running._held.pop())


@pytest.mark.process
def test_workers_end_with_a_supervisor_killed_alone(tmp_path: Path) -> None:
    """``kill -9`` of the supervisor only (the OOM killer's choice, say): its workers stop too,
    rather than serve on without the folder's lock; then a new start on the folder succeeds."""
    env = service_env(
        f"sqlite+aiosqlite:///{tmp_path / 'orphans.db'}",
        tmp_path / "var",
        escalation_interval_seconds="0",
    )
    with serve(env, 2, tmp_path / "serve.log") as killed:
        workers = killed.worker_pids()
        assert len(workers) == 2
        os.kill(killed.process.pid, signal.SIGKILL)
        killed.process.wait(timeout=30)
        deadline = time.monotonic() + ORPHAN_SECONDS
        try:
            while any(Path(f"/proc/{pid}").exists() for pid in workers):
                assert time.monotonic() < deadline, f"workers {workers} outlived their supervisor"
                time.sleep(0.1)
        except AssertionError:  # the group's stop finds no leader: end what is left of it
            for pid in workers:
                with suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            raise
    with serve(env, 2, tmp_path / "serve.log", upgrade=False) as again:
        assert httpx.get(f"{again.url}/healthz", timeout=30).status_code == 200
