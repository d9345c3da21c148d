"""The public view (``/public``, its feeds): what it shows, and the version that tells whether
anything changed.

Shown: the events not closed, or closed within ``RECENTLY_ENDED`` (as the board), that are real
(a drill never) and have something public: a published or lifted warning, a published release
(plan 5.4: approved by the HQ that reviews it), or an area reported out. For each, the areas as
their latest report left them (customers out, restoration as plan 5.5 counts it, and the
estimated restoration time of the latest report naming the area, where that report gave one),
its warnings (each with the latest CAP message it sent) and its releases. Nothing else of an
event is read: no duties, notes, people or tokens, so the page cannot show them. The page shows
an event while it has an area out, a warning in force or a release (``PublicEvent.shown``); the
feeds list its lifted warnings too.

``public_version`` is the view's validator, as the board's: every change to an event, its
warnings, releases or figures writes a timeline entry, which moves ``events.timeline_seq``; the
rows (id, timeline seq) of the events shown name what the view holds, with the count of their
warnings past their own expiry (the one change that writes nothing).
"""

from __future__ import annotations

import hashlib
import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Final

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from models import EarlyWarning, Event, EventGrid, Release, Report, ReportSnapshot
from models.base import utcnow
from service.flows.context import AppContext
from service.flows.events.board import RECENTLY_ENDED, on_board
from service.flows.events.history import response_levels
from service.flows.warnings.schemas import WarningRead
from service.plan.alerts import AlertMessage, WarningMoments, warning_messages
from service.plan.grids import GridRegistry
from service.plan.levels import Level, level_rank, max_level
from service.plan.lifecycle import EventState
from service.plan.restoration import SCOPE_WIDTH, GridLoss, restoration

# Warnings in these states were published to the public (a proposal never was).
PUBLIC_WARNING_STATES: Final = ("published", "lifted")


@dataclass(frozen=True, slots=True)
class PublicArea:
    """One affected area (a county, or the city when a report gave only its figure)."""

    region: str
    name: str
    customers_out: int | None
    restored: Decimal  # 0–1, plan 5.5's 1 − lost ÷ peak lost
    etr: datetime | None  # the latest report naming the area, where it gave one
    observed_at: datetime


@dataclass(frozen=True, slots=True)
class PublicWarning:
    """A published (or lifted) warning and the latest CAP message it sent."""

    id: uuid.UUID
    headline: str
    description: str
    places: list[str]
    publisher: str  # the HQ that published it, by name
    published_at: datetime
    onset: datetime | None
    expires: datetime | None
    lifted_at: datetime | None
    messages: list[AlertMessage]  # the public chain, oldest first
    read: WarningRead  # as the CAP writer takes it
    ended: bool  # its own expires has passed, unlifted: no longer in force by its own terms

    @property
    def active(self) -> bool:
        """In force: not lifted, and not past the expiry its proposer gave."""
        return self.lifted_at is None and not self.ended

    @property
    def latest(self) -> AlertMessage:
        return self.messages[-1]


@dataclass(frozen=True, slots=True)
class PublicRelease:
    """A release an HQ approved (plan 5.4)."""

    id: uuid.UUID
    headline: str
    body: str
    publisher: str  # the HQ that reviewed and approved it, by name
    published_at: datetime


@dataclass(frozen=True, slots=True)
class PublicEvent:
    id: uuid.UUID
    state: EventState
    level: Level | None
    response_level: Level | None
    areas: list[PublicArea]  # the widest scope first, then by code
    warnings: list[PublicWarning]  # oldest first
    releases: list[PublicRelease]  # newest first
    changed_at: datetime

    @property
    def active_warnings(self) -> list[PublicWarning]:
        return [w for w in self.warnings if w.active]

    @property
    def shown(self) -> bool:
        """Whether the page has anything of it to show (the feeds may still list its lifted
        or expired warnings)."""
        return bool(self.areas or self.active_warnings or self.releases)


@dataclass(frozen=True, slots=True)
class PublicView:
    events: list[PublicEvent]  # the highest response first, then the oldest
    changed_at: datetime | None  # the latest change to anything shown

    @property
    def warnings(self) -> list[PublicWarning]:
        return [w for e in self.events for w in e.warnings]

    @property
    def alerts(self) -> list[PublicWarning]:
        """The warnings an alert hub's index lists: those in force, and the lifted (their
        ``Cancel``); one past its own expiry is over for every receiver already."""
        return [w for w in self.warnings if not w.ended]

    @property
    def releases(self) -> list[PublicRelease]:
        return [r for e in self.events for r in e.releases]


def _shown(now: datetime) -> Select[Event]:
    """The real events the view may show at ``now``: those the board shows, drills apart."""
    return select(Event).where(Event.drill.is_(False), on_board(now - RECENTLY_ENDED))


async def public_version(context: AppContext) -> str:
    """The view's validator now: one statement over the events it may show. The one change
    with no write, a warning's own ``expires`` passing, is counted per event, so the page
    drops the warning at the first check after (as the board's version counts overdue
    actions)."""
    now = utcnow()
    ended = (
        select(func.count())
        .where(
            EarlyWarning.event_id == Event.id,
            EarlyWarning.state == "published",
            EarlyWarning.expires <= now,
        )
        .scalar_subquery()
    )
    statement = (
        _shown(now).with_only_columns(Event.id, Event.timeline_seq, ended).order_by(Event.id)
    )
    async with context.read_engine.connect() as connection:
        rows = (await connection.execute(statement)).all()
    seed = "".join(f"|{row[0]}:{row[1]}:{row[2]}" for row in rows)
    return hashlib.sha256(seed.encode()).hexdigest()[:32]


