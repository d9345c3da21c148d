"""Plan 6.1's evaluation report of an event: JSON, a page with the restoration curve, a PDF.

Readable by commanders, dispatchers, observers and admins (not agencies), at any time: a
running event's report is partial, its figures counted to now.
"""

from __future__ import annotations

import uuid
from typing import Final

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from models.base import utcnow
from service.api.deps import ContextDep, NotAgencyDep, ReadSessionDep
from service.api.evaluation_report import FONT_FILE, FONTS_PATH, font_path, render_html, render_pdf
from service.api.openapi import problems
from service.flows.context import AppContext
from service.flows.events.evaluation import EvaluationRead, evaluate
from service.plan.actor import Actor
from service.store.events import get_event

router = APIRouter(tags=["evaluation"], responses=problems(401, 403, 404, 422))

# The page needs no script and loads only the service's font; the chart is inline SVG.
PAGE_POLICY: Final = (
    "default-src 'none'; style-src 'unsafe-inline'; font-src 'self'; img-src 'self' data:"
)


async def _evaluation(
    event_id: uuid.UUID, actor: Actor, session: ReadSessionDep, context: AppContext
) -> EvaluationRead:
    event = await get_event(session, actor, event_id)
    return await evaluate(session, context.playbooks, event, utcnow())


@router.get("/events/{event_id}/evaluation")
async def get_evaluation(
    event_id: uuid.UUID, actor: NotAgencyDep, session: ReadSessionDep, context: ContextDep
) -> EvaluationRead:
    """Plan 6.1: the levels and who set them, who led from when, the response's duration, the
    restoration after each report, per agency how its actions were answered, and plan 5.5's
    termination conditions with their evidence."""
    return await _evaluation(event_id, actor, session, context)


@router.get(
    "/events/{event_id}/evaluation.html",
    response_class=HTMLResponse,
    responses={200: {"content": {"text/html": {}}, "description": "the report as a page"}},
)
async def get_evaluation_page(
    event_id: uuid.UUID,
    actor: NotAgencyDep,
    session: ReadSessionDep,
    context: ContextDep,
    request: Request,
) -> HTMLResponse:
    """The evaluation report as a page, in Chinese, with the restoration curve drawn."""
    report = await _evaluation(event_id, actor, session, context)
    font_url = f"{request.scope.get('root_path', '')}{FONTS_PATH}/{FONT_FILE}"
    html = render_html(report, context.playbooks.rules.levels, font_url)
    return HTMLResponse(html, headers={"Content-Security-Policy": PAGE_POLICY})


@router.get(
    "/events/{event_id}/evaluation.pdf",
    response_class=Response,
    responses={
        200: {"content": {"application/pdf": {}}, "description": "the report as a PDF"},
        **problems(503),
    },
)
async def get_evaluation_pdf(
    event_id: uuid.UUID, actor: NotAgencyDep, session: ReadSessionDep, context: ContextDep
) -> Response:
    """The page as an A4 PDF, its font embedded (503 when the server lacks Pango)."""
    report = await _evaluation(event_id, actor, session, context)
    html = render_html(report, context.playbooks.rules.levels, font_path().as_uri())
    # Printing takes a CPU for a while: off the event loop, which other requests share.
    pdf = await run_in_threadpool(render_pdf, html)
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="evaluation-{event_id}.pdf"'},
    )
