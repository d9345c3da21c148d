"""RFC 9457 problem+json: the one place errors become HTTP responses.

The three mistakes a client makes most (a body that is not JSON, a body sent without
``Content-Type: application/json``, a region written as its name) are answered in words that say
what to send instead, rather than in the validator's; so is text the database cannot store or a
person cannot see (``service.flows.schemas.Text``). An error nothing else handled is logged and
answered 500 by ``CatchUnexpected``, which keeps the connection open.
"""

from __future__ import annotations

import logging
from typing import Any, Final

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.errors import CoordinatorError, Unavailable
from service.flows.context import AppContext
from service.flows.schemas import REGION_PATTERN, TEXT_PATTERN, unreadable
from service.plan.grids import GridRegistry

PROBLEM_JSON = "application/problem+json"
SEND_JSON: Final = "send it as JSON with the header Content-Type: application/json"
JSON_NAMES: Final[dict[type, str]] = {
    list: "an array",
    str: "a string",
    int: "a number",
    float: "a number",
    bool: "true or false",
    type(None): "null",
}
log = logging.getLogger(__name__)


def problem_body(status: int, title: str, detail: str, **extra: Any) -> dict[str, Any]:
    """The members of an RFC 9457 problem: the same for the app's answers and the server's."""
    return {"type": "about:blank", "title": title, "status": status, "detail": detail, **extra}


def problem(status: int, title: str, detail: str, **extra: Any) -> JSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    body = problem_body(status, title, detail, **extra)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _field(loc: tuple[Any, ...]) -> str:
    """``("body", "snapshots", 0, "load_mw")`` → ``snapshots[0].load_mw``."""
    parts = [p for p in loc if p not in ("body", "query", "path", "header")]
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or str(loc[0] if loc else "body")


def is_json(content_type: str | None) -> bool:
    """Whether FastAPI reads a body of this type as JSON: application/json or application/*+json."""
    media = (content_type or "").split(";", 1)[0].strip().lower()
    return media == "application/json" or (
        media.startswith("application/") and media.endswith("+json")
    )


def _not_json(document: object, position: object, error: object) -> str:
    """Where the JSON broke, and how it should look (the decoder gives the character position)."""
    where = ""
    hint = ""
    if isinstance(document, str) and isinstance(position, int):
        line = document.count("\n", 0, position) + 1
        column = position - document.rfind("\n", 0, position)
        where = f" at line {line}, column {column} (character {position})"
        following = document[position:].lstrip()[:1]
        if document[:position].rstrip().endswith(",") and following in ("]", "}"):
            hint = f"; remove the comma before '{following}'"
    return (
        f"not valid JSON: {error}{where}{hint}. Send one JSON object, with names and strings "
        "in double quotes and no trailing commas or comments"
    )


def _region(value: object, grids: GridRegistry | None) -> str:
    """The code a client meant by a region it wrote as a name ("柯桥区" → 330603), or the list."""
    code = grids.code_named(value) if grids is not None and isinstance(value, str) else None
    if code is not None:
        return (
            f'"{value}" is a name; send its six-digit GB/T 2260 code "{code}" instead '
            "(regions are codes, as regions.yaml lists them)"
        )
    known = ", ".join(f"{g.code} {g.place}" for g in grids or ())
    return "must be a six-digit GB/T 2260 region code" + (f": one of {known}" if known else "")


def _message(error: dict[str, Any], body: object, grids: GridRegistry | None) -> dict[str, str]:
    """One validation error as ``{field, message}``, in words that say what to send."""
    loc = tuple(error.get("loc", ()))
    kind = error.get("type")
    ctx = error.get("ctx") or {}
    if kind == "json_invalid":
        position = loc[1] if len(loc) > 1 else None
        return {"field": "body", "message": _not_json(body, position, ctx.get("error", ""))}
    if loc == ("body",) and kind == "missing":
        return {"field": "body", "message": f"a body is required; {SEND_JSON}"}
    if loc == ("body",) and kind in ("model_attributes_type", "dict_type"):
        sent = JSON_NAMES.get(type(error.get("input")), "value")
        return {"field": "body", "message": f"must be a JSON object ({{…}}), not {sent}"}
    if kind == "string_pattern_mismatch" and ctx.get("pattern") == REGION_PATTERN:
        return {"field": _field(loc), "message": _region(error.get("input"), grids)}
    if kind == "string_pattern_mismatch" and ctx.get("pattern") == TEXT_PATTERN:
        return {"field": _field(loc), "message": unreadable(error.get("input"))}
    if kind == "string_unicode":
        # pydantic's word for a str it cannot read as Unicode: one holding a lone surrogate
        # (JSON "\ud800" with no pair), which PostgreSQL cannot store.
        return {"field": _field(loc), "message": unreadable(error.get("input"))}
    return {"field": _field(loc), "message": str(error.get("msg", ""))}


