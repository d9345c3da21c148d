"""SQLAlchemy models. Importing this package registers every table on ``Base.metadata``."""

from models.base import Base
from models.evaluation import EvaluationFinding, EvaluationSignOff
from models.event import Event, EventGrid, IdempotencyRecord, Report, ReportSnapshot, TimelineEntry
from models.notify import Delivery, OutboxMessage, Subscription
from models.plan import Action, AgencyFeed, Attestation, EarlyWarning
from models.release import Release
from models.requisition import Requisition
from models.standing import StandingTask
from models.token import ApiToken, SignIn

__all__ = [
    "Action",
    "AgencyFeed",
    "ApiToken",
    "Attestation",
    "Base",
    "Delivery",
    "EarlyWarning",
    "EvaluationFinding",
    "EvaluationSignOff",
    "Event",
    "EventGrid",
    "IdempotencyRecord",
    "OutboxMessage",
    "Release",
    "Report",
    "ReportSnapshot",
    "Requisition",
    "SignIn",
    "StandingTask",
    "Subscription",
    "TimelineEntry",
]
