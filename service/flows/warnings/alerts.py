"""Reading a warning's latest public message (plan 3.2.2.1 通过预警信息发布系统向社会公众发布):
which messages it has sent is derived from its moments and its event's response levels
(``service.plan.alerts``), so nothing is stored for them; the API writes the message as CAP 1.2."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from models import EarlyWarning, Event
from service.errors import NotFound, Said
from service.flows.context import AppContext
from service.flows.events.history import response_levels
from service.flows.warnings.schemas import WarningRead
from service.plan.actor import Actor
from service.plan.alerts import AlertMessage, WarningMoments, warning_messages
from service.store.events import get_event


@dataclass(frozen=True, slots=True)
class WarningAlert:
    """A warning and the latest message it has sent."""

    warning: WarningRead
    message: AlertMessage


async def latest_alert(context: AppContext, actor: Actor, warning_id: uuid.UUID) -> WarningAlert:
    """The warning's latest message. Any role reads a published or lifted warning (it was
    published to the public, plan 3.2.2.1); a proposal is not public yet, and is read only by
    those who see its event (an agency: within its own events)."""
    async with context.read_sessions() as session:
        warning = await session.get(EarlyWarning, warning_id)
        if warning is None:
            raise NotFound(Said("预警 {id} 不存在", id=warning_id))
        reader = actor if warning.state == "proposed" else None
        event = await get_event(session, reader, warning.event_id)
        sent = await _sent_messages(session, warning, event.drill)
    return WarningAlert(WarningRead.of(warning), sent[-1])


async def _sent_messages(
    session: AsyncSession, warning: EarlyWarning, drill: bool
) -> list[AlertMessage]:
    """The messages the warning has sent, oldest first."""
    moments = WarningMoments(
        warning.id, drill, warning.proposed_at, warning.published_at, warning.lifted_at
    )
    return warning_messages(moments, await response_levels(session, warning.event_id))


async def public_alert(
    context: AppContext, warning_id: uuid.UUID, moment: str | None = None
) -> WarningAlert:
    """A message a warning sent the public (plan 3.2.2.1), read without a token: ``moment``'s
    (``published``, ``level-<seq>``, ``lifted``), else the latest. Only a published or lifted
    warning of a real event has any: a proposal, a drill's warning or an unknown moment is
    not found, as the public never received it."""
    async with context.read_sessions() as session:
        warning = await session.get(EarlyWarning, warning_id)
        event = await get_event(session, None, warning.event_id) if warning else None
        if warning is None or event is None or event.drill or warning.state == "proposed":
            raise NotFound(Said("预警 {id} 不存在", id=warning_id))
        public = (await _sent_messages(session, warning, drill=False))[1:]
    found = public[-1] if moment is None else next((m for m in public if m.moment == moment), None)
    if found is None:
        raise NotFound(Said("预警 {id} 没有消息 {moment}", id=warning_id, moment=moment))
    return WarningAlert(WarningRead.of(warning), found)


# The message of a warning's chain each of its public notices tells of (plan 3.2.2.1).
NOTICE_MOMENTS: Final = {"warning.published": "published", "warning.lifted": "lifted"}


async def notice_alert(
    sessions: async_sessionmaker[AsyncSession],
    warning_id: uuid.UUID,
    notice_type: str,
    at: datetime,
) -> WarningAlert | None:
    """The warning and the message of its chain that the notice ``notice_type`` made at ``at``
    tells of, as a public channel receives it: the publication's ``Alert``, the lifting's
    ``Cancel``, and for ``warning.updated`` the ``Update`` sent then (the chain's message at or
    before ``at`` short of its cancellation: one change at the very moment of another adds no
    message of its own). None when the warning is gone with its event."""
    async with sessions() as session:
        warning = await session.get(EarlyWarning, warning_id)
        if warning is None:
            return None
        event = await session.get(Event, warning.event_id)
        drill = bool(event.drill) if event is not None else False
        sent = await _sent_messages(session, warning, drill)
    chain = [m for m in sent if m.moment != "proposed"]
    if (moment := NOTICE_MOMENTS.get(notice_type)) is not None:
        found = [m for m in chain if m.moment == moment]
    else:
        found = [m for m in chain if m.sent <= at and m.msg_type != "Cancel"]
    return WarningAlert(WarningRead.of(warning), found[-1]) if found else None
