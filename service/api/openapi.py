"""What the OpenAPI document says beyond the routes: problem+json answers and the bearer scheme,
so that clients (and schemathesis) know them."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel

from service.api.problems import PROBLEM_JSON

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


def declare_bearer(app: FastAPI) -> None:
    """Say in the OpenAPI that every /api/v1 operation takes a bearer token (service.api.auth)."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = build()
            schema.setdefault("components", {})["securitySchemes"] = {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "A token made by `outage-coordinator tokens create`",
                }
            }
            for path, operations in schema["paths"].items():
                if path.startswith("/api/"):
                    for operation in operations.values():
                        operation["security"] = [{"bearer": []}]
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
