"""The public page's routes: no token, nothing internal, every answer cacheable.

``GET /public`` (the page), ``/public/feed.atom``, ``/public/alerts.atom`` (the CAP index) and
``/public/warnings/{id}/cap[/{moment}]`` (a warning's CAP messages, once published). Each answer
carries a strong ETag of its bytes and ``Cache-Control: public, max-age``; an ``If-None-Match``
naming it is answered 304 without a body. While the worker's edition is fresh, the page and the
feeds are answered before the app by ``service.api.public.front``; these routes answer the
first request after each check (and any while the front stands aside).
"""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request
from fastapi.responses import Response

from service.api.board.pages import context_of, root_of
from service.api.public.edition import (
    ATOM,
    CAP,
    HTML,
    Edition,
    PublicEditions,
    Rendered,
    answer_headers,
    held_already,
)
from service.flows.warnings.alerts import public_alert
from service.flows.warnings.cap import cap_alert

router = APIRouter(include_in_schema=False)


def _editions(request: Request) -> PublicEditions:
    editions: PublicEditions = request.app.state.public_editions
    return editions


async def _edition(request: Request) -> Edition:
    return await _editions(request).current(context_of(request), root_of(request))


def _answer(request: Request, rendered: Rendered, media_type: str) -> Response:
    """``rendered``, or 304 when the client holds these bytes already."""
    headers = answer_headers(rendered, _editions(request).max_age)
    if held_already(request.headers.get("if-none-match"), rendered.etag):
        return Response(status_code=304, headers=headers)
    return Response(rendered.body, media_type=media_type, headers=headers)


@router.api_route("/public", methods=["GET", "HEAD"])
async def public_page(request: Request) -> Response:
    """The public outage page: active warnings, each affected area's customers out,
    restoration and estimated restoration, and the published releases."""
    return _answer(request, (await _edition(request)).page, HTML)


@router.api_route("/public/feed.atom", methods=["GET", "HEAD"])
async def public_feed(request: Request) -> Response:
    """The published warnings and releases as an Atom feed."""
    return _answer(request, (await _edition(request)).feed, ATOM)


@router.api_route("/public/alerts.atom", methods=["GET", "HEAD"])
async def public_alerts(request: Request) -> Response:
    """The CAP index: the warnings' latest CAP messages, as alert hubs read them."""
    return _answer(request, (await _edition(request)).alerts, ATOM)


@router.get("/public/warnings/{warning_id}/cap")
async def public_latest_cap(request: Request, warning_id: uuid.UUID) -> Response:
    """A published warning's latest CAP message."""
    edition = await _edition(request)
    moment = edition.latest.get(str(warning_id))
    return await _cap(request, edition, warning_id, moment)


@router.get("/public/warnings/{warning_id}/cap/{moment}")
async def public_cap(request: Request, warning_id: uuid.UUID, moment: str) -> Response:
    """One CAP message a published warning sent: ``published``, ``level-<seq>``, ``lifted``."""
    return await _cap(request, await _edition(request), warning_id, moment)


async def _cap(
    request: Request, edition: Edition, warning_id: uuid.UUID, moment: str | None
) -> Response:
    """From the edition when it holds the message; else (a warning no longer on the page, a
    change within the last check) read and written now."""
    held = edition.cap.get((str(warning_id), moment)) if moment else None
    if held is None:
        alert = await public_alert(context_of(request), warning_id, moment)
        editions = _editions(request)
        grids = context_of(request).playbooks.grids
        held = Rendered.of(cap_alert(alert.warning, alert.message, grids, editions.source))
    return _answer(request, held, CAP)
