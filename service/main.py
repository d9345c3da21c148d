"""The app factory: ``create_app(settings)``; the lifespan owns the engine."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from service.api import problems
from service.api.auth import BearerAuth
from service.api.board import install_board
from service.api.docs import install_docs
from service.api.evaluation_report import FONTS_PATH, fonts_dir
from service.api.limits import BodyLimit
from service.api.openapi import complete_openapi
from service.api.routes import (
    actions,
    commands,
    early_warnings,
    evaluation,
    events,
    health,
    releases,
    reports,
    subscriptions,
)
from service.config import Settings
from service.flows.context import AppContext
from service.flows.delivery import Deliverer
from service.flows.escalation import start_scheduler
from service.playbooks.bundle import Playbooks


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app. Playbooks are validated here: a bad file stops the service at start."""
    settings = settings or Settings()
    playbooks = Playbooks.load(settings.playbooks_dir)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        context = AppContext.open(settings, playbooks)
        app.state.context = context
        # Everything built so far lives as long as the process: keep it out of the collector's
        # way, so that collections walk only what requests allocate.
        gc.collect()
        gc.freeze()
        scheduler = start_scheduler(
            context.sessions, settings.escalation_interval_seconds, settings.idempotency_ttl
        )
        # Every worker delivers: claims keep two from sending one delivery.
        deliverer = Deliverer(context.sessions, settings, context.playbooks)
        app.state.deliverer = deliverer
        deliverer.start()
        try:
            yield
        finally:
            await deliverer.stop()
            scheduler.shutdown(wait=False)
            await context.close()

    app = FastAPI(
        title="outage-coordinator",
        summary="Shaoxing's large-area power outage plan (绍政办发〔2018〕41号), run as a service",
        version="0.1.0",
        lifespan=lifespan,
        docs_url=None,  # service.api.docs serves both pages without other hosts
        redoc_url=None,
    )
    problems.install(app)
    # Middleware, innermost first (each one added wraps those before it): the token check, the
    # body's size around it (a body declared too large is refused before any token is looked
    # up), and outermost the answer to an error nothing else handled.
    app.add_middleware(BearerAuth)
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(problems.CatchUnexpected)
    # FastAPI tries routes in order, at a cost per route: the hot paths first (dispatchers'
    # reports and classifications, agencies' polls). No two paths overlap, so order is free.
    app.include_router(reports.router, prefix="/api/v1")
    app.include_router(actions.router, prefix="/api/v1")
    app.include_router(events.router, prefix="/api/v1")
    app.include_router(early_warnings.router, prefix="/api/v1")
    app.include_router(commands.router, prefix="/api/v1")
    app.include_router(releases.router, prefix="/api/v1")
    app.include_router(evaluation.router, prefix="/api/v1")
    app.include_router(subscriptions.router, prefix="/api/v1")
    app.include_router(health.router)
    install_board(app, playbooks)
    # The CJK font the evaluation page loads (no token: it is public, like the docs' assets).
    app.mount(FONTS_PATH, StaticFiles(directory=fonts_dir()), name="fonts")
    install_docs(app)
    complete_openapi(app)
    return app


def app_factory() -> FastAPI:
    """For ``uvicorn --factory``: settings come from the environment of each worker."""
    return create_app()
