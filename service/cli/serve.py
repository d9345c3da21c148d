"""``serve``: the HTTP API under uvicorn, with the bootstrap admin token on the first start.

One worker is uvicorn serving in this process; ``--workers N`` (N > 1) is gunicorn's pre-fork
supervisor with uvicorn's workers (``service.cli.prefork``)."""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from service.cli.parsing import Commands
from service.cli.running import hold_data_folder, run_flow
from service.words import _

if TYPE_CHECKING:
    from fastapi import FastAPI

    from service.config import Settings


def register(commands: Commands) -> None:
    serve = commands.add_parser(
        "serve",
        help="run the API (uvicorn)",
        description="Run the HTTP API. It holds OUTAGE_VAR_DIR/serve.lock while it runs: a "
        "second serve on the same folder is refused (exit 2). On the first start with no "
        "tokens, print a bootstrap admin token once and write it to OUTAGE_VAR_DIR/admin-token "
        "(mode 0600).",
    )
    serve.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default: %(default)s)"
    )
    serve.add_argument(
        "--port", type=int, default=8000, help="TCP port to listen on (default: %(default)s)"
    )
    serve.add_argument(
        "--workers",
        type=int,
        default=1,
        metavar="N",
        help="worker processes (default: %(default)s); more than one are forked by a "
        "supervisor that loaded the app once",
    )
    serve.set_defaults(handler=run_serve)


def run_serve(args: argparse.Namespace, settings: Settings) -> int:
    # One service per data folder, taken before anything is touched: a second start there is
    # refused before it empties the first one's metrics or runs a job on its database.
    hold_data_folder(settings.var_dir, args.host, args.port)
    _metrics_folder(settings, args.workers)  # before anything imports prometheus_client

    import uvicorn

    from service.api.logs import configure
    from service.api.server import PROTOCOL

    configure(settings)
    admin_file = settings.var_dir / "admin-token"
    token = _bootstrap(settings, admin_file)
    if token:
        print(
            _(
                "尚无令牌：已生成初始管理员令牌（仅显示这一次；另存于 {file}，权限 0600）：",
                file=admin_file,
            )
            + f"\n{token}",
            flush=True,
        )
    if args.workers > 1:
        from service.cli.prefork import PreforkServer

        PreforkServer(settings, args.host, args.port, args.workers).run()
        return 0
    uvicorn.run(
        "service.cli.serve:served_app",
        factory=True,
        host=args.host,
        port=args.port,
        http=PROTOCOL,  # httptools, with the head limit (431) and problem+json for a bad request
        log_level="info",
        log_config=None,  # uvicorn's lines go through service.api.logs's handler, as JSON too
        access_log=settings.access_log,
    )
    return 0


def _bootstrap(settings: Settings, admin_file: Path) -> str | None:
    """The first start's admin token (``bootstrap_admin``), or None. On storage trouble (a full
    disk takes the file or the token's row) none is made and the service serves all the same:
    reads go on, and the next start makes it."""
    from service.flows.admin.tokens import bootstrap_admin
    from service.store.trouble import trouble_of

    try:
        return run_flow(settings, lambda context: bootstrap_admin(context, admin_file))
    except Exception as error:
        trouble = trouble_of(error)
        if trouble is None:
            raise
        print(
            _(
                "存储出错（{trouble}），未能生成初始管理员令牌；服务照常启动，下次启动时再生成",
                trouble=trouble,
            ),
            file=sys.stderr,
            flush=True,
        )
        return None


def _metrics_folder(settings: Settings, workers: int) -> None:
    """Several workers: prometheus-client's multiprocess mode for every one of them
    (service.api.metrics), an empty folder under OUTAGE_VAR_DIR, named before the library is
    first imported (it reads the variable then), and inherited by the workers. One worker counts
    in its own memory, the whole service's counts: a count there is a quarter of the time of one
    written through a file's memory map (under a lock, with a check of the process id), which
    is a few per cent of a classification."""
    if not settings.metrics or workers < 2:
        return
    if "prometheus_client" in sys.modules:
        raise RuntimeError("prometheus_client was imported before its multiprocess folder was set")
    folder = (settings.var_dir / "metrics").resolve()
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(folder)


def served_app() -> FastAPI:
    """The app of ``serve`` with one worker (uvicorn's factory, in this process), counting for
    /metrics in its own memory (``_metrics_folder``)."""
    from service.app import app_factory

    return app_factory()
