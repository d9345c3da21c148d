"""``tokens create/list/revoke/sign-in-link``: the API's bearer tokens, through the same flows
as ``/api/v1/tokens`` (service.flows.admin.tokens and .sign_ins)."""

from __future__ import annotations

import argparse
import uuid
from typing import TYPE_CHECKING

from service.cli.parsing import Commands, add_group, validated
from service.cli.table import table
from service.plan.actor import ROLES
from service.words import _, pgettext, when

if TYPE_CHECKING:
    from service.config import Settings

ROLE_HELP = (
    "what the token may do: admin (administration; sees what an observer sees), dispatcher "
    "(reports, warning proposals, attestations), commander (an HQ's commands; needs --region), "
    "agency (its unit's actions; needs --agency), observer (reads everything)"
)
AGENCY_HELP = (
    "for --role agency: the unit's code in playbooks/agencies.yaml ('agencies list'), e.g. "
    "power-company (绍兴电力局), public-security (市公安局), hq-city (市应急指挥部), hq-330603 "
    "(柯桥区's HQ)"
)
REGION_HELP = (
    "a six-digit GB/T 2260 code from playbooks/regions.yaml ('regions list'). A commander's HQ "
    "(required): 330000 the province, 330600 the city, or a district/county such as 330603 "
    "(柯桥区). A dispatcher's limit (optional): it may report only the grids within this region"
)


def register(commands: Commands) -> None:
    tokens = add_group(commands, "tokens", help="API tokens", description="API bearer tokens.")

    create = tokens.add_parser(
        "create",
        help="make a token; printed once, on the last line",
        description="Make an API token and print it once, alone on the last line of stdout; "
        "only its SHA-256 hash is stored.",
    )
    create.add_argument("--role", required=True, choices=ROLES, help=ROLE_HELP)
    create.add_argument(
        "--name", required=True, metavar="TEXT", help="whose token it is, shown on the timeline"
    )
    create.add_argument("--agency", metavar="CODE", help=AGENCY_HELP)
    create.add_argument("--region", metavar="CODE", help=REGION_HELP)
    create.set_defaults(handler=run_create)

    listing = tokens.add_parser(
        "list",
        help="list tokens (never the tokens themselves)",
        description="List the tokens, oldest first, under a header: id, role, agency or region, "
        "name, when made (UTC), and whether revoked. The tokens 'drill run' made are left out "
        "once revoked (their rows stay: the timeline names who acted in the drill).",
    )
    listing.add_argument(
        "--all", action="store_true", help="also the revoked tokens of finished drills"
    )
    listing.set_defaults(handler=run_list)

    revoke = tokens.add_parser(
        "revoke",
        help="revoke a token by id",
        description="Revoke a token; the service refuses it within OUTAGE_TOKEN_CACHE_SECONDS.",
    )
    revoke.add_argument(
        "id",
        type=uuid.UUID,
        metavar="ID",
        help="the token's id, as 'tokens create' and 'tokens list' show it",
    )
    revoke.set_defaults(handler=run_revoke)

    link = tokens.add_parser(
        "sign-in-link",
        help="a one-time sign-in link to the board for a token; printed on the last line",
        description="Mint a link that signs its holder in to the board as the token's holder, "
        "once, within --minutes, landing on --next: for a person on a phone who should not type "
        "a token. The link is printed once, alone on the last line; only its hash is stored. "
        "Opening it shows a button; only the button spends it (a chat preview does not).",
    )
    link.add_argument(
        "id", type=uuid.UUID, metavar="ID", help="the token's id, as 'tokens list' shows it"
    )
    link.add_argument(
        "--next",
        metavar="PATH",
        help="the board page to land on, e.g. /board/duties or /board/duties/ACTION_ID "
        "(default: /board)",
    )
    link.add_argument(
        "--minutes",
        type=int,
        default=10,
        metavar="N",
        help="how long the link works, 1 to 60 (default: %(default)s)",
    )
    link.set_defaults(handler=run_sign_in_link)


def run_create(args: argparse.Namespace, settings: Settings) -> int:
    from service.cli.running import run_flow
    from service.flows.admin.token_schemas import TokenCreate
    from service.flows.admin.tokens import issue_token

    body = validated(
        TokenCreate, role=args.role, name=args.name, agency=args.agency, region=args.region
    )
    made = run_flow(settings, lambda context: issue_token(context, body))
    print(_("已为 {name} 创建{role}令牌 {id}", name=made.name, role=made.role, id=made.id))
    print(made.token)
    return 0


def run_list(args: argparse.Namespace, settings: Settings) -> int:
    from service.cli.running import run_flow
    from service.flows.admin import tokens

    listed = run_flow(
        settings, lambda context: tokens.list_tokens(context, revoked_drills=args.all)
    )
    rows = [
        (
            str(token.id),
            token.role,
            token.agency or token.region or "-",
            token.name,
            when(token.created_at),
            _("{moment} 已吊销", moment=when(token.revoked_at)) if token.revoked_at else _("有效"),
        )
        for token in listed
    ]
    header = (
        pgettext("表头", "编号"),
        pgettext("表头", "角色"),
        pgettext("表头", "范围"),
        pgettext("表头", "名称"),
        pgettext("表头", "创建时间（北京时间）"),
        pgettext("表头", "状态"),
    )
    print(table(header, rows))
    return 0


def run_revoke(args: argparse.Namespace, settings: Settings) -> int:
    from service.cli.running import run_flow
    from service.flows.admin import tokens

    run_flow(settings, lambda context: tokens.revoke_token(context, args.id))
    print(_("已吊销 {id}", id=args.id))
    return 0


def run_sign_in_link(args: argparse.Namespace, settings: Settings) -> int:
    from service.cli.running import run_flow
    from service.flows.admin.sign_ins import mint_sign_in_link
    from service.flows.admin.token_schemas import SignInLinkCreate

    body = validated(SignInLinkCreate, next=args.next, minutes=args.minutes)
    made = run_flow(settings, lambda context: mint_sign_in_link(context, args.id, body))
    print(_("登录链接（仅可使用一次，{moment} 前有效）：", moment=when(made.expires_at)))
    print(made.url)
    return 0