async def read_public(context: AppContext) -> PublicView:
    """Everything the public view shows, in one snapshot of the database."""
    now = utcnow()
    async with context.read_sessions() as session:
        if session.get_bind().dialect.name == "postgresql":
            await session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        return await _read(session, context.playbooks.grids, now)


async def _read(session: AsyncSession, grids: GridRegistry, now: datetime) -> PublicView:
    events = list(await session.scalars(_shown(now).order_by(Event.opened_at)))
    ids = [event.id for event in events]
    if not ids:
        return PublicView([], None)
    areas: dict[uuid.UUID, list[EventGrid]] = defaultdict(list)
    for grid in await session.scalars(select(EventGrid).where(EventGrid.event_id.in_(ids))):
        areas[grid.event_id].append(grid)
    etrs = await _latest_etrs(session, ids)
    warnings: dict[uuid.UUID, list[EarlyWarning]] = defaultdict(list)
    published = (
        select(EarlyWarning)
        .where(EarlyWarning.event_id.in_(ids), EarlyWarning.state.in_(PUBLIC_WARNING_STATES))
        .order_by(EarlyWarning.published_at)
    )
    for warning in await session.scalars(published):
        warnings[warning.event_id].append(warning)
    releases: dict[uuid.UUID, list[Release]] = defaultdict(list)
    approved = (
        select(Release)
        .where(Release.event_id.in_(ids), Release.state == "published")
        .order_by(Release.decided_at.desc())
    )
    for release in await session.scalars(approved):
        releases[release.event_id].append(release)
    shown = []
    for event in events:
        found = PublicEvent(
            id=event.id,
            state=event.state,
            level=event.level,
            response_level=event.response_level,
            areas=_areas(areas[event.id], etrs, grids),
            warnings=[await _warning(session, w, grids, now) for w in warnings[event.id]],
            releases=[_release(r, grids) for r in releases[event.id]],
            changed_at=event.timeline_at or event.updated_at,
        )
        if found.areas or found.warnings or found.releases:
            shown.append(found)
    shown.sort(key=_precedence)
    changed = max((e.changed_at for e in shown), default=None)
    return PublicView(shown, changed)


def _precedence(shown: PublicEvent) -> tuple[bool, int, float]:
    """Responses first, the highest level first, then the latest changed."""
    rank = level_rank(max_level(shown.response_level, shown.level))
    return (shown.state != "response", -rank, -shown.changed_at.timestamp())


def _areas(
    rows: list[EventGrid], etrs: dict[tuple[uuid.UUID, str], datetime | None], grids: GridRegistry
) -> list[PublicArea]:
    restored = restoration(
        GridLoss(g.region, g.scope, g.load_lost_mw, g.peak_load_lost_mw) for g in rows
    )
    found = [
        PublicArea(
            region=g.region,
            name=grid.name if (grid := grids.get(g.region)) else g.region,
            customers_out=g.customers_out,
            restored=restored.grids[g.region],
            etr=etrs.get((g.event_id, g.region)),
            observed_at=g.observed_at,
        )
        for g in rows
    ]
    width = {g.region: SCOPE_WIDTH[g.scope] for g in rows}
    return sorted(found, key=lambda a: (-width[a.region], a.region))


async def _latest_etrs(
    session: AsyncSession, event_ids: list[uuid.UUID]
) -> dict[tuple[uuid.UUID, str], datetime | None]:
    """Each area's estimated restoration time, as the latest report naming it gave it (None
    when that report gave none: an older estimate is not carried past a newer report)."""
    latest = (
        select(func.max(ReportSnapshot.seq))
        .where(ReportSnapshot.event_id.in_(event_ids))
        .group_by(ReportSnapshot.event_id, ReportSnapshot.region)
    )
    rows = await session.execute(
        select(ReportSnapshot.event_id, ReportSnapshot.region, Report.etr)
        .join(Report, Report.id == ReportSnapshot.report_id)
        .where(ReportSnapshot.seq.in_(latest))
    )
    return {(event_id, region): etr for event_id, region, etr in rows}


async def _warning(
    session: AsyncSession, warning: EarlyWarning, grids: GridRegistry, now: datetime
) -> PublicWarning:
    assert warning.published_at is not None and warning.published_hq is not None
    moments = WarningMoments(
        warning.id, False, warning.proposed_at, warning.published_at, warning.lifted_at
    )
    sent = warning_messages(moments, await response_levels(session, warning.event_id))
    return PublicWarning(
        id=warning.id,
        headline=warning.headline,
        description=warning.description,
        places=[grid.place if (grid := grids.get(code)) else code for code in warning.area],
        publisher=grids.hq_name(warning.published_hq),
        published_at=warning.published_at,
        onset=warning.onset,
        expires=warning.expires,
        lifted_at=warning.lifted_at,
        messages=sent[1:],  # the proposal was never public
        read=WarningRead.of(warning),
        ended=warning.state == "published"
        and warning.expires is not None
        and warning.expires <= now,
    )


def _release(release: Release, grids: GridRegistry) -> PublicRelease:
    assert release.decided_at is not None
    return PublicRelease(
        id=release.id,
        headline=release.headline,
        body=release.body,
        publisher=grids.hq_name(release.reviewer),
        published_at=release.decided_at,
    )
