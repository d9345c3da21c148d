"""What the OpenAPI document says beyond the routes: problem+json answers and the bearer scheme,
so that clients (and schemathesis) know them."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from service.api.problems import PROBLEM_JSON

_TITLES = {
    304: "Not modified",
    401: "No or unknown bearer token",
    403: "The caller's role or jurisdiction does not allow this",
    404: "Not found",
    409: "Not allowed in the current state",
    413: "The body is larger than the service accepts (OUTAGE_MAX_BODY_BYTES)",
    415: "The body was not sent as JSON (Content-Type: application/json)",
    422: "Invalid input: names the field or rule",
    429: "Too many wrong tokens from this address: try again after Retry-After seconds",
    503: "Service unavailable (the database cannot be reached, is read-only, or kept "
    "refusing for concurrent work): nothing was done; try again after Retry-After seconds",
    507: "Insufficient Storage: the database's disk is full, nothing was written; try again "
    "after Retry-After seconds",
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


# Problem is documented for application/problem+json, which a response's `model` cannot say, so
# FastAPI does not file it under components: `component_schemas` does, and responses refer to it
# there. (Inlined, its own `#/$defs/...` references would point at the document's root, where
# nothing is.)
_REF_TEMPLATE = "#/components/schemas/{model}"


def component_schemas() -> dict[str, Any]:
    """Problem and the models it nests, as the OpenAPI components ``problems`` refers to."""
    _, schemas = models_json_schema([(Problem, "serialization")], ref_template=_REF_TEMPLATE)
    defs: dict[str, Any] = schemas["$defs"]
    return defs


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    problem_ref = _REF_TEMPLATE.format(model=Problem.__name__)
    return {
        status: {
            "description": _TITLES[status],
            "content": {PROBLEM_JSON: {"schema": {"$ref": problem_ref}}},
        }
        for status in statuses
    }


def complete_openapi(app: FastAPI) -> None:
    """File the problem+json schemas that responses refer to (``component_schemas``), and say in
    the OpenAPI that every /api/v1 operation takes a bearer token (service.api.auth), answers
    429 to an address held for wrong tokens (service.api.limits), 503 or 507 while the storage
    is in trouble (service.api.problems.storage_problem), and that
    one with a body answers 415 when the body is not sent as JSON (service.api.problems) and 413
    when it is too large (service.api.limits)."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = build()
            schemas = schema.setdefault("components", {}).setdefault("schemas", {})
            for name, definition in component_schemas().items():
                if schemas.setdefault(name, definition) != definition:
                    raise RuntimeError(f"two models named {name} in the OpenAPI")
            schema["components"]["securitySchemes"] = {
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
                        operation["responses"].update(
                            {str(s): r for s, r in problems(429, 503, 507).items()}
                        )
                        if "requestBody" in operation:
                            operation["responses"].update(
                                {str(s): r for s, r in problems(413, 415).items()}
                            )
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
