"""RFC 9457 problem+json: the one place errors become HTTP responses.

The three mistakes a client makes most (a body that is not JSON, a body sent without
``Content-Type: application/json``, a region written as its name) are answered in words that say
what to send instead, rather than in the validator's; so is text the database cannot store or a
person cannot see (``service.flows.schemas.Text``). An error nothing else handled is logged and
answered 500 by ``answer_unexpected``, keeping the connection open; unless it is storage
trouble (service.store.trouble: the database unreachable, read-only or out of room), answered
503 or 507 with Retry-After and counted in the process's incident rather than logged each time.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import iter_route_contexts
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match
from starlette.types import Receive, Scope, Send

from service.api.language import problem_language
from service.errors import (
    CoordinatorError,
    InvalidInput,
    TooManyRequests,
    Trouble,
    Unavailable,
)
from service.flows.context import AppContext
from service.flows.schemas import REGION_PATTERN, TEXT_PATTERN, unreadable
from service.plan.grids import GridRegistry
from service.words import _, detail_of, use

PROBLEM_JSON = "application/problem+json"
log = logging.getLogger(__name__)

# Each problem's title, said in the problem's language (English unless the request asks for
# Chinese, service.api.language): the service's own errors (service.errors) and the
# framework's. The English of each is the title itself (a test holds them equal).
TITLES: Final[dict[str, Callable[[], str]]] = {
    "Internal error": lambda: _("内部错误"),
    "Invalid playbook": lambda: _("预案文件无效"),
    "Invalid input": lambda: _("输入无效"),
    "Unauthenticated": lambda: _("未认证"),
    "Forbidden": lambda: _("无权操作"),
    "Not found": lambda: _("未找到"),
    "Conflict": lambda: _("状态冲突"),
    "Service unavailable": lambda: _("服务暂不可用"),
    "Unsupported Media Type": lambda: _("不支持的内容类型"),
    "Content Too Large": lambda: _("请求内容过大"),
    "Database unreachable": lambda: _("数据库无法连接"),
    "Database read-only": lambda: _("数据库只读"),
    "Insufficient Storage": lambda: _("存储空间不足"),
    "Storage failing": lambda: _("存储读写出错"),
    "Not Found": lambda: _("路径不存在"),
    "Method Not Allowed": lambda: _("不支持该请求方法"),
    "Too Many Requests": lambda: _("请求过于频繁"),
}


def send_json() -> str:
    return _("请以 JSON 发送，并带上请求头 Content-Type: application/json")


def json_name(value: object) -> str:
    """What a JSON value is called: an array, a string …"""
    names: dict[type, Callable[[], str]] = {
        list: lambda: _("数组"),
        str: lambda: _("字符串"),
        int: lambda: _("数字"),
        float: lambda: _("数字"),
        bool: lambda: _("true 或 false"),
        type(None): lambda: _("null"),
    }
    name = names.get(type(value))
    return name() if name else _("值")


def problem_body(status: int, title: str, detail: str, **extra: Any) -> dict[str, Any]:
    """The members of an RFC 9457 problem: the same for the app's answers and the server's."""
    return {"type": "about:blank", "title": title, "status": status, "detail": detail, **extra}


def problem(status: int, title: str, detail: str, **extra: Any) -> JSONResponse:
    """The answer, its title said in the problem's language (``detail`` is said by its maker,
    within ``speaking``)."""
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    with speaking():
        said = TITLES[title]() if title in TITLES else title
    body = problem_body(status, said, detail, **extra)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


@dataclass(frozen=True)
class StorageAnswer:
    """How the service answers while its storage is in trouble (service.store.trouble)."""

    status: int
    title: str
    state: Callable[[], str]  # what is wrong, for /healthz and in a refusal's detail
    retry_after: int  # seconds: about how soon such trouble is usually over


# 507 is Insufficient Storage (RFC 4918 11.5): the request may succeed once room is made.
STORAGE: Final[dict[Trouble, StorageAnswer]] = {
    Trouble.UNREACHABLE: StorageAnswer(
        503, "Database unreachable", lambda: _("数据库没有应答"), retry_after=5
    ),
    Trouble.READ_ONLY: StorageAnswer(
        503, "Database read-only", lambda: _("数据库只读：不能写入，查询仍可进行"), retry_after=30
    ),
    Trouble.FULL: StorageAnswer(
        507,
        "Insufficient Storage",
        lambda: _("存储空间已满：不能写入，查询仍可进行"),
        retry_after=60,
    ),
    Trouble.IO_ERROR: StorageAnswer(
        503, "Storage failing", lambda: _("数据库所在磁盘读写出错"), retry_after=30
    ),
}


def storage_problem(trouble: Trouble, *, refused: bool) -> JSONResponse:
    """problem+json for storage trouble, naming it (``database``), with Retry-After: a request
    ``refused`` for it is told that nothing was done, /healthz only what is wrong."""
    answer = STORAGE[trouble]
    with speaking():
        state = answer.state()
        detail = _("{state}；本次请求未执行，请稍后重试", state=state) if refused else state
    said = problem(answer.status, answer.title, detail, database=str(trouble))
    said.headers["Retry-After"] = str(answer.retry_after)
    return said


def speaking() -> contextlib.AbstractContextManager[None]:
    """Say what follows in the problem's language."""
    return use(problem_language.get())


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
        where = _(
            "（第 {line} 行第 {column} 列，第 {position} 个字符）",
            line=line,
            column=column,
            position=position,
        )
        following = document[position:].lstrip()[:1]
        if document[:position].rstrip().endswith(",") and following in ("]", "}"):
            hint = _("；删去“{following}”前的逗号", following=following)
    return _(
        "不是有效的 JSON：{error}{where}{hint}。请发送一个 JSON 对象，名称和字符串用双引号，"
        "不带结尾逗号和注释",
        error=error,
        where=where,
        hint=hint,
    )


