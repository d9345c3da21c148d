"""``audit verify``: the timeline's hash chains, recomputed from the stored entries."""

from __future__ import annotations

import argparse
import sys
import uuid
from typing import TYPE_CHECKING

from service.cli.parsing import Commands, add_group
from service.words import _, ngettext

if TYPE_CHECKING:
    from service.config import Settings
    from service.flows.context import AppContext
    from service.flows.events.audit import Audit


def register(commands: Commands) -> None:
    audit = add_group(
        commands,
        "audit",
        help="the timeline's hash chain",
        description="The timeline's hash chain.",
    )
    verify = audit.add_parser(
        "verify",
        help="recompute the hash chains; exit 1 naming the first entry edited, removed or inserted",
        description="Recompute every event's timeline hash chain (or one event's) from the "
        "stored entries; exit 0 with a summary when all hold, 1 naming per event the first "
        "entry edited, removed or inserted.",
    )
    verify.add_argument(
        "event", nargs="?", type=uuid.UUID, metavar="EVENT_ID", help="only this event's timeline"
    )
    verify.set_defaults(handler=run_verify)


# What happened to the first entry that breaks a chain (service.plan.chain.Fault).
FAULT_WORDS = {
    "edited": lambda: _("被改动"),
    "removed": lambda: _("被删除"),
    "inserted": lambda: _("被插入"),
}


def run_verify(args: argparse.Namespace, settings: Settings) -> int:
    from service.cli.running import run_flow
    from service.flows.events.audit import verify_timelines

    async def verify(context: AppContext) -> Audit:
        async with context.read_sessions() as session:
            return await verify_timelines(session, args.event)

    audit = run_flow(settings, verify)
    for event, found in audit.breaks.items():
        print(
            _(
                "事件 {event}：第 {seq} 条记录{fault}：{detail}",
                event=event,
                seq=found.event_seq,
                fault=FAULT_WORDS[found.fault](),
                detail=found.detail,
            )
        )
    if audit.breaks:
        failed = ngettext(
            "{n} 个事件中 {broken} 个未通过校验",
            "{n} 个事件中 {broken} 个未通过校验",
            audit.events,
            broken=len(audit.breaks),
        )
        print(failed, file=sys.stderr)
        return 1
    held = ngettext(
        "{n} 个事件，{entries} 条时间线记录：哈希链全部完整",
        "{n} 个事件，{entries} 条时间线记录：哈希链全部完整",
        audit.events,
        entries=audit.entries,
    )
    print(held)
    return 0
