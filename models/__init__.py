"""SQLAlchemy models. Importing this package registers every table on ``Base.metadata``."""

from models.base import Base
from models.event import Event, EventGrid, IdempotencyRecord, Report, Snapshot, TimelineEntry
from models.plan import Action, AgencyFeed, Attestation, EarlyWarning
from models.release import Release
from models.token import ApiToken

__all__ = [
    "Action",
    "AgencyFeed",
    "ApiToken",
    "Attestation",
    "Base",
    "EarlyWarning",
    "Event",
    "EventGrid",
    "IdempotencyRecord",
    "Release",
    "Report",
    "Snapshot",
    "TimelineEntry",
]
