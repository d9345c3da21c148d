"""OpenAPI descriptions of the problem+json answers, so clients (and schemathesis) know them."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from service.problems import PROBLEM_JSON

_TITLES = {
    304: "Not modified",
    401: "No or unknown bearer token",
    403: "The caller's role or jurisdiction does not allow this",
    404: "Not found",
    409: "Not allowed in the current state",
    422: "Invalid input: names the field or rule",
    503: "Database unreachable",
}


class FieldError(BaseModel):
    field: str
    message: str


class Problem(BaseModel):
    """RFC 9457 problem details; extra members carry the field, the rule or the state."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    errors: list[FieldError] | None = None


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    return {
        status: {
            "description": _TITLES[status],
            "content": {PROBLEM_JSON: {"schema": Problem.model_json_schema()}},
        }
        for status in statuses
    }
