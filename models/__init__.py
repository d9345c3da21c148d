"""SQLAlchemy models. Importing this package registers every table on ``Base.metadata``."""

from models.base import Base
from models.event import Event, EventGrid, IdempotencyRecord, Report, Snapshot, TimelineEntry
from models.token import ApiToken

__all__ = [
    "ApiToken",
    "Base",
    "Event",
    "EventGrid",
    "IdempotencyRecord",
    "Report",
    "Snapshot",
    "TimelineEntry",
]
