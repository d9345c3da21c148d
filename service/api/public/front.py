"""The public page's front door: the outermost layer of the app, answering the page and its
feeds from the worker's fresh edition before anything else runs.

A flood of citizens asks for the same few bytes. Through the app, each of them crossed the
language, request log, metrics, error, body-limit and token layers and FastAPI's routing (the
API's routes are tried first), which cost several times the answer itself. Here ``GET`` or
``HEAD`` of ``/public``, ``/public/feed.atom`` or ``/public/alerts.atom`` is answered straight
from ``PublicEditions.fresh``: bytes made once per change, headers and ETag with them, or a 304.
When the edition is not fresh (its check is due, or no edition yet) the request goes on into
the app like any other, to the routes of ``service.api.public.routes``, which check the version,
render if it moved, and answer through every layer: so the first request after each check, at
most one a second, is logged and timed, and any failure is answered as problem+json there. The
answers given here are counted on ``/metrics`` (``outage_public_front_answers_total``) rather
than logged one by one.
"""

from __future__ import annotations

from typing import Final

from starlette.types import ASGIApp, Receive, Scope, Send

from service.api.metrics import PUBLIC_FRONT_ANSWERS
from service.api.public.edition import (
    ATOM,
    HTML,
    Edition,
    PublicEditions,
    Rendered,
    answer_headers,
    held_already,
)


def _page(edition: Edition) -> Rendered:
    return edition.page


def _feed(edition: Edition) -> Rendered:
    return edition.feed


def _alerts(edition: Edition) -> Rendered:
    return edition.alerts


SERVED: Final = {
    "/public": (_page, HTML),
    "/public/feed.atom": (_feed, ATOM),
    "/public/alerts.atom": (_alerts, ATOM),
}


class PublicFront:
    """Pure ASGI: the public page and feeds from a fresh edition, everything else to ``app``."""

    def __init__(self, app: ASGIApp, *, editions: PublicEditions) -> None:
        self.app = app
        self.editions = editions

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] in ("GET", "HEAD"):
            root: str = scope.get("root_path", "").rstrip("/")
            path: str = scope["path"]
            route = path.removeprefix(root) if root else path
            served = SERVED.get(route)
            edition = self.editions.fresh(root) if served is not None else None
            if served is not None and edition is not None:
                part, media_type = served
                status = await self.answer(scope, send, part(edition), media_type)
                PUBLIC_FRONT_ANSWERS.labels(route, str(status)).inc()
                return
        await self.app(scope, receive, send)

    async def answer(self, scope: Scope, send: Send, rendered: Rendered, media_type: str) -> int:
        """Send ``rendered`` (or 304); the status sent."""
        headers = answer_headers(rendered, self.editions.max_age)
        held = next((v for k, v in scope["headers"] if k == b"if-none-match"), None)
        if held_already(held.decode("latin-1") if held is not None else None, rendered.etag):
            status, body = 304, b""
        else:
            status, body = 200, rendered.body
            headers["Content-Type"] = media_type
            headers["Content-Length"] = str(len(body))
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
            }
        )
        head = scope["method"] == "HEAD"
        await send({"type": "http.response.body", "body": b"" if head else body})
        return status
