"""``serve --workers N`` (N > 1): gunicorn's pre-fork supervisor with uvicorn's worker.

uvicorn's own supervisor starts each worker as a fresh interpreter (multiprocessing's spawn),
which imports the whole app again: on a busy machine two workers doing that at once, beside the
supervisor, were most of a start. Here the supervisor imports and builds the app once
(gunicorn's ``preload_app``) and forks the workers from it: a worker starts with the app in
memory and only runs its lifespan (its engine, its jobs, its deliverer). The figures are
``python -m benchmarks.startup``'s.

Everything else stays as ``serve`` had it with uvicorn's supervisor:

- each worker is uvicorn's server (the ``uvicorn-worker`` package) with the service's HTTP
  protocol (``service.api.server``), and its lines and gunicorn's own go through the one
  handler of ``service.api.logs``;
- a worker silent for ``OUTAGE_WORKER_HEALTHCHECK_SECONDS`` is killed and replaced (gunicorn's
  ``timeout``); a worker that cannot start its app stops the service (gunicorn's boot error);
- each worker ends with its supervisor (``PR_SET_PDEATHSIG``), as PostgreSQL's backends end with
  the postmaster, and, being forked, holds the data folder's lock (``serve.lock``) as long as
  it lives too;
- every metrics file is reserved whole before it is counted in (service.cli.metric_files):
  the supervisor's, since it imports the metrics, then each worker's as it is forked;
- no control socket: two services on one host would share its one default path.
"""

from __future__ import annotations

import ctypes
import gc
import logging
import os
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from gunicorn.app.base import BaseApplication
from gunicorn.glogging import Logger
from uvicorn_worker import UvicornWorker

from service.api.logs import HANDLER_NAME
from service.api.server import PROTOCOL
from service.cli.metric_files import MULTIPROCESS_ENV, reserve, reserve_for_this_worker

if TYPE_CHECKING:
    from fastapi import FastAPI

    from service.config import Settings

# prctl's option: the signal the kernel sends this process when its parent dies (Linux).
PR_SET_PDEATHSIG: Final = 1
# uvicorn's own default for an idle keep-alive connection (gunicorn's is 2 s).
KEEP_ALIVE_SECONDS: Final = 5


class ServiceWorker(UvicornWorker):  # type: ignore[misc]
    """uvicorn's server in a gunicorn worker, with the service's HTTP protocol (the 431, 400 and
    408 answers of ``service.api.server``) as uvicorn-worker's ``CONFIG_KWARGS`` allow."""

    CONFIG_KWARGS: Final = {"loop": "auto", "http": PROTOCOL}

    def handle_exit(self, sig: int, frame: Any) -> None:
        """SIGQUIT, which the supervisor sends every worker on SIGINT or SIGQUIT (gunicorn's
        quick shutdown), reaches only this gunicorn handler: uvicorn's server, which stops on
        SIGINT and SIGTERM, would serve on until the supervisor killed it 30 s later. Passed
        on as the SIGTERM it stops on cleanly, as it does under uvicorn's supervisor."""
        super().handle_exit(sig, frame)
        os.kill(os.getpid(), signal.SIGTERM)


class ServiceLog(Logger):  # type: ignore[misc]
    """gunicorn's logger class with the service's handler: gunicorn's lines, and uvicorn's in
    each worker (uvicorn-worker gives uvicorn's loggers these handlers), come out as the rest
    do, JSON by default. The access log is on only when ``OUTAGE_ACCESS_LOG`` is (gunicorn's
    ``accesslog`` set); off, its level keeps uvicorn from formatting a line per request."""

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        ours = [h for h in logging.getLogger().handlers if h.get_name() == HANDLER_NAME]
        self.error_log.handlers = list(ours)
        access = cfg.accesslog is not None
        self.access_log.handlers = list(ours) if access else []
        self.access_log.setLevel(logging.INFO if access else logging.WARNING)


class PreforkServer(BaseApplication):  # type: ignore[misc]
    """gunicorn run from ``serve``, its settings given here rather than read from a command line
    or a file (gunicorn's "custom application")."""

    def __init__(self, settings: Settings, host: str, port: int, workers: int) -> None:
        self.settings = settings
        self.bind = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        self.workers = workers
        super().__init__()

    def load_config(self) -> None:
        given = {
            "bind": [self.bind],
            "workers": self.workers,
            "worker_class": ServiceWorker,
            "logger_class": ServiceLog,
            "preload_app": True,
            "timeout": self.settings.worker_healthcheck_seconds,
            "keepalive": KEEP_ALIVE_SECONDS,
            "accesslog": "-" if self.settings.access_log else None,
            "control_socket_disable": True,
            "post_fork": start_worker,
            "child_exit": worker_gone,
        }
        for name, value in given.items():
            self.cfg.set(name, value)

    def load(self) -> FastAPI:
        # The supervisor's own metrics files (the series made at import), before service.app
        # imports prometheus_client; with no room for them, every worker counts in its memory.
        reserve_for_this_worker()
        from service.app import create_app

        app = create_app(self.settings)
        # The supervisor answers no request: no series of its own in the scrapes.
        forget_metrics_of(os.getpid())
        # What the supervisor built lives as long as the workers it forks: out of the
        # collector's way before the fork, so that a worker's collections (its lifespan's
        # first) do not walk it, nor copy its pages by writing their headers.
        gc.collect()
        gc.freeze()
        return app


def start_worker(server: Any, worker: Any) -> None:
    """gunicorn's ``post_fork``, in the new worker before it serves."""
    end_with_supervisor(server.pid)
    reserve_worker_files(worker.log)


def worker_gone(_server: Any, worker: Any) -> None:
    """gunicorn's ``child_exit``: a worker that ended (replaced, or stopped with the service)
    leaves its counts for the sums, not its per-process gauge."""
    forget_metrics_of(worker.pid)


def forget_metrics_of(pid: int) -> None:
    """prometheus-client's ``mark_process_dead``: the per-process (``liveall``) series of
    ``pid`` leave the scrapes; its counters and histograms stay in the sums."""
    if os.environ.get(MULTIPROCESS_ENV):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid)  # type: ignore[no-untyped-call]


def reserve_worker_files(log: Any) -> None:
    """This worker's metrics files, reserved before it counts (service.cli.metric_files): the
    series it inherited were the supervisor's, and prometheus-client opens the files of the
    worker's own pid at its first count. Where the disk has no room for them, the worker stops
    (exit 1) rather than count in sparse files, where a page first touched on a full disk is a
    SIGBUS: the other workers serve on, and the supervisor forks it again a second later."""
    folder = os.environ.get(MULTIPROCESS_ENV)
    if folder and not reserve(Path(folder), os.getpid()):
        log.error("no room for a new worker's metrics files in %s: it stops", folder)
        sys.exit(1)


def end_with_supervisor(supervisor: int) -> None:
    """The kernel is to send this worker SIGTERM (a clean shutdown) when its supervisor dies,
    ``kill -9`` included. Left running, it would serve on without the supervisor that replaces
    workers and stops them all."""
    if sys.platform == "linux":
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != supervisor:  # it died before the kernel was asked
        os.kill(os.getpid(), signal.SIGTERM)
