"""The ``outage-coordinator`` command: one module per command group (serve, db, tokens,
subscriptions, playbooks, drill, audit, agencies, regions), each command's options beside its
handler.

Built on argparse, each command's parser naming its handler with ``set_defaults(handler=…)``,
rather than on Typer, for three reasons:
- ``--help`` must answer at once. argparse is in the standard library and cheap to import;
  Typer brings its own Click and Rich, imported (and Rich rendering the help) on every start,
  several times argparse's start-up (the figures are in the commit that made this package).
- The commands' contract stays exactly as it was: argparse's usage errors, its ``invalid
  choice`` wording and exit 2, ``main(argv)`` returning the exit status for tests and the
  console script alike.
- No new dependency to lock, audit and ship in the image for what the standard library does.

What Typer would have given, options declared in the handler's signature, is kept as a
habit instead: each module's ``register`` builds its commands' parsers, each beside the handler
it names. The modules import only the plan's vocabulary (roles, notice types) at the top; the
database, the app, HTTP clients and the flows are imported by the handler that needs them, so
that ``--help`` loads none of them.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import Final

from service.cli import (
    agencies,
    audit,
    db,
    drill,
    playbooks,
    regions,
    serve,
    subscriptions,
    tokens,
)
from service.cli.parsing import CommandLineError
from service.errors import CoordinatorError, PlaybookError
from service.words import LOCALES, _, detail_of, use

GROUPS = (serve, db, tokens, subscriptions, playbooks, drill, audit, agencies, regions)


def build_parser() -> argparse.ArgumentParser:
    """The command line; every command and option says what it is for (``--help``)."""
    parser = argparse.ArgumentParser(
        prog="outage-coordinator",
        description="Shaoxing's large-area power outage plan (绍政办发〔2018〕41号) as a service.",
        epilog="Settings are OUTAGE_* environment variables (docs/configuration.md); every "
        "command uses the database at OUTAGE_DATABASE_URL "
        "(default sqlite+aiosqlite:///var/coordinator.db).",
    )
    parser.add_argument(
        "--lang",
        choices=LOCALES,
        default=os.environ.get("OUTAGE_LANG") or "zh",
        help="the language of what the commands say (zh, the default, or en; OUTAGE_LANG)",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for group in GROUPS:
        group.register(commands)
    return parser


TRY_AGAIN: Final = 75  # sysexits.h EX_TEMPFAIL: a temporary failure, the command may be retried


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; its exit status: 0 done, 1 a check failed (playbooks, drill, audit),
    2 refused (a usage error, or input the service refuses), 75 the database unavailable for
    now (unreachable, read-only, full: sysexits' EX_TEMPFAIL, one line instead of a traceback;
    nothing was done, try again)."""
    args = build_parser().parse_args(argv)
    from service.config import Settings  # pydantic-settings: not for --help

    with use(args.lang):
        try:
            status: int = args.handler(args, Settings())
        except PlaybookError as exc:
            print(_("错误：{detail}", detail=detail_of(exc)), file=sys.stderr)
            return 1
        except (CoordinatorError, CommandLineError) as exc:
            print(
                _(
                    "错误：{detail}",
                    detail=detail_of(exc) if isinstance(exc, CoordinatorError) else exc,
                ),
                file=sys.stderr,
            )
            return 2
        except Exception as exc:
            from service.store.trouble import trouble_of

            trouble = trouble_of(exc)
            if trouble is None:
                raise
            print(
                _("错误：数据库暂不可用（{trouble}），命令未执行；请稍后重试", trouble=trouble),
                file=sys.stderr,
            )
            return TRY_AGAIN
    return status