def _unsupported(content_type: str | None) -> JSONResponse:
    """415 for a body FastAPI did not read as JSON because of its Content-Type (it hands such a
    body to validation as bytes, which answered "Input should be a valid dictionary")."""
    media = (content_type or "").split(";", 1)[0].strip()
    if not media:
        sent = "the body came without a Content-Type header"
    elif media.lower() == "application/x-www-form-urlencoded":
        sent = f"the body came as {media} (what curl -d sends unless told otherwise)"
    else:
        sent = f"the body came as {media}"
    message = f"{sent}; {SEND_JSON}"
    return problem(
        415,
        "Unsupported Media Type",
        f"Content-Type: {message}",
        errors=[{"field": "Content-Type", "message": message}],
    )


def _grids(request: Request) -> GridRegistry | None:
    context: AppContext | None = getattr(request.app.state, "context", None)
    return context.playbooks.grids if context is not None else None


async def _on_validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    content_type = request.headers.get("content-type")
    if isinstance(exc.body, bytes | bytearray) and not is_json(content_type):
        return _unsupported(content_type)
    grids = _grids(request)
    errors = [_message(err, exc.body, grids) for err in exc.errors()]
    detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors) or "invalid request"
    return problem(422, "Invalid input", detail, errors=errors)


async def _on_coordinator(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, CoordinatorError)
    answer = problem(exc.status, exc.title, exc.detail, **exc.extra)
    if isinstance(exc, Unavailable):
        answer.headers["Retry-After"] = str(exc.retry_after)
    return answer


async def _on_http(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 400:
        # The framework's only 400: a body it could not decode. The service answers every bad
        # body with 422, naming the field: here the body itself.
        message = "the body could not be read as UTF-8 JSON"
        return problem(
            422, "Invalid input", f"body: {message}", errors=[{"field": "body", "message": message}]
        )
    return problem(exc.status_code, str(exc.detail), str(exc.detail))


def install(app: FastAPI) -> None:
    """The handlers of the errors the service expects; ``CatchUnexpected`` takes the rest."""
    app.add_exception_handler(RequestValidationError, _on_validation)
    app.add_exception_handler(CoordinatorError, _on_coordinator)
    app.add_exception_handler(StarletteHTTPException, _on_http)


class CatchUnexpected:
    """Pure ASGI: an error nothing else handled is logged and answered 500 problem+json, saying
    nothing of the error, and the connection stays open for the client's next request.

    Starlette's ServerErrorMiddleware, where a handler for ``Exception`` would run, sends its
    answer and then raises the error again for the server to see; uvicorn closes the connection
    of every request whose app raised, so a keep-alive client's next request on it failed (a
    reset, with no way to tell whether it was received). Here the error ends with the answer.
    Only an error raised after the answer started goes on to the server: that answer is cut
    short, and closing the connection is the one way left to say so.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = finished = False

        async def watched(message: Message) -> None:
            nonlocal started, finished
            if message["type"] == "http.response.start":
                started = True
            elif message["type"] == "http.response.body" and not message.get("more_body"):
                finished = True
            await send(message)

        try:
            await self.app(scope, receive, watched)
        except Exception:
            if started and not finished:
                raise
            log.exception("unhandled error in %s %s", scope["method"], scope["path"])
            if not started:
                answer = problem(500, "Internal error", "the service failed; the error is logged")
                await answer(scope, receive, send)
