"""The service's exception tree, each mapped once to RFC 9457 problem+json (service.api.problems).

Domain code raises these; it never builds HTTP responses itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any


@dataclass(frozen=True, init=False)
class Said:
    """A detail as the message catalogue holds it (service.words): the sentence in Chinese with
    its ``{name}`` fields, and their values. Said in the language of whoever reads it: the API
    in the problem's language (English unless asked), the command line in its own."""

    template: str
    params: dict[str, Any]

    def __init__(self, template: str, /, **params: Any) -> None:
        object.__setattr__(self, "template", template)
        object.__setattr__(self, "params", params)

    def __str__(self) -> str:
        return self.template.format(**self.params)


class CoordinatorError(Exception):
    """Base of every error the service raises on purpose. ``detail`` is a ``Said`` where the
    catalogue holds it (then ``said``), else plain text."""

    status = 500
    title = "Internal error"

    def __init__(self, detail: str | Said, **extra: Any) -> None:
        super().__init__(str(detail))
        self.detail = str(detail)
        self.said = detail if isinstance(detail, Said) else None
        self.extra = extra

    def restate(self, detail: str | Said) -> None:
        """Say the error otherwise (a caller that knows better why it was refused)."""
        self.args = (str(detail),)
        self.detail = str(detail)
        self.said = detail if isinstance(detail, Said) else None


class PlaybookError(CoordinatorError):
    """A playbook file is malformed; names the file, the entry and the reason. Stops the service."""

    title = "Invalid playbook"

    def __init__(self, file: str, entry: str, reason: str) -> None:
        super().__init__(f"{file}: {entry}: {reason}", file=file, entry=entry, reason=reason)
        self.file = file
        self.entry = entry
        self.reason = reason


class InvalidInput(CoordinatorError):
    """The request is well-formed JSON but breaks a rule of the plan or the contract (422)."""

    status = 422
    title = "Invalid input"

    def __init__(self, field: str, detail: str | Said) -> None:
        super().__init__(detail, errors=[{"field": field, "message": str(detail)}])
        self.field = field


class Unauthenticated(CoordinatorError):
    """No bearer token, or one that is unknown or revoked (401)."""

    status = 401
    title = "Unauthenticated"


class Forbidden(CoordinatorError):
    """The caller's role or jurisdiction does not allow this (403)."""

    status = 403
    title = "Forbidden"


class NotFound(CoordinatorError):
    """The named resource does not exist, or is not visible to the caller (404)."""

    status = 404
    title = "Not found"


class Conflict(CoordinatorError):
    """The request is valid but the resource's state does not allow it (409)."""

    status = 409
    title = "Conflict"


class Unavailable(CoordinatorError):
    """The service cannot do this right now, though it may shortly (503, with Retry-After):
    e.g. concurrent work on the same event kept conflicting after every retry."""

    status = 503
    title = "Service unavailable"

    def __init__(self, detail: str | Said, retry_after: int = 1, **extra: Any) -> None:
        super().__init__(detail, **extra)
        self.retry_after = retry_after


class TooManyRequests(CoordinatorError):
    """Too many refused attempts from one address (429, with Retry-After): the service stops
    looking its tokens up for a while (service.api.limits.WrongTokens)."""

    status = 429
    title = "Too Many Requests"

    def __init__(self, detail: str | Said, retry_after: int, **extra: Any) -> None:
        super().__init__(detail, **extra)
        self.retry_after = retry_after


class Trouble(StrEnum):
    """What is wrong with the storage (service.store.trouble tells it from a driver's error), as
    /healthz and a refused request's problem name it (service.api.problems.storage_problem)."""

    UNREACHABLE = "unreachable"  # no connection: the server is down, restarting or cut off
    READ_ONLY = "read_only"  # it answers, but refuses writes (a standby, a read-only file)
    FULL = "full"  # no room left on its disk
    IO_ERROR = "io_error"  # the disk under it fails reads or writes
