"""A higher HQ takes the lead of a response (plan 5.1, 2.2), the level kept."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from models import Event
from service.errors import Conflict, InvalidInput, Said
from service.flows.actions.dispatch import dispatch, scene_of, started_items
from service.flows.actions.outstanding import hand_over
from service.flows.context import AppContext
from service.flows.events.schemas import EventRead
from service.flows.response.running import run_command
from service.flows.response.schemas import LeadTaking
from service.plan.actor import Actor
from service.plan.jurisdiction import require_hq
from service.plan.leadership import PROVINCE_HQ, may_take_lead
from service.plan.lifecycle import fire
from service.store import timeline
from service.store.batch import WriteBatch


async def take_lead(
    context: AppContext, actor: Actor, event_id: uuid.UUID, taking: LeadTaking
) -> EventRead:
    """A higher HQ takes the lead of a III or IV response, the level kept (plan 5.1 "跨设区市的
    较大、一般大面积停电事件，必要时由省政府组织指挥应对工作"; plan 2.2 必要时由市政府组织指挥).

    The commander must command ``region`` (or an HQ above it) and ``region`` must rank above the
    HQ that leads. The leading HQ's pending duties are handed to it, and it gets the duties its
    new role brings. From then on it is the HQ that ends the response (plan 5.5).
    """
    playbooks, region, reason = context.playbooks, taking.region, taking.reason

    actor.require("commander")
    if region not in playbooks.grids:  # before the event is looked for
        raise InvalidInput("region", Said("未知地区 {region}（见 regions.yaml）", region=region))

    async def command(
        session: AsyncSession, batch: WriteBatch, event: Event, now: datetime
    ) -> None:
        require_hq(actor, region, playbooks.grids, Said("为 {region} 牵头", region=region), "5.1")
        fire(event, "take_lead")
        refused = may_take_lead(event.response_level, event.leading_hq, region)
        if refused is not None:
            raise Conflict(
                refused,
                leading_hq=event.leading_hq,
                level=event.response_level,
                rule="plan 5.1, 2.2: a higher HQ takes the lead of a III or IV",
            )
        previous, event.leading_hq = event.leading_hq, region
        event.updated_at = now
        clause = "5.1" if region == PROVINCE_HQ else "2.2"
        timeline.record(
            batch,
            event,
            "leading_hq_changed",
            actor,
            f"{region} takes the lead of the level {event.response_level} response from "
            f"{previous}: {reason}",
            clause=clause,
            at=now,
            leading_hq=region,
            previous=previous,
            reason=reason,
        )
        await hand_over(session, batch, playbooks, event, region, actor, now, clause=clause)
        if event.response_level is not None:
            items = started_items(playbooks, event)
            scene = await scene_of(session, event)
            await dispatch(session, batch, playbooks, event, items, actor, now, scene, reopen=False)

    return await run_command(context, actor, event_id, command)