def _region(value: object, grids: GridRegistry | None) -> str:
    """The code a client meant by a region it wrote as a name ("柯桥区" → 330603), or the list."""
    code = grids.code_named(value) if grids is not None and isinstance(value, str) else None
    if code is not None:
        return _(
            "“{value}”是名称；请改为发送它的六位 GB/T 2260 代码“{code}”"
            "（地区以代码表示，见 regions.yaml）",
            value=value,
            code=code,
        )
    known = ", ".join(f"{g.code} {g.place}" for g in grids or ())
    if known:
        return _("须为六位 GB/T 2260 地区代码：{known} 之一", known=known)
    return _("须为六位 GB/T 2260 地区代码")


def _message(error: dict[str, Any], body: object, grids: GridRegistry | None) -> dict[str, str]:
    """One validation error as ``{field, message}``, in words that say what to send."""
    loc = tuple(error.get("loc", ()))
    kind = error.get("type")
    ctx = error.get("ctx") or {}
    if kind == "json_invalid":
        position = loc[1] if len(loc) > 1 else None
        return {"field": "body", "message": _not_json(body, position, ctx.get("error", ""))}
    if loc == ("body",) and kind == "missing":
        return {"field": "body", "message": _("需要请求体；{send}", send=send_json())}
    if loc == ("body",) and kind in ("model_attributes_type", "dict_type"):
        sent = json_name(error.get("input"))
        return {"field": "body", "message": _("须为 JSON 对象（{{…}}），而不是{sent}", sent=sent)}
    if kind == "string_pattern_mismatch" and ctx.get("pattern") == REGION_PATTERN:
        return {"field": _field(loc), "message": _region(error.get("input"), grids)}
    if kind == "string_pattern_mismatch" and ctx.get("pattern") == TEXT_PATTERN:
        return {"field": _field(loc), "message": unreadable(error.get("input"))}
    if kind == "string_unicode":
        # pydantic's word for a str it cannot read as Unicode: one holding a lone surrogate
        # (JSON "\ud800" with no pair), which PostgreSQL cannot store.
        return {"field": _field(loc), "message": unreadable(error.get("input"))}
    said = VALIDATOR_WORDS.get(str(kind))
    return {"field": _field(loc), "message": said() if said else str(error.get("msg", ""))}


# The validator's most common words, said in the problem's language; the English is pydantic's
# own. The others are pydantic's, in English.
VALIDATOR_WORDS: Final[dict[str, Callable[[], str]]] = {
    "missing": lambda: _("必填"),
    "extra_forbidden": lambda: _("不接受此字段"),
}


