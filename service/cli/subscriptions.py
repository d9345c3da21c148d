"""``subscriptions add/list/remove``: the receivers of the service's notifications, checked as
``/api/v1/subscriptions`` checks them (service.flows.admin.subscriptions)."""

from __future__ import annotations

import argparse
import uuid
from typing import TYPE_CHECKING

from service.cli.parsing import Commands, add_group, validated
from service.plan.notifications import CHANNELS, FORMATS, NOTICE_TYPES
from service.words import _

if TYPE_CHECKING:
    from service.config import Settings


def register(commands: Commands) -> None:
    subscriptions = add_group(
        commands,
        "subscriptions",
        help="webhook subscriptions",
        description="Receivers of the service's notifications, as the subscriptions API "
        "manages them (design § Notifications).",
    )

    add = subscriptions.add_parser(
        "add",
        help="register a receiver; its secret printed once, on the last line",
        description="Register a receiver, checked as POST /api/v1/subscriptions checks it. "
        "The secret (generated whsec_… for standard when --secret is left out) is printed "
        "once, alone on the last line of stdout.",
    )
    add.add_argument("--url", required=True, help="the http(s) URL notifications are posted to")
    add.add_argument(
        "--format",
        choices=FORMATS,
        default="standard",
        help="standard (Standard Webhooks, signed), wecom (企业微信群机器人), dingtalk "
        "(钉钉群机器人) or cap (a warning's CAP 1.2 message, signed as standard; a public "
        "channel's only) (default: %(default)s)",
    )
    add.add_argument(
        "--secret",
        help="standard: whsec_ and the base64 of 24–64 bytes (generated when left out); "
        "dingtalk: the robot's SEC… secret, to sign its messages; wecom: none",
    )
    add.add_argument(
        "--agency",
        action="append",
        dest="agencies",
        metavar="CODE",
        help="hear only notices concerning this agency (agencies.yaml code, 'agencies list'); "
        "repeat for more; all agencies when left out",
    )
    add.add_argument(
        "--type",
        action="append",
        dest="types",
        choices=NOTICE_TYPES,
        metavar="TYPE",
        help=f"hear only this notice type, one of {', '.join(NOTICE_TYPES)}; repeat for more; "
        "all types when left out",
    )
    add.add_argument("--drills", action="store_true", help="hear drills as well as real events")
    add.add_argument(
        "--channel",
        choices=CHANNELS,
        help="a public channel of plan 3.2.2.1's green channel (新闻媒体、网站、应急广播、电信运营"
        "企业): it hears only published warnings, their updates and lifting, and approved "
        "releases, with public content only",
    )
    add.set_defaults(handler=run_add)

    listing = subscriptions.add_parser(
        "list",
        help="list subscriptions (never their secrets)",
        description="List the subscriptions: id, format, channel, url, agencies, types, drills.",
    )
    listing.set_defaults(handler=run_list)

    remove = subscriptions.add_parser(
        "remove",
        help="remove a subscription by id, with its deliveries",
        description="Remove a subscription and its deliveries.",
    )
    remove.add_argument(
        "id", type=uuid.UUID, metavar="ID", help="the subscription's id, as 'list' shows it"
    )
    remove.set_defaults(handler=run_remove)


def run_add(args: argparse.Namespace, settings: Settings) -> int:
    from service.cli.running import run_flow
    from service.flows.admin import subscriptions
    from service.flows.admin.schemas import SubscriptionCreate

    fields = ("url", "format", "secret", "agencies", "types", "drills", "channel")
    body = validated(SubscriptionCreate, **{f: getattr(args, f) for f in fields})
    created = run_flow(settings, lambda context: subscriptions.create_subscription(context, body))
    print(
        _(
            "{format} 订阅 {id} 已创建，推送至 {url}",
            format=created.format,
            id=created.id,
            url=created.url,
        )
    )
    if created.secret:
        print(created.secret)
    return 0


def run_list(args: argparse.Namespace, settings: Settings) -> int:
    from service.cli.running import run_flow
    from service.flows.admin import subscriptions

    for row in run_flow(settings, subscriptions.list_subscriptions).items:
        agencies = ",".join(row.agencies) if row.agencies is not None else "*"
        types = ",".join(row.types) if row.types is not None else "*"
        drills = _("含演练") if row.drills else _("仅真实事件")
        channel = row.channel or "-"
        print(f"{row.id}\t{row.format}\t{channel}\t{row.url}\t{agencies}\t{types}\t{drills}")
    return 0


def run_remove(args: argparse.Namespace, settings: Settings) -> int:
    from service.cli.running import run_flow
    from service.flows.admin import subscriptions

    run_flow(settings, lambda context: subscriptions.remove_subscription(context, args.id))
    print(_("已删除 {id}", id=args.id))
    return 0
