"""The outbox: a notice of a change, written in the same transaction as the change
(design § Notifications), so that a notice exists exactly when its change
committed. The deliverer (service.notify.deliverer) fans each out to the subscriptions that hear
it and posts it; nothing here talks to the network."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Mapping
from datetime import datetime
from typing import Any

from models import Event, OutboxMessage
from models.base import table_of, utcnow
from service.plan.notifications import NoticeType
from service.store.batch import WriteBatch


def notice_data(event: Event, extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """A notice's ``data``: what every notice says of its event, then ``extra`` (for an action
    type, ``action``: the action as the API shows it)."""
    data: dict[str, Any] = {
        "event_id": str(event.id),
        "drill": bool(event.drill),
        "level": event.level,
        "response_level": event.response_level,
        "state": event.state,
        "leading_hq": event.leading_hq,
        # the grids the outage reached (plan 1.5's basis): where it is, for people and programs
        "regions": sorted({str(b["region"]) for b in event.basis or () if "region" in b}),
    }
    if extra:
        data.update(extra)
    return data


def emit(
    batch: WriteBatch,
    event: Event,
    notice_type: NoticeType,
    *,
    audience: Collection[str] | None = None,
    extra: Mapping[str, Any] | None = None,
    at: datetime | None = None,
) -> None:
    """Add one notice about ``event`` to the transaction's write batch.

    ``audience`` names the agency codes the notice concerns (service.plan.notifications.hears);
    None tells every subscription. The event must be as the change left it: the notice copies
    its level, state and drill flag now, not when it is delivered.
    """
    batch.add(
        table_of(OutboxMessage),
        [
            {
                "id": uuid.uuid4(),
                "event_id": event.id,
                "type": notice_type,
                "drill": bool(event.drill),
                "audience": sorted(set(audience)) if audience is not None else None,
                "data": notice_data(event, extra),
                "created_at": at or utcnow(),
                "fanned_out_at": None,
            }
        ],
    )


def emit_unattached(
    batch: WriteBatch,
    notice_type: NoticeType,
    data: Mapping[str, Any],
    *,
    audience: Collection[str] | None,
    at: datetime,
) -> None:
    """Add one notice of no event (a standing task's, design § Standing duties) to the
    transaction's write batch: ``data`` is its whole ``data``; it is never a drill's."""
    batch.add(
        table_of(OutboxMessage),
        [
            {
                "id": uuid.uuid4(),
                "event_id": None,
                "type": notice_type,
                "drill": False,
                "audience": sorted(set(audience)) if audience is not None else None,
                "data": {"drill": False, **data},
                "created_at": at,
                "fanned_out_at": None,
            }
        ],
    )
