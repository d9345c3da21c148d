"""预警 (plan 3.2.2): the grid side proposes, a government HQ publishes, only it lifts.

Plan 3.2.2.1: the power company reports and proposes (and tells the important users as the case
needs), the power authority judges, the government approves and publishes, and the authority
tells the other departments of its level; 3.2.2.2: publishing sets the warning actions going;
3.2.2.3: 谁发布、谁解除, and lifting ends the related measures.

The power authority (电力运行主管部门) is the one of the government concerned: at a proposal, of
the lowest HQ whose grid covers the whole area (the one that may publish it); once published, of
the HQ that published it (service.plan.addressees, ``local-power-authority``).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from sqlalchemy.ext.asyncio import AsyncSession

from models import EarlyWarning, Event
from service.errors import Conflict, Forbidden, InvalidInput, NotFound
from service.flows.actions.dispatch import cancel_open, dispatch, open_monitoring
from service.flows.events.history import response_levels
from service.flows.schemas import Moment, RegionCode, Text
from service.plan.actor import Actor
from service.plan.addressees import Scene
from service.plan.alerts import AlertMessage, WarningMoments, warning_messages
from service.plan.duties import OPEN_STATES
from service.plan.early_warning import WarningState
from service.plan.jurisdiction import require_area
from service.plan.leadership import CITY_HQ
from service.plan.lifecycle import fire
from service.plan.releases import covering_hq
from service.playbooks.bundle import Playbooks
from service.store import outbox, timeline
from service.store.batch import WriteBatch
from service.store.events import lock_child, open_event


class WarningCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    event_id: uuid.UUID | None = None
    area: Annotated[list[RegionCode], Field(min_length=1, max_length=16)]
    headline: Annotated[Text, Field(min_length=1, max_length=200)]
    description: Annotated[Text, Field(min_length=1, max_length=4000)]
    onset: Moment | None = None
    expires: Moment | None = None
    drill: bool | None = Field(default=None, description="a drill event pages nobody real")

    @field_validator("area")
    @classmethod
    def _distinct(cls, area: list[str]) -> list[str]:
        if len(set(area)) != len(area):
            raise ValueError("a region appears more than once")
        return area

    @model_validator(mode="after")
    def _expires_after_onset(self) -> WarningCreate:
        if self.onset and self.expires and self.expires <= self.onset:
            raise ValueError("expires must be after onset")
        return self


class WarningDecision(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Annotated[Text, Field(max_length=2000)] | None = None


class WarningRead(BaseModel):
    id: uuid.UUID
    event_id: uuid.UUID
    state: WarningState
    area: list[str]
    headline: str
    description: str
    onset: datetime | None
    expires: datetime | None
    proposed_at: datetime
    published_by: str | None = Field(description="the region code of the HQ that published it")
    published_at: datetime | None
    lifted_at: datetime | None

    @classmethod
    def of(cls, warning: EarlyWarning) -> WarningRead:
        return cls(
            id=warning.id,
            event_id=warning.event_id,
            state=warning.state,
            area=warning.area,
            headline=warning.headline,
            description=warning.description,
            onset=warning.onset,
            expires=warning.expires,
            proposed_at=warning.proposed_at,
            published_by=warning.published_hq,
            published_at=warning.published_at,
            lifted_at=warning.lifted_at,
        )


async def propose(
    session: AsyncSession,
    playbooks: Playbooks,
    actor: Actor,
    body: WarningCreate,
    now: datetime,
    event_id: uuid.UUID | None = None,
) -> EarlyWarning:
    """A dispatcher proposes; with no event, a new one opens in monitoring (a forecast typhoon
    comes before any outage)."""
    async with WriteBatch(session) as batch:
        actor.require("dispatcher")
        for i, code in enumerate(body.area):
            if code not in playbooks.grids:
                raise InvalidInput(f"area[{i}]", f"unknown region {code} (see regions.yaml)")
        require_area(actor, body.area, playbooks.grids, "propose a warning")
        event = await open_event(
            session,
            batch,
            actor,
            now,
            event_id=event_id or body.event_id,
            regions=body.area,
            drill=body.drill,
            opened_by="a warning proposal",
            clause="3.2.2.1",
        )
        opened = batch.holds(event)
        fire(event, "propose_warning")
        warning = EarlyWarning(
            id=uuid.uuid4(),
            event_id=event.id,
            state="proposed",
            area=list(body.area),
            headline=body.headline,
            description=body.description,
            onset=body.onset,
            expires=body.expires,
            proposed_by=actor.id,
            proposed_at=now,
        )
        batch.add_object(warning)
        timeline.record(
            batch,
            event,
            "warning_proposed",
            actor,
            f"warning proposed: {body.headline}",
            clause="3.2.2.1",
            at=now,
            warning_id=str(warning.id),
            area=list(body.area),
        )
        event.updated_at = now
        covering = covering_hq(body.area, playbooks.grids)
        if opened:
            outbox.emit(batch, event, "event.opened", at=now)
            await open_monitoring(session, batch, playbooks, event, actor, now, covering)
        items = playbooks.checklists.items_at("proposed")
        scene = Scene(covering, (covering,))
        await dispatch(session, batch, playbooks, event, items, actor, now, scene)
        return warning


async def _locked_warning(
    session: AsyncSession, warning_id: uuid.UUID
) -> tuple[Event, EarlyWarning]:
    """The warning and its event, locked in the one lock order: the event, then the warning."""
    return await lock_child(session, EarlyWarning, warning_id)


async def publish(
    session: AsyncSession,
    playbooks: Playbooks,
    actor: Actor,
    warning_id: uuid.UUID,
    reason: str | None,
    now: datetime,
) -> EarlyWarning:
    """Plan 3.2.2.1: the HQ whose region covers the area publishes; 3.2.2.2: actions go out."""
    async with WriteBatch(session) as batch:
        actor.require("commander")
        event, warning = await _locked_warning(session, warning_id)
        require_area(actor, warning.area, playbooks.grids, "publish this warning")
        if warning.state != "proposed":
            raise Conflict(
                f"the warning is {warning.state}, not proposed",
                state=warning.state,
                rule="plan 3.2.2.1",
            )
        fire(event, "publish_warning", has_proposed_warning=warning.state == "proposed")
        warning.state, warning.published_hq = "published", actor.region
        warning.published_by, warning.published_at = actor.id, now
        warning.reason = reason
        timeline.record(
            batch,
            event,
            "warning_published",
            actor,
            f"warning published by {actor.region}: {warning.headline}",
            clause="3.2.2.1",
            at=now,
            warning_id=str(warning.id),
        )
        event.updated_at = now
        outbox.emit(batch, event, "warning.published", extra=_notice(warning), at=now)
        items = playbooks.checklists.items_at("published")
        publisher = actor.region or CITY_HQ
        scene = Scene(publisher, (publisher,))
        await dispatch(session, batch, playbooks, event, items, actor, now, scene)
        return warning


async def lift(
    session: AsyncSession,
    playbooks: Playbooks,
    actor: Actor,
    warning_id: uuid.UUID,
    reason: str | None,
    now: datetime,
) -> EarlyWarning:
    """Plan 3.2.2.3: 谁发布、谁解除 — only the publishing HQ lifts, and the measures end."""
    async with WriteBatch(session) as batch:
        actor.require("commander")
        event, warning = await _locked_warning(session, warning_id)
        if warning.state == "published" and warning.published_hq != actor.region:
            raise Forbidden(
                f"only the HQ that published this warning ({warning.published_hq}) may lift it",
                rule="plan 3.2.2.3 谁发布、谁解除",
            )
        if warning.state != "published":
            raise Conflict(
                f"the warning is {warning.state}, not published",
                state=warning.state,
                rule="plan 3.2.2.3",
            )
        fire(event, "lift_warning")
        await cancel_open(
            session,
            batch,
            event,
            phases=("warning",),
            states=OPEN_STATES,
            keep_keys=None,
            reason="warning lifted",
            actor=actor,
            now=now,
            clause="3.2.2.3",
        )
        warning.state, warning.lifted_by, warning.lifted_at = "lifted", actor.id, now
        warning.reason = reason or warning.reason
        timeline.record(
            batch,
            event,
            "warning_lifted",
            actor,
            f"warning lifted: {warning.headline}" + (f" ({reason})" if reason else ""),
            clause="3.2.2.3",
            at=now,
            warning_id=str(warning.id),
        )
        event.updated_at = now
        outbox.emit(batch, event, "warning.lifted", extra=_notice(warning), at=now)
        return warning


def _notice(warning: EarlyWarning) -> dict[str, Any]:
    """What a warning's notice says of it, beside the event (everyone hears it: audience None)."""
    return {
        "warning": {
            "id": str(warning.id),
            "headline": warning.headline,
            "area": list(warning.area),
            "state": warning.state,
        }
    }


async def read_warning(session: AsyncSession, warning_id: uuid.UUID) -> EarlyWarning:
    warning = await session.get(EarlyWarning, warning_id)
    if warning is None:
        raise NotFound(f"warning {warning_id} does not exist")
    return warning


async def messages(session: AsyncSession, warning: EarlyWarning, drill: bool) -> list[AlertMessage]:
    """The CAP messages the warning has sent, oldest first (service.plan.alerts): derived from
    its moments and the event's response levels, so nothing is stored for them."""
    moments = WarningMoments(
        warning.id, drill, warning.proposed_at, warning.published_at, warning.lifted_at
    )
    return warning_messages(moments, await response_levels(session, warning.event_id))
