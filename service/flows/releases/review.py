"""信息发布 (plan 5.4): a release is proposed, reviewed by an HQ, and only then published.

Checked in the order design § Errors sets: who the caller is (403), the event or release (404),
jurisdiction (403), then the state (409). Who reviews is service.plan.releases; the choices made
where the plan is silent are written there and below:

* commanders, dispatchers, 市委宣传部 and 绍兴电力局 propose; a token limited to a region
  proposes only for events within it, as for attestations;
* releases are proposed while the event is open or terminated (plan 6's aftermath is news too),
  never once it is closed; a closed event's pending proposals may still be rejected, never
  approved;
* a rejection needs its reason (the proposer is told why); an approval may carry a note;
* an agency reads the published releases of the events it sees and its own proposals, not the
  drafts of others: nothing is public until approved.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from models import Event, Release
from models.base import utcnow
from service.errors import Conflict, Said
from service.flows.context import AppContext
from service.flows.releases.schemas import ReleaseCreate, ReleaseRead
from service.flows.schemas import Page
from service.plan.actor import Actor
from service.plan.grids import GridRegistry
from service.plan.jurisdiction import require_area
from service.plan.releases import (
    PUBLISHING_STATES,
    Topic,
    covering_hq,
    judged_level,
    require_proposer,
    require_reviewer,
    reviewer,
    reviewer_now,
)
from service.playbooks.bundle import Playbooks
from service.store import outbox, timeline
from service.store.batch import WriteBatch
from service.store.cursors import after_time_cursor, time_page
from service.store.events import event_area, event_time, get_event, lock_child, lock_event
from service.store.transactions import in_transaction

ReviewerRule = Callable[[Iterable[Topic]], str]


async def propose(
    context: AppContext, actor: Actor, event_id: uuid.UUID, body: ReleaseCreate
) -> ReleaseRead:
    """A release is proposed; it names the HQ that must review it before it is public."""
    return await _answered(
        context,
        lambda session: _propose(session, context.playbooks, actor, event_id, body, utcnow()),
    )


async def approve(
    context: AppContext, actor: Actor, release_id: uuid.UUID, note: str | None
) -> ReleaseRead:
    """The reviewing HQ or a higher one approves: the release is published (plan 5.4)."""
    return await _answered(
        context,
        lambda session: _decide(
            session, context.playbooks, actor, release_id, True, note, utcnow()
        ),
    )


async def reject(
    context: AppContext, actor: Actor, release_id: uuid.UUID, reason: str
) -> ReleaseRead:
    """The reviewing HQ or a higher one rejects, saying why: the release is never published."""
    return await _answered(
        context,
        lambda session: _decide(
            session, context.playbooks, actor, release_id, False, reason, utcnow()
        ),
    )


async def list_releases(
    context: AppContext, actor: Actor, event_id: uuid.UUID, limit: int, cursor: str | None
) -> Page[ReleaseRead]:
    """The event's releases in the order they were proposed (an agency: the published ones
    and its own)."""
    async with context.read_sessions() as session:
        event = await get_event(session, actor, event_id)
        query = select(Release).where(Release.event_id == event_id)
        if actor.role == "agency":
            query = query.where(
                or_(Release.state == "published", Release.proposer_agency == actor.agency)
            )
        query = after_time_cursor(query, Release.proposed_at, Release.id, cursor, limit)
        found, following = time_page(
            list(await session.scalars(query)), limit, lambda r: (r.proposed_at, r.id)
        )
        return Page(
            items=await _shown(session, context.playbooks.grids, event, found), next=following
        )


async def releases_of(
    session: AsyncSession, grids: GridRegistry, event: Event
) -> list[ReleaseRead]:
    """Every release of ``event``, in the order proposed, as the API shows them (a proposal
    naming the HQ that must review it now): for a reader that may see them all."""
    found = await session.scalars(
        select(Release)
        .where(Release.event_id == event.id)
        .order_by(Release.proposed_at, Release.id)
    )
    return await _shown(session, grids, event, list(found))


async def _answered(
    context: AppContext,
    change: Callable[[AsyncSession], Awaitable[tuple[Release, Event]]],
) -> ReleaseRead:
    """``change`` in a transaction of its own; the release as it then stands."""

    async def work(session: AsyncSession) -> ReleaseRead:
        release, event = await change(session)
        (shown,) = await _shown(session, context.playbooks.grids, event, [release])
        return shown

    return await in_transaction(context.sessions, work)


def _rule(event: Event, area: Iterable[str], grids: GridRegistry) -> ReviewerRule:
    """Who ``event``, as it stands, calls on to review a release of the given topics."""
    level = judged_level(event.peak_level, event.response_level)
    covering = covering_hq(area, grids)
    return lambda topics: reviewer(level, event.leading_hq, topics, covering)


async def _rule_now(session: AsyncSession, grids: GridRegistry, event: Event) -> ReviewerRule:
    # The event's grids matter only while no HQ leads it: spare the query otherwise.
    area = await event_area(session, event) if event.leading_hq is None else set()
    return _rule(event, area, grids)


def _refuse_unless_publishing(event: Event, what: Said) -> None:
    if event.state not in PUBLISHING_STATES:
        raise Conflict(
            Said("事件处于“{state}”状态；{what}", state=event.state, what=what),
            state=event.state,
            allowed_states=list(PUBLISHING_STATES),
            rule="plan 5.4",
        )


async def _propose(
    session: AsyncSession,
    playbooks: Playbooks,
    actor: Actor,
    event_id: uuid.UUID,
    body: ReleaseCreate,
    now: datetime,
) -> tuple[Release, Event]:
    async with WriteBatch(session) as batch:
        require_proposer(actor)
        await get_event(session, actor, event_id)  # 404 for an event the caller cannot see
        event = await lock_event(session, event_id)
        now = event_time(event, now)
        area = await event_area(session, event)
        require_area(actor, area, playbooks.grids, Said("提出信息发布"))
        _refuse_unless_publishing(event, Said("信息发布在事件关闭前均可提出"))
        level = judged_level(event.peak_level, event.response_level)
        review = _rule(event, area, playbooks.grids)(body.topics)
        release = Release(
            id=uuid.uuid4(),
            event_id=event.id,
            state="proposed",
            headline=body.headline,
            body=body.body,
            topics=list(body.topics),
            reviewer=review,
            proposed_by=actor.id,
            proposer=actor.label,
            proposer_agency=actor.agency if actor.role == "agency" else None,
            proposed_at=now,
        )
        batch.add_object(release)
        timeline.record(
            batch,
            event,
            "release_proposed",
            actor,
            f"release proposed for review by {playbooks.grids.hq_short_name(review)}: "
            f"{body.headline}" + (" (drill)" if event.drill else ""),
            clause="5.4",
            at=now,
            release_id=str(release.id),
            topics=list(body.topics),
            level=level,
            reviewer=review,
            agency=release.proposer_agency,
        )
        event.updated_at = now
        return release, event


async def _locked_release(session: AsyncSession, release_id: uuid.UUID) -> tuple[Event, Release]:
    """The release and its event, locked in the one lock order: the event, then the release."""
    return await lock_child(session, Release, release_id)


async def _decide(
    session: AsyncSession,
    playbooks: Playbooks,
    actor: Actor,
    release_id: uuid.UUID,
    approve: bool,
    reason: str | None,
    now: datetime,
) -> tuple[Release, Event]:
    """A commander of the reviewing HQ or above approves or rejects.

    The reviewer is judged again now (service.plan.releases.reviewer_now): a level that rose
    since the proposal may send the release to a higher HQ. A decided release keeps the HQ whose
    review it took, so deciding again is refused for the HQ (403) before the state (409).
    """
    async with WriteBatch(session) as batch:
        actor.require("commander")
        event, release = await _locked_release(session, release_id)
        now = event_time(event, now)
        review = release.reviewer
        if release.state == "proposed":
            current = await _rule_now(session, playbooks.grids, event)
            review = reviewer_now(release.reviewer, current(release.topics))
        require_reviewer(
            actor,
            review,
            playbooks.grids,
            Said("批准此信息发布") if approve else Said("退回此信息发布"),
        )
        if release.state != "proposed":
            raise Conflict(
                Said("信息发布处于“{state}”状态，不是送审中", state=release.state),
                state=release.state,
                rule="plan 5.4",
            )
        if approve:
            _refuse_unless_publishing(event, Said("此事件不再发布信息"))
        release.state = "published" if approve else "rejected"
        release.reviewer, release.decided_hq = review, actor.region
        release.decided_by, release.decider, release.decided_at = actor.id, actor.label, now
        release.reason = reason
        summary = (
            f"release published, approved by {actor.label}: {release.headline}"
            if approve
            else f"release rejected by {actor.label}: {release.headline} ({reason})"
        )
        timeline.record(
            batch,
            event,
            "release_published" if approve else "release_rejected",
            actor,
            summary + (" (drill)" if event.drill else ""),
            clause="5.4",
            at=now,
            release_id=str(release.id),
            reviewer=review,
            reason=reason,
            agency=release.proposer_agency,
        )
        event.updated_at = now
        if approve:
            # plan 3.2.2.1's green channel: the public channels publish it at once
            outbox.emit(batch, event, "release.published", extra=release_notice(release), at=now)
        return release, event


def release_notice(release: Release) -> dict[str, Any]:
    """What a published release's notice says of it, beside the event (everyone hears it):
    what the public reads, and the HQ that approved it (plan 5.4)."""
    return {
        "release": {
            "id": str(release.id),
            "headline": release.headline,
            "body": release.body,
            "topics": list(release.topics),
            "approved_hq": release.decided_hq,
            "published_at": release.decided_at.isoformat() if release.decided_at else None,
        }
    }


async def _shown(
    session: AsyncSession, grids: GridRegistry, event: Event, releases: Sequence[Release]
) -> list[ReleaseRead]:
    """The releases as the API shows them; a proposal names the HQ that must review it now."""
    current = await _rule_now(session, grids, event)
    return [
        ReleaseRead.of(
            release,
            event.drill,
            reviewer_now(release.reviewer, current(release.topics))
            if release.state == "proposed"
            else release.reviewer,
            grids,
        )
        for release in releases
    ]
