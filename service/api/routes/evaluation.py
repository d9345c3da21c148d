"""Plan 6.1's evaluation report of an event: JSON, a page with the restoration curve, a PDF.

Readable by commanders, dispatchers, observers and admins, and by the unit that evaluates or
investigates the event (plan 6.1, 6.2; any other agency is refused 403), at any time: a
running event's report is partial, its figures counted to now. Each operation asks the flow for
the report (``evaluate_event``); the page and the PDF are drawn from that answer
(``service.api.evaluation_report``).
"""

from __future__ import annotations

import uuid
from typing import Final

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from service.api.deps import ActorDep, ContextDep, RenderPoolDep
from service.api.evaluation_report import FONT_FILE, FONTS_PATH, evaluation_page, evaluation_pdf
from service.api.openapi import problems
from service.api.routes import API_V1
from service.flows.events.evaluation import evaluate_event
from service.flows.events.schemas import EvaluationRead
from service.words import current

router = APIRouter(prefix=API_V1, tags=["evaluation"], responses=problems(401, 403, 404, 422))

# The page needs no script and loads only the service's font; the chart is inline SVG.
PAGE_POLICY: Final = (
    "default-src 'none'; style-src 'unsafe-inline'; font-src 'self'; img-src 'self' data:"
)


@router.get(
    "/events/{event_id}/evaluation",
    summary="Read an event's evaluation report (plan 6.1)",
    operation_id="read_evaluation",
)
async def read_evaluation(
    event_id: uuid.UUID, actor: ActorDep, context: ContextDep
) -> EvaluationRead:
    """The facts plan 6.1's evaluation of the handling (处置评估) starts from, read from the
    event's own records: the `levels` the response was set to and who set them (a commander by
    name, or "report"), the `leading_hqs` and from when each led, the response's start, end and
    `response_minutes`, the `restoration` after each report (plan 5.5 condition 2's overall
    figure), per agency how its actions were answered (`acknowledged`, `done`, `on_time`,
    `late`, `open`, `cancelled`, the median minutes to acknowledge), plan 5.5's `termination`
    conditions with their evidence, and the event's `chronology`.

    In the plan's form besides: the `overview` (causes, the peak load lost and its share,
    customers out, counties hit), the restoration per county with the minutes to 80 % and 90 %
    (`counties`), the duties late or never done by name (`lapses`), plan 4's reports against
    their deadlines (`report_links`), plan 5.4's `releases` with who decided them, plan 5.5's
    `evidence` in words with who and when, the evaluators' `findings` and `sign_off` (`final`
    once signed off).

    Commanders, dispatchers, observers and admins may read it, and the agency that holds the
    event's plan 6.1 evaluation or 6.2 investigation duty (403 for any other agency). A running
    event's
    report is `partial`: its figures run to `generated_at`.
    """
    return await evaluate_event(context, actor, event_id)


@router.get(
    "/events/{event_id}/evaluation.html",
    summary="Read an event's evaluation report as a page",
    operation_id="read_evaluation_page",
    response_class=HTMLResponse,
    responses={
        200: {"content": {"text/html": {}}, "description": "the report as a page"},
        **problems(503),
    },
)
async def read_evaluation_page(
    event_id: uuid.UUID,
    actor: ActorDep,
    context: ContextDep,
    renders: RenderPoolDep,
    request: Request,
) -> HTMLResponse:
    """The evaluation report (plan 6.1) as one page in Chinese, the restoration curve drawn as
    inline SVG and the text in the service's own font (no other host is asked for anything).
    Readable as the JSON is. 503 with Retry-After while the worker has as many pages and PDFs
    to draw as it takes (`OUTAGE_RENDER_QUEUE`)."""
    report = await evaluate_event(context, actor, event_id)
    font_url = f"{request.scope.get('root_path', '')}{FONTS_PATH}/{FONT_FILE}"
    levels = context.playbooks.rules.levels
    html = await renders.run(evaluation_page, report, levels, font_url, current())
    return HTMLResponse(html, headers={"Content-Security-Policy": PAGE_POLICY})


@router.get(
    "/events/{event_id}/evaluation.pdf",
    summary="Read an event's evaluation report as a PDF",
    operation_id="read_evaluation_pdf",
    response_class=Response,
    responses={
        200: {"content": {"application/pdf": {}}, "description": "the report as a PDF"},
        **problems(503),
    },
)
async def read_evaluation_pdf(
    event_id: uuid.UUID, actor: ActorDep, context: ContextDep, renders: RenderPoolDep
) -> Response:
    """The evaluation page printed as an A4 PDF with its font embedded, to file or send on.
    Readable as the JSON is. 503 when the server lacks the Pango library
    that printing needs (the page is still served), and, with Retry-After, while the worker has
    as many pages and PDFs to draw as it takes (`OUTAGE_RENDER_QUEUE`)."""
    report = await evaluate_event(context, actor, event_id)
    pdf = await renders.run(evaluation_pdf, report, context.playbooks.rules.levels, current())
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="evaluation-{event_id}.pdf"'},
    )