def _unsupported(content_type: str | None) -> JSONResponse:
    """415 for a body FastAPI did not read as JSON because of its Content-Type (it hands such a
    body to validation as bytes, which answered "Input should be a valid dictionary")."""
    media = (content_type or "").split(";", 1)[0].strip()
    with speaking():
        if not media:
            sent = _("请求体没有 Content-Type 请求头")
        elif media.lower() == "application/x-www-form-urlencoded":
            sent = _("请求体以 {media} 发送（curl -d 默认如此）", media=media)
        else:
            sent = _("请求体以 {media} 发送", media=media)
        message = _("{sent}；{send}", sent=sent, send=send_json())
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
    with speaking():
        errors = [_message(err, exc.body, grids) for err in exc.errors()]
        detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors) or _("请求无效")
    return problem(422, "Invalid input", detail, errors=errors)


async def _on_coordinator(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, CoordinatorError)
    extra = dict(exc.extra)
    with speaking():
        detail = detail_of(exc)
    if isinstance(exc, InvalidInput):
        extra["errors"] = [{"field": exc.field, "message": detail}]
    answer = problem(exc.status, exc.title, detail, **extra)
    if isinstance(exc, Unavailable | TooManyRequests):
        answer.headers["Retry-After"] = str(exc.retry_after)
    return answer


def allowed_methods(request: Request) -> str:
    """Every method the request's path answers (RFC 9110 10.2.1), for the ``Allow`` of a 405.

    The router names the methods of the first route matching the path alone; a path served by
    several routes (GET and POST /api/v1/subscriptions) answers the union of theirs. Routes of
    included routers are walked as FastAPI resolves them (``iter_route_contexts``).
    """
    methods: set[str] = set()
    for route in iter_route_contexts(request.app.router.routes):
        if route.methods and route.matches(request.scope)[0] != Match.NONE:
            methods |= route.methods
    return ", ".join(sorted(methods))


async def _on_http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 400:
        # The framework's only 400: a body it could not decode. The service answers every bad
        # body with 422, naming the field: here the body itself.
        with speaking():
            message = _("请求体无法按 UTF-8 JSON 读取")
        return problem(
            422, "Invalid input", f"body: {message}", errors=[{"field": "body", "message": message}]
        )
    answer = problem(exc.status_code, str(exc.detail), str(exc.detail))
    answer.headers.update(exc.headers or {})
    if exc.status_code == 405:
        answer.headers["Allow"] = allowed_methods(request) or answer.headers.get("Allow", "")
    return answer


def install(app: FastAPI) -> None:
    """The handlers of the errors the service expects; the door answers the rest
    (``answer_unexpected``)."""
    app.add_exception_handler(RequestValidationError, _on_validation)
    app.add_exception_handler(CoordinatorError, _on_coordinator)
    app.add_exception_handler(StarletteHTTPException, _on_http)


async def answer_unexpected(
    error: Exception,
    trouble: Trouble | None,
    scope: Scope,
    receive: Receive,
    send: Send,
    started: bool,
) -> None:
    """The answer to an error nothing else handled, raised before the answer ended (the door,
    ``service.api.door``, lets one raised after that reach the server, which ends the connection:
    the one way left to say an answer was cut short). It is logged and answered 500
    problem+json saying nothing of it, unless the answer had ``started``, and the connection stays
    open for the client's next request.

    Starlette's ServerErrorMiddleware, where a handler for ``Exception`` would run, sends its
    answer and then raises the error again for the server to see; uvicorn closes the connection
    of every request whose app raised, so a keep-alive client's next request on it failed (a
    reset, with no way to tell whether it was received). Here the error ends with the answer.

    Storage trouble (``trouble``, as ``service.store.trouble`` knows it) is no bug of the
    service: it is answered 503 or 507 (``storage_problem``) and counted in the process's
    incident (one log line for all of it, not a traceback each).
    """
    if trouble is not None:
        context: AppContext | None = getattr(scope["app"].state, "context", None)
        if context is not None:
            context.storage.saw(trouble, error, f"{scope['method']} {scope['path']}")
        else:
            log.warning("storage trouble (%s) in %s %s", trouble, scope["method"], scope["path"])
        if not started:
            await storage_problem(trouble, refused=True)(scope, receive, send)
        return
    log.exception("unhandled error in %s %s", scope["method"], scope["path"], exc_info=error)
    if not started:
        with speaking():
            detail = _("服务出错；错误已记入日志")
        await problem(500, "Internal error", detail)(scope, receive, send)
