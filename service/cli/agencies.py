"""``agencies list``: the units of the plan that actions go to (playbooks/agencies.yaml), as a
token's ``--agency`` and a subscription's ``--agency`` name them."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from service.cli.parsing import Commands, add_group
from service.cli.table import table
from service.words import _, pgettext

if TYPE_CHECKING:
    from service.config import Settings
    from service.plan.grids import GridRegistry
    from service.playbooks.agencies import Agency


def register(commands: Commands) -> None:
    agencies = add_group(
        commands,
        "agencies",
        help="the plan's units (agencies.yaml)",
        description="The units of the plan (plan 2.1–2.4, 5.2.3) that actions are dispatched "
        "to, from the playbooks at OUTAGE_PLAYBOOKS_DIR.",
    )
    listing = agencies.add_parser(
        "list",
        help="list the agencies: code, name, kind, what each stands for",
        description="List the agencies in the file's order under a header: the code tokens, "
        "subscriptions and URLs use; the plan's name; the kind (member-unit of the city HQ, "
        "power, hq, province, user, or symbolic: a role resolved at dispatch); and the grid an "
        "HQ commands or a power authority (电力运行主管部门) serves.",
    )
    listing.set_defaults(handler=run_list)


def run_list(args: argparse.Namespace, settings: Settings) -> int:
    from service.playbooks.bundle import Playbooks

    books = Playbooks.load(settings.playbooks_dir)
    rows = [
        (agency.code, agency.name, kind_words(agency.kind), _stands_for(agency, books.grids))
        for agency in books.agencies
    ]
    print(
        table(
            (
                pgettext("表头", "代码"),
                pgettext("表头", "名称"),
                pgettext("表头", "类别"),
                pgettext("表头", "对应"),
            ),
            rows,
        )
    )
    return 0


def _stands_for(agency: Agency, grids: GridRegistry) -> str:
    if agency.region is not None:
        return _("{grid} 的指挥部", grid=_grid(agency.region, grids))
    if agency.authority_for is not None:
        return _("{grid} 的电力运行主管部门", grid=_grid(agency.authority_for, grids))
    if agency.kind == "symbolic":
        return _("派发时确定")
    return "-"


def kind_words(kind: str) -> str:
    """What kind of unit: the plan's words (成员单位, 指挥部 …)."""
    words = {
        "member-unit": _("成员单位"),
        "power": _("电力企业"),
        "hq": _("指挥部"),
        "province": _("省级单位"),
        "user": _("重要电力用户"),
        "symbolic": _("按事件确定"),
    }
    return words.get(kind, kind)


def _grid(code: str, grids: GridRegistry) -> str:
    grid = grids.get(code)
    return code if grid is None else f"{code} {grid.name}"
