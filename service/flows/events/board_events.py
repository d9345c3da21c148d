"""What the board shows of one event (design § Board): the event, its actions by agency, its
latest timeline entries, its published warnings and its course (``board_course``: load lost and
customers out now, the levels it was set to, its restoration curve).

Read only for the events the renderer holds no part of at their version
(``service.flows.events.board``): a change to one event reads that one, never the whole board,
and nothing here reads beyond the events asked for. What a caller sees is what the API shows it:
an agency its own actions only, and the timeline as ``service.flows.events.agency_view`` cuts it.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models import Action, EarlyWarning, Event, EventGrid
from service.flows.actions.schemas import ActionRead, read, with_drill
from service.flows.events.board_course import (
    NO_LOSS,
    GridNow,
    Loss,
    level_history,
    loss_now,
    restoration_curves,
)
from service.flows.events.board_timeline import latest_timeline
from service.flows.events.read import event_read
from service.flows.events.schemas import EventRead, TimelineRead
from service.flows.warnings.schemas import WarningRead
from service.plan.actor import Actor
from service.plan.deadlines import is_overdue as overdue_at
from service.plan.deadlines import owes
from service.plan.duties import OPEN_STATES
from service.plan.evaluation import CurvePoint, LevelSet, evaluates
from service.plan.grids import GridRegistry
from service.words.timeline import Names


def is_overdue(action: ActionRead, now: datetime) -> bool:
    """Past its due time and still owing what that time asks for (not yet acknowledged, or not
    yet done when due on completion): ``service.plan.deadlines.is_overdue``, as the escalation
    job judges it."""
    return overdue_at(action.state, action.due_on, action.due_at, now)


def still_owed(action: ActionRead) -> bool:
    """Its due time still runs: it has not yet given what that time asks for (an open action
    due on its acknowledgement and taken up has; its time left means nothing any more)."""
    return owes(action.state, action.due_on)


@dataclass(frozen=True)
class AgencyActions:
    """One agency's actions on one event: the open ones, soonest due first, and the others
    counted."""

    agency: str
    open: list[ActionRead]
    done: int
    cancelled: int

    def overdue(self, now: datetime) -> int:
        return sum(1 for action in self.open if is_overdue(action, now))


@dataclass(frozen=True)
class BoardEvent:
    event: EventRead
    agencies: list[AgencyActions]
    timeline: list[TimelineRead]  # newest first
    warnings: list[WarningRead]  # published, oldest first
    loss: Loss = NO_LOSS
    levels: list[LevelSet] = field(default_factory=list)  # oldest first
    curve: list[CurvePoint] = field(default_factory=list)  # in the order observed
    # Whether the viewer reads the event's evaluation report: every role but an agency, and the
    # agency that evaluates or investigates it (plan 6.1, 6.2).
    evaluation: bool = True

    def duties(self, now: datetime) -> list[ActionRead]:
        """Every open action of the event: the overdue first, then the soonest due."""
        found = [action for group in self.agencies for action in group.open]
        return sorted(found, key=lambda a: (not is_overdue(a, now), a.due_at, a.key))

    def overdue(self, now: datetime) -> int:
        return sum(group.overdue(now) for group in self.agencies)

    @property
    def published_by(self) -> str | None:
        """The HQ that published the event's latest warning (plan 3.2.2.1), if any."""
        return next((w.published_by for w in reversed(self.warnings) if w.published_by), None)


async def read_events(
    session: AsyncSession,
    actor: Actor,
    events: Sequence[Event],
    grids: GridRegistry,
    after: Mapping[str, str | None],
    names: Names,
) -> dict[uuid.UUID, BoardEvent]:
    """What the board shows ``actor`` of each of ``events``, by id (``after``: the checklists'
    links, for the reports an agency received): one statement each for their grids, actions,
    warnings and curves, and one or two per event for its timeline and its levels."""
    ids = [event.id for event in events]
    if not ids:
        return {}
    grid_rows: dict[uuid.UUID, list[EventGrid]] = defaultdict(list)
    for grid in await session.scalars(select(EventGrid).where(EventGrid.event_id.in_(ids))):
        grid_rows[grid.event_id].append(grid)
    actions: dict[uuid.UUID, list[ActionRead]] = defaultdict(list)
    action_query = with_drill().where(Action.event_id.in_(ids))
    if actor.role == "agency":
        action_query = action_query.where(Action.agency == actor.agency)
    for action, drill in await session.execute(action_query.order_by(Action.due_at, Action.key)):
        actions[action.event_id].append(read(action, drill))
    warnings: dict[uuid.UUID, list[WarningRead]] = defaultdict(list)
    published = (
        select(EarlyWarning)
        .where(EarlyWarning.event_id.in_(ids), EarlyWarning.state == "published")
        .order_by(EarlyWarning.published_at)
    )
    for warning in await session.scalars(published):
        warnings[warning.event_id].append(WarningRead.of(warning))
    curves = await restoration_curves(session, ids)
    return {
        event.id: BoardEvent(
            event=event_read(event, grid_rows[event.id], grids),
            agencies=by_agency(actions[event.id]),
            timeline=[
                entry.told(names)
                for entry in await latest_timeline(session, actor, event, actions[event.id], after)
            ],
            warnings=warnings[event.id],
            loss=loss_now(
                GridNow(g.region, g.scope, g.load_lost_mw, g.customers_out)
                for g in grid_rows[event.id]
            ),
            levels=await level_history(session, event.id),
            curve=curves.get(event.id, []),
            evaluation=actor.role != "agency"
            or evaluates((action.clause, action.state) for action in actions[event.id]),
        )
        for event in events
    }


def by_agency(actions: list[ActionRead]) -> list[AgencyActions]:
    """The actions grouped by agency: agencies with open actions first, the one whose next
    action is due soonest first; then the rest by code."""
    grouped: dict[str, list[ActionRead]] = defaultdict(list)
    for action in actions:
        grouped[action.agency].append(action)
    found = [
        AgencyActions(
            agency=agency,
            open=sorted(
                (a for a in held if a.state in OPEN_STATES), key=lambda a: (a.due_at, a.key)
            ),
            done=sum(1 for a in held if a.state == "done"),
            cancelled=sum(1 for a in held if a.state == "cancelled"),
        )
        for agency, held in grouped.items()
    ]
    return sorted(found, key=_soonest_first)


def _soonest_first(group: AgencyActions) -> tuple[int, float, str]:
    if group.open:
        return (0, group.open[0].due_at.timestamp(), group.agency)
    return (1, 0.0, group.agency)
