"""What an event's timeline says happened to it: its response levels, who led, its chronology.

The timeline is the record (append-only): every level and lead the event had is on it, with who
set it and when. Read by the evaluation report (plan 6.1) and by a warning's CAP messages, whose
severity follows the response level at their moment.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, cast

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models import ApiToken, TimelineEntry
from service.plan.alerts import LevelAt
from service.plan.evaluation import LeadChange, LevelSet
from service.plan.levels import LEVELS, Level
from service.plan.timeline import TimelineKind

# The entries that set the response level (each carries ``level`` and ``leading_hq``), and the
# one that hands the lead to a higher HQ at the same level.
LEVEL_KINDS: Final[tuple[TimelineKind, ...]] = (
    "response_started",
    "response_raised",
    "response_lowered",
)
LEAD_KINDS: Final[tuple[TimelineKind, ...]] = (*LEVEL_KINDS, "leading_hq_changed")
# The event's own course, as the evaluation report tells it: no reports (the restoration curve
# shows them), no single actions (the agencies' figures count them).
CHRONOLOGY_KINDS: Final[tuple[TimelineKind, ...]] = (
    "event_opened",
    "warning_proposed",
    "warning_published",
    "warning_lifted",
    *LEAD_KINDS,
    "attestation",
    "attestation_withdrawn",
    "attestations_voided",
    "release_published",
    "response_terminated",
    "event_dismissed",
    "event_closed",
)
BY_REPORT: Final[TimelineKind] = "report"


@dataclass(frozen=True, slots=True)
class AttributedEntry:
    """A timeline entry with the role and name of the token that caused it (None: the service)."""

    seq: int
    at: datetime
    kind: str
    actor: str
    summary: str
    data: dict[str, Any]
    role: str | None
    name: str | None

    @property
    def level(self) -> Level | None:
        level = self.data.get("level")
        return cast(Level, level) if level in LEVELS else None

    @property
    def by(self) -> str:
        """Who set a level: a commander, by name; otherwise the report that reached it (the
        dispatcher who posted it chose no level)."""
        if self.role == "commander" and self.name:
            return self.name
        return BY_REPORT


async def timeline_entries(
    session: AsyncSession, event_id: uuid.UUID, kinds: Iterable[TimelineKind]
) -> list[AttributedEntry]:
    """The event's timeline entries of ``kinds``, oldest first, with their actors' tokens."""
    rows = await session.execute(
        select(
            TimelineEntry.event_seq,
            TimelineEntry.at,
            TimelineEntry.kind,
            TimelineEntry.actor,
            TimelineEntry.summary,
            TimelineEntry.data,
            ApiToken.role,
            ApiToken.name,
        )
        .outerjoin(ApiToken, ApiToken.id == TimelineEntry.actor_id)
        .where(TimelineEntry.event_id == event_id, TimelineEntry.kind.in_(list(kinds)))
        .order_by(TimelineEntry.event_seq)
    )
    return [
        AttributedEntry(seq, at, kind, actor, summary, data or {}, role, name)
        for seq, at, kind, actor, summary, data, role, name in rows
    ]


def level_sets(found: Iterable[AttributedEntry]) -> list[LevelSet]:
    """The levels the response was set to, with who set them and who led then."""
    return [
        LevelSet(level, e.at, e.by, e.data.get("leading_hq"))
        for e in found
        if e.kind in LEVEL_KINDS and (level := e.level) is not None
    ]


def lead_changes(found: Iterable[AttributedEntry]) -> list[LeadChange]:
    """Each moment an HQ was named to lead (the same HQ again included)."""
    return [
        LeadChange(region, e.at)
        for e in found
        if e.kind in LEAD_KINDS and isinstance(region := e.data.get("leading_hq"), str)
    ]


async def response_levels(session: AsyncSession, event_id: uuid.UUID) -> list[LevelAt]:
    """The response levels as they were set, oldest first (for a warning's messages)."""
    found = await timeline_entries(session, event_id, LEVEL_KINDS)
    return [LevelAt(e.level, e.at, e.seq) for e in found]
