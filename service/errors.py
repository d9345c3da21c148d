"""The service's exception tree, each mapped once to RFC 9457 problem+json (service.api.problems).

Domain code raises these; it never builds HTTP responses itself.
"""

from __future__ import annotations

from typing import Any


class CoordinatorError(Exception):
    """Base of every error the service raises on purpose."""

    status = 500
    title = "Internal error"

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra


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

    def __init__(self, field: str, detail: str) -> None:
        super().__init__(detail, errors=[{"field": field, "message": detail}])
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

    def __init__(self, detail: str, retry_after: int = 1, **extra: Any) -> None:
        super().__init__(detail, **extra)
        self.retry_after = retry_after
