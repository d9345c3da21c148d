"""Actions as agencies see them: poll with ETag, acknowledge, complete; commanders cancel."""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime
from typing import Annotated, Final, Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from models import Action, Event
from service.errors import Conflict, Forbidden, NotFound
from service.flows.actions.dispatch import release_links
from service.flows.actions.schemas import ActionRead, read, with_drill
from service.flows.schemas import Text
from service.plan.actor import Actor
from service.plan.jurisdiction import require_hq
from service.plan.leadership import CITY_HQ
from service.plan.timeline import TimelineKind
from service.playbooks.agencies import AgencyRegistry
from service.playbooks.bundle import Playbooks
from service.store import feeds, timeline
from service.store.batch import WriteBatch
from service.store.events import lock_child


class ActionNote(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: Annotated[Text, Field(max_length=4000)] | None = None


class ActionCancel(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Annotated[Text, Field(min_length=1, max_length=2000)]


def agency_actions(
    agency: str, state: str | None, event_id: uuid.UUID | None, drill: bool | None
) -> Select[Action, bool]:
    query = with_drill().where(Action.agency == agency)
    if state is not None:
        query = query.where(Action.state == state)
    if event_id is not None:
        query = query.where(Action.event_id == event_id)
    if drill is not None:
        query = query.where(Event.drill == drill)
    return query


async def etag(
    reader: AsyncSession | AsyncConnection,
    agency: str,
    state: str | None,
    event_id: uuid.UUID | None,
    drill: bool | None,
) -> str:
    """A weak validator of the agency's listing: its change counter (service.store.feeds) and the
    filters. Any change to any of its actions moves the counter, so an unchanged tag means an
    unchanged answer; one read by primary key. An event's drill flag never changes, so the
    ``drill`` filter is part of the tag like the others."""
    seed = f"{agency}|{await feeds.version(reader, agency)}|{state}|{event_id}|{drill}"
    return f'W/"{hashlib.sha256(seed.encode()).hexdigest()[:32]}"'


def may_read_agency(actor: Actor, agency: str, agencies: AgencyRegistry) -> None:
    """That agency itself, commanders and observers (and admins, who see what observers see)."""
    known = agencies.get(agency)
    if known is None or known.kind == "symbolic":
        raise NotFound(f"no agency {agency} (see agencies.yaml)")
    if actor.role == "agency":
        if actor.agency != agency:
            raise NotFound(f"no actions for agency {agency}")
        return
    if actor.role not in ("commander", "observer", "admin"):
        raise Forbidden(f"role '{actor.role}' may not read an agency's actions")


async def list_for_agency(
    session: AsyncSession,
    agency: str,
    state: str | None,
    event_id: uuid.UUID | None,
    drill: bool | None,
) -> list[ActionRead]:
    query = agency_actions(agency, state, event_id, drill)
    rows = await session.execute(query.order_by(Action.dispatched_at, Action.key))
    return [read(action, in_drill) for action, in_drill in rows]


async def _locked_action(
    session: AsyncSession, action_id: uuid.UUID, agency: str | None = None
) -> tuple[Event, Action]:
    """The action and its event, locked in the one lock order: the event, then the action.

    With ``agency``, another agency's action does not exist for the caller (design.md: 404, not
    403); it is checked again once locked, as a hand-over may have moved it meanwhile.
    """
    own = () if agency is None else (Action.agency == agency,)
    return await lock_child(session, Action, action_id, *own)


async def _own_action(
    session: AsyncSession, actor: Actor, action_id: uuid.UUID
) -> tuple[Event, Action]:
    actor.require("agency")
    return await _locked_action(session, action_id, actor.agency)


# An agency's report moves its action forward only (design.md: pending → acknowledged → done):
# the target state, the states it may come from, and the word for the timeline.
PROGRESS: Final[dict[str, tuple[tuple[str, ...], str]]] = {
    "acknowledged": (("pending",), "acknowledged"),
    "done": (("pending", "acknowledged"), "completed"),
}
# The timeline's kind for each word.
VERB_KINDS: Final[dict[str, TimelineKind]] = {
    "acknowledged": "action_acknowledged",
    "completed": "action_completed",
    "noted": "action_noted",
}


async def progress(
    session: AsyncSession,
    batch: WriteBatch,
    playbooks: Playbooks,
    actor: Actor,
    action_id: uuid.UUID,
    to: Literal["acknowledged", "done"],
    note: str | None,
    now: datetime,
) -> ActionRead:
    """Acknowledge or complete an action of the caller's agency.

    Repeating it, or acknowledging a done action, changes nothing but a new note, which is kept
    (and put on the timeline); a cancelled action is a 409. Completing one starts the clocks of
    the links that waited for it (plan 4), in the same transaction.
    """
    event, action = await _own_action(session, actor, action_id)
    if action.state == "cancelled":
        raise Conflict(
            "the action was cancelled: " + (action.cancel_reason or ""), state="cancelled"
        )
    sources, verb = PROGRESS[to]
    if action.state in sources:
        action.state, action.updated_at = to, now
        action.acknowledged_at = action.acknowledged_at or now
        if to == "done":
            action.completed_at = now
    elif not note or note == action.note:
        return read(action, event.drill)
    else:
        verb = "noted"
    if note:
        action.note = note
    await feeds.touch(session, [action.agency], now)
    timeline.record(
        batch,
        event,
        VERB_KINDS[verb],
        actor,
        f"{action.agency} {verb} {action.key}",
        clause=action.clause,
        at=now,
        action_id=str(action.id),
        agency=action.agency,
        note=note,
    )
    if verb == "completed":
        await release_links(session, batch, playbooks, event, action.key, actor, now)
    return read(action, event.drill)


async def cancel(
    session: AsyncSession,
    playbooks: Playbooks,
    actor: Actor,
    action_id: uuid.UUID,
    reason: str,
    now: datetime,
) -> ActionRead:
    """A commander of the leading HQ (or above) cancels an open action, with the reason."""
    async with WriteBatch(session) as batch:
        actor.require("commander")
        event, action = await _locked_action(session, action_id)
        # Before any response (warning actions) no HQ leads yet: the city HQ's authority applies.
        require_hq(actor, event.leading_hq or CITY_HQ, playbooks.grids, "cancel this action", "5.1")
        if action.state == "done":
            raise Conflict("the action is done already", state="done")
        if action.state != "cancelled":
            action.state, action.cancelled_at, action.cancel_reason = "cancelled", now, reason
            action.updated_at = now
            await feeds.touch(session, [action.agency], now)
            timeline.record(
                batch,
                event,
                "action_cancelled",
                actor,
                f"{action.key} cancelled: {reason}",
                clause=action.clause,
                at=now,
                action_id=str(action.id),
                agency=action.agency,
                reason=reason,
            )
            # A link cancelled as not needed does not hold up the ones after it.
            await release_links(session, batch, playbooks, event, action.key, actor, now)
        return read(action, event.drill)


async def list_for_event(
    session: AsyncSession, actor: Actor, event_id: uuid.UUID
) -> list[ActionRead]:
    """An event's actions; an agency sees only its own."""
    query = with_drill().where(Action.event_id == event_id)
    if actor.role == "agency":
        query = query.where(Action.agency == actor.agency)
    rows = await session.execute(query.order_by(Action.dispatched_at, Action.key))
    return [read(action, in_drill) for action, in_drill in rows]
