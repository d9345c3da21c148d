"""``regions list``: the grids plan 1.5 classifies (playbooks/regions.yaml), as a token's
``--region`` and the API's region codes name them."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from service.cli.parsing import Commands, add_group
from service.cli.table import table
from service.words import _, pgettext

if TYPE_CHECKING:
    from service.config import Settings


def register(commands: Commands) -> None:
    regions = add_group(
        commands,
        "regions",
        help="the grids (regions.yaml)",
        description="The grids plan 1.5 classifies, keyed by their six-digit GB/T 2260 codes, "
        "from the playbooks at OUTAGE_PLAYBOOKS_DIR.",
    )
    listing = regions.add_parser(
        "list",
        help="list the regions: code, name, level, the grid each lies within, key area, "
        "important city",
        description="List the grids in the file's order under a header: the code; the name; "
        "the level (province, city or county); the grid it lies within; and whether it is a "
        "重点地区 (key area) or a 重要城市 (important city), whose load, once an event's "
        "reports show it losing load, must be 90% restored before a response may end "
        "(plan 5.5).",
    )
    listing.set_defaults(handler=run_list)


def run_list(args: argparse.Namespace, settings: Settings) -> int:
    from service.playbooks.bundle import Playbooks

    grids = Playbooks.load(settings.playbooks_dir).grids
    rows = [
        (
            grid.code,
            grid.name,
            {"province": _("省"), "city": _("市"), "county": _("县（市、区）")}.get(
                grid.scope, grid.scope
            ),
            grid.parent or "-",
            _("是") if grid.key_area else _("否"),
            _("是") if grid.important_city else _("否"),
        )
        for grid in grids
    ]
    print(
        table(
            (
                pgettext("表头", "代码"),
                pgettext("表头", "名称"),
                pgettext("表头", "层级"),
                pgettext("表头", "上级"),
                pgettext("表头", "重点地区"),
                pgettext("表头", "重要城市"),
            ),
            rows,
        )
    )
    return 0
