"""What every board page shares: its headers, where the service is mounted (``root_of``), the
templates (``pages_of``), the running service (``context_of``) and a page drawn (``html_page``)."""

from __future__ import annotations

from typing import Final
from urllib.parse import parse_qs

from fastapi import Request
from fastapi.responses import HTMLResponse

from service.api.board.render import BoardPages
from service.flows.context import AppContext

# The board's pages load nothing from another host and run no inline script or style.
SECURITY_HEADERS: Final = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}
# A page carries who is signed in: no cache keeps it.
PAGE_HEADERS: Final = {**SECURITY_HEADERS, "Cache-Control": "no-store"}
# The events' part: kept by the browser only to be asked about again (If-None-Match).
UPDATE_HEADERS: Final = {**SECURITY_HEADERS, "Cache-Control": "private, no-cache", "Vary": "Cookie"}


def root_of(request: Request) -> str:
    """The path the service is mounted at ("" at the root), for the links a page holds."""
    root: str = request.scope.get("root_path", "")
    return root.rstrip("/")


def pages_of(request: Request) -> BoardPages:
    pages: BoardPages = request.app.state.board_pages
    return pages


def context_of(request: Request) -> AppContext:
    context: AppContext = request.app.state.context
    return context


def html_page(request: Request, name: str, status: int = 200, **values: object) -> HTMLResponse:
    """The template ``board/{name}`` drawn with ``values`` (and ``root``), as a page no cache
    keeps."""
    html = pages_of(request).page(name, root=root_of(request), **values)
    return HTMLResponse(html, status_code=status, headers=PAGE_HEADERS)


async def form_of(request: Request) -> dict[str, str]:
    """A board form's fields, each its first value with the spaces around it taken off; none
    for a body that is no form (``application/x-www-form-urlencoded``)."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/x-www-form-urlencoded":
        return {}
    fields = parse_qs((await request.body()).decode("utf-8", errors="replace"))
    return {name: values[0].strip() for name, values in fields.items() if values}
