"""``playbooks check``: the playbook files validated as the service validates them at start."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from service.cli.parsing import Commands, add_group
from service.words import _

if TYPE_CHECKING:
    from service.config import Settings


def register(commands: Commands) -> None:
    playbooks = add_group(
        commands, "playbooks", help="playbook files", description="The playbook YAML files."
    )
    check = playbooks.add_parser(
        "check",
        help="validate the playbooks; exit 1 naming the fault",
        description="Validate the playbooks as the service does at start; exit 1 naming the "
        "file, the item and the reason.",
    )
    check.add_argument(
        "dir",
        nargs="?",
        type=Path,
        metavar="DIR",
        help="the playbooks folder (default: OUTAGE_PLAYBOOKS_DIR, or playbooks/ of the checkout)",
    )
    check.set_defaults(handler=run_check)


def run_check(args: argparse.Namespace, settings: Settings) -> int:
    from service.playbooks.bundle import Playbooks
    from service.playbooks.drills import load_drills

    folder = args.dir or settings.playbooks_dir
    books = Playbooks.load(folder)
    drills = load_drills(folder, books.grids, books.agencies)
    names = ", ".join(path.name for path in drills) or "none"
    print(_("{folder} 中的预案文件全部有效；演练脚本：{names}", folder=folder, names=names))
    return 0
