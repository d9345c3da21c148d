"""A drill's clock (design § Drills): the time of its scenario, kept on its event.

A drill is played faster than life (plan 7.1 asks for drills, not ten-hour waits), yet its record
must read as the scenario runs: minutes to acknowledge, lateness against ``due_at``, the response's
duration (plan 6.1's evaluation). So a drill event keeps a clock of its own, which every change to
it reads instead of the service's (service.store.events.event_time), and which only the drill
moves on, forward only, as its scenario's minutes pass. A real event never takes a time from a
client: its clock is the service's.

Moving the clock on is when the drill's deadlines pass: its actions due by then are escalated,
or reminded, in the same transaction (service.flows.actions.escalation.chase_drill), so that an
acknowledgement the scenario plays after its due time finds its action overdue, as it would in
life.
"""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from service.errors import Conflict, Forbidden, Said
from service.flows.actions.escalation import chase_drill
from service.flows.admin.token_schemas import DRILL_TOKEN_PREFIX
from service.flows.context import AppContext
from service.flows.drills.schemas import DrillClockSet
from service.flows.events.read import describe
from service.flows.events.schemas import EventRead
from service.plan.actor import Actor
from service.store.events import lock_event
from service.store.transactions import in_transaction

RULE = "design § Drills"


def require_drill_token(actor: Actor) -> None:
    """Only a drill's own admin token, the one its runner made for it (``drill: …``), keeps its
    clock: not the admin who started it, nor anyone acting in it."""
    actor.require("admin")
    if not actor.name.startswith(DRILL_TOKEN_PREFIX):
        raise Forbidden(
            Said(
                "只有演练为自己生成的令牌（名为“{prefix}…”）才能推进演练时钟",
                prefix=DRILL_TOKEN_PREFIX,
            ),
            rule=RULE,
        )


async def set_drill_clock(
    context: AppContext, actor: Actor, event_id: uuid.UUID, body: DrillClockSet
) -> EventRead:
    """Move the drill event's clock on to ``body.at`` and chase the actions due by then; a real
    event (409), or a time before the clock (409), is refused, naming the rule."""
    require_drill_token(actor)

    async def work(session: AsyncSession) -> EventRead:
        event = await lock_event(session, event_id)
        if event.drill_clock is None:
            raise Conflict(
                Said(
                    "事件 {id} 不是演练：真实事件只用本服务的时钟，从不采用客户端给出的时间",
                    id=event.id,
                ),
                rule=RULE,
            )
        if body.at < event.drill_clock:
            raise Conflict(
                Said(
                    "演练时钟不能倒退：当前为 {clock}，不能更早",
                    clock=event.drill_clock.isoformat(),
                ),
                clock=event.drill_clock.isoformat(),
                rule=RULE,
            )
        event.drill_clock = body.at
        await chase_drill(session, context.playbooks.agencies, event, context.settings.remind_every)
        return await describe(session, event, context.playbooks.grids)

    return await in_transaction(context.sessions, work)
