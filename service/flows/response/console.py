"""What the board's command console shows a commander or dispatcher on one event
(/board/events/{id}/console, design § Command console): the event, plan 5.5's conditions while
its response runs, and which commands the caller may give, so that a button is shown only to
whom the plan lets act.

Whether the caller may is asked of the same rules the commands' flows apply
(service.plan.jurisdiction): a button shown and then refused would only be a rule read twice
differently. The flows still check everything when a form is sent, the state first.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, Literal

from sqlalchemy import select

from models import EarlyWarning
from service.errors import Forbidden, Said
from service.flows.context import AppContext
from service.flows.events.read import describe
from service.flows.events.schemas import EventRead
from service.flows.releases.review import releases_of
from service.flows.releases.schemas import ReleaseRead
from service.flows.response.schemas import TerminationCheckRead
from service.flows.response.termination import termination_conditions
from service.flows.schemas import ConditionRead
from service.flows.warnings.schemas import WarningRead
from service.plan.actor import Actor
from service.plan.jurisdiction import lead_or_holder, require_area, require_hq
from service.plan.releases import require_reviewer
from service.store.events import event_area, get_event

Command = Literal[
    "publish", "lift", "approve", "reject", "start", "level", "attest", "withdraw", "terminate"
]
CONSOLE_ROLES: Final = ("commander", "dispatcher")


@dataclass(frozen=True, slots=True)
class WarningShown:
    """One of the event's warnings, and whether the caller may publish or lift it: publish, a
    commander whose HQ's region takes in its whole area (plan 3.2.2.1); lift, a commander of the
    HQ that published it (plan 3.2.2.3 谁发布、谁解除)."""

    warning: WarningRead
    publish: bool
    lift: bool


@dataclass(frozen=True, slots=True)
class ReleaseShown:
    """One of the event's releases, and whether the caller may approve or reject it: a
    commander of the HQ that must review it, or of one above it (plan 5.4)."""

    release: ReleaseRead
    decide: bool


@dataclass(frozen=True, slots=True)
class Console:
    """One event as its console shows it, and the commands the caller may give on it."""

    event: EventRead
    warnings: list[WarningShown]  # in the order proposed
    releases: list[ReleaseShown]  # in the order proposed
    check: TerminationCheckRead | None  # plan 5.5's conditions, while the response runs
    may: frozenset[Command]


def allowed(rule: Callable[..., object], *args: object) -> bool:
    """Whether ``rule`` (one of service.plan.jurisdiction's) lets the caller act."""
    try:
        rule(*args)
    except Forbidden:
        return False
    return True


async def console(context: AppContext, actor: Actor, event_id: uuid.UUID) -> Console:
    """The event ``event_id`` as the caller may see it (404 otherwise), with what it may do."""
    if actor.role not in CONSOLE_ROLES:
        raise Forbidden(Said("指挥台供指挥长和调度员使用"))
    grids = context.playbooks.grids
    commander = actor.role == "commander"
    async with context.read_sessions() as session:
        event = await get_event(session, actor, event_id)
        area = await event_area(session, event)
        in_response = event.state == "response"
        conditions = (
            await termination_conditions(session, context.playbooks, event) if in_response else []
        )
        shown = await describe(session, event, grids)
        proposed = await session.scalars(
            select(EarlyWarning)
            .where(EarlyWarning.event_id == event.id)
            .order_by(EarlyWarning.proposed_at)
        )
        warnings = [
            WarningShown(
                WarningRead.of(w),
                publish=commander
                and w.state == "proposed"
                and allowed(require_area, actor, w.area, grids, Said("发布此预警")),
                lift=commander and w.state == "published" and w.published_hq == actor.region,
            )
            for w in proposed
        ]
        releases = [
            ReleaseShown(
                r,
                decide=commander
                and r.state == "proposed"
                and allowed(require_reviewer, actor, r.reviewer.region, grids, Said("审核")),
            )
            for r in await releases_of(session, grids, event)
        ]
    within = allowed(require_area, actor, area, grids, Said("指挥台"))
    may: set[Command] = set()
    if event.state in ("monitoring", "warning") and commander and within:
        may.add("start")
    if in_response:
        if within:
            may.add("attest")
        holders = ("dispatcher", "commander")
        lead = (actor, event.leading_hq, grids, Said("指挥台"), "5.5")
        if within or allowed(lead_or_holder, *lead, holders):
            may.add("withdraw")
        if commander and allowed(require_hq, *lead):
            may |= {"level", "terminate"}
    check = (
        TerminationCheckRead(
            can_terminate=all(c.met for c in conditions),
            conditions=[ConditionRead.of(c) for c in conditions],
        )
        if in_response
        else None
    )
    if any(w.publish for w in warnings):
        may.add("publish")
    if any(w.lift for w in warnings):
        may.add("lift")
    if any(r.decide for r in releases):
        may |= {"approve", "reject"}
    return Console(shown, warnings, releases, check, frozenset(may))
