"""The app's wiring: ``create_app(settings)`` builds the app, whose lifespan opens the engines
(``open_context``), starts the escalation job and the deliverer, and closes them at the end."""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Final

import structlog
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from service.api import problems
from service.api.board import install_board
from service.api.docs import install_docs
from service.api.door import Door
from service.api.evaluation_report import FONTS_PATH, fonts_dir
from service.api.limits import WrongTokens
from service.api.logs import configure, flush_request_lines, quiet_libraries
from service.api.metrics import RequestMetrics, install_metrics
from service.api.openapi import complete_openapi
from service.api.public import install_public
from service.api.render_pool import RenderPool
from service.api.routes import (
    actions,
    add_routes,
    commands,
    early_warnings,
    evaluation,
    events,
    findings,
    health,
    releases,
    reports,
    requisitions,
    standing,
    subscriptions,
    tokens,
)
from service.config import Settings
from service.flows.actions.escalation import escalate_overdue
from service.flows.context import AppContext, open_context
from service.flows.health.probe import check_health
from service.flows.standing.escalation import escalate_standing
from service.flows.standing.register import raise_yearly
from service.notify.deliverer import Deliverer
from service.playbooks.bundle import Playbooks
from service.store import idempotency
from service.store.transactions import in_transaction
from service.store.trouble import trouble_of

log = logging.getLogger(__name__)

API_ROUTERS = (
    reports.router,
    actions.router,
    events.router,
    early_warnings.router,
    commands.router,
    releases.router,
    evaluation.router,
    findings.router,
    requisitions.router,
    standing.router,
    tokens.router,
    subscriptions.router,
)


# How often answers kept for an Idempotency-Key are looked at for expiry.
PRUNE_SECONDS: Final = 600
# How often a worker probes its database while a storage incident is on (service.store.trouble).
WATCH_SECONDS: Final = 1.0
# How long a stopping worker waits for a job's run under way (an escalation pass is one
# transaction per action: well under this).
SHUTDOWN_GRACE: Final = 10.0


class Jobs:
    """The worker's periodic jobs on an asyncio scheduler: the escalation job
    (service.flows.actions.escalation) and the standing duties' (service.flows.standing) every
    ``escalation_interval_seconds`` (0: never), first at once (a restart catches up), the
    expiry of Idempotency-Key answers every ``PRUNE_SECONDS``; and, beside them, the storage
    probe every ``WATCH_SECONDS`` while an incident is on (``watch_storage``). A job's run
    refused for storage trouble is counted in the incident (service.store.trouble), not logged
    with a traceback each time.

    ``stop`` lets a run under way finish (up to ``SHUTDOWN_GRACE`` seconds) before the engine
    closes: the scheduler's own shutdown cancels the asyncio runs it holds, so a run still going
    was cut off mid-transaction and logged as an error on every restart.
    """

    def __init__(self, context: AppContext) -> None:
        self.context = context
        self.scheduler = AsyncIOScheduler(timezone="UTC")
        self._running: set[asyncio.Task[None]] = set()
        self._watcher: asyncio.Task[None] | None = None

    def start(self) -> None:
        settings = self.context.settings
        if settings.escalation_interval_seconds > 0:
            self.scheduler.add_job(
                self._tracked(self.escalate),
                "interval",
                seconds=settings.escalation_interval_seconds,
                id="escalate-overdue",
                max_instances=1,
                coalesce=True,
                next_run_time=datetime.now(UTC),
            )
            self.scheduler.add_job(
                self._tracked(self.standing),
                "interval",
                seconds=settings.escalation_interval_seconds,
                id="standing-duties",
                max_instances=1,
                coalesce=True,
                next_run_time=datetime.now(UTC),
            )
        self.scheduler.add_job(
            self._tracked(self.prune),
            "interval",
            seconds=PRUNE_SECONDS,
            id="prune-idempotency",
            max_instances=1,
        )
        self.scheduler.start()
        self._watcher = asyncio.create_task(self.watch_storage(), name="watch-storage")

    async def stop(self) -> None:
        if self._watcher is not None:
            self._watcher.cancel()
            await asyncio.gather(self._watcher, return_exceptions=True)
        # No new runs; the one under way ends before the scheduler goes (its shutdown cancels
        # the runs it still holds).
        self.scheduler.pause()
        if self._running:
            await asyncio.wait(set(self._running), timeout=SHUTDOWN_GRACE)
        self.scheduler.shutdown(wait=False)

    async def escalate(self) -> None:
        context = self.context
        chased = await escalate_overdue(
            context.sessions,
            context.playbooks.agencies,
            datetime.now(UTC),
            context.settings.remind_every,
        )
        if chased.escalated or chased.reminded:
            log.info("escalated %d action(s), reminded %d", chased.escalated, chased.reminded)

    async def standing(self) -> None:
        """The standing duties (design § Standing duties): the year's tasks raised, then the
        overdue ones escalated or reminded, as the escalation job does an event's actions."""
        context = self.context
        now = datetime.now(UTC)
        raised = await raise_yearly(context.sessions, context.playbooks, now)
        chased = await escalate_standing(
            context.sessions, context.playbooks.agencies, now, context.settings.remind_every
        )
        if raised or chased.escalated or chased.reminded:
            log.info(
                "standing duties: raised %d, escalated %d, reminded %d",
                raised,
                chased.escalated,
                chased.reminded,
            )

    async def watch_storage(self) -> None:
        """While a storage incident is on, probe the database every ``WATCH_SECONDS`` as
        /healthz does, so that the incident ends (and says so, once) as soon as the database is
        well, requests or not; otherwise wait for one, costing nothing (not a scheduler job,
        which would run, and log two lines, every second for nothing)."""
        watch = self.context.storage
        while True:
            await watch.troubled.wait()
            await asyncio.sleep(WATCH_SECONDS)
            try:
                await check_health(self.context)
            except Exception:  # the watch outlives a probe that failed unexpectedly
                log.exception("storage watch: the probe failed")

    async def prune(self) -> None:
        ttl = self.context.settings.idempotency_ttl
        await in_transaction(
            self.context.sessions, lambda s: idempotency.prune(s, datetime.now(UTC), ttl)
        )

    def _tracked(self, job: Callable[[], Awaitable[None]]) -> Callable[[], Awaitable[None]]:
        async def run() -> None:
            task = asyncio.current_task()
            if task is not None:
                self._running.add(task)
            try:
                await job()
            except Exception as error:
                trouble = trouble_of(error)
                if trouble is None:
                    raise  # the scheduler logs it
                self.context.storage.saw(trouble, error, f"job {job.__name__}")
            finally:
                self._running.discard(task)

        return run


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app. Playbooks are validated here: a bad file stops the service at start."""
    settings = settings or Settings()
    playbooks = Playbooks.load(settings.playbooks_dir)
    if not structlog.is_configured():
        configure(settings, output=False)
    quiet_libraries()  # whoever configured logging: no receiver's URL in the log

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        context = open_context(settings, playbooks)
        app.state.context = context
        # The heavy pages' processes (service.api.render_pool), started on the first such page.
        app.state.render_pool = renders = RenderPool(
            settings.render_workers, settings.render_queue, settings
        )
        # Everything built so far lives as long as the process: keep it out of the collector's
        # way, so that collections walk only what requests allocate.
        gc.collect()
        gc.freeze()
        jobs = Jobs(context)
        jobs.start()
        # Every worker delivers: claims keep two from sending one delivery.
        deliverer = Deliverer(
            context.sessions, settings, context.playbooks, storage=context.storage
        )
        app.state.deliverer = deliverer
        deliverer.start()
        try:
            yield
        finally:
            await deliverer.stop()
            await jobs.stop()
            await renders.close()
            await context.close()
            flush_request_lines()

    app = FastAPI(
        title="outage-coordinator",
        summary="Shaoxing's large-area power outage plan (绍政办发〔2018〕41号), run as a service",
        version="0.1.0",
        lifespan=lifespan,
        docs_url=None,  # service.api.docs serves both pages without other hosts
        redoc_url=None,
    )
    problems.install(app)
    # One layer of the service's own at the door (service.api.door): the request's id, its
    # language, its body's size, its token, the answer to an error nothing else handled, its
    # time for /metrics and its line. Outside it, install_public's front answers the public page
    # and feeds from memory (service.api.public.front).
    # One count of wrong tokens per worker, for the API's check and the board's sign-in.
    app.state.wrong_tokens = wrong_tokens = WrongTokens()
    app.add_middleware(
        Door,
        wrong_tokens=wrong_tokens,
        max_body_bytes=settings.max_body_bytes,
        log_requests=settings.request_log,
        metrics=RequestMetrics() if settings.metrics else None,
        storage_trouble=trouble_of,
    )
    # FastAPI tries routes in order, at a cost per route: the hot paths first (dispatchers'
    # reports and classifications, agencies' polls). No two paths overlap, so order is free.
    for router in API_ROUTERS:
        add_routes(app, router)
    add_routes(app, health.router)
    if settings.metrics:
        install_metrics(app)
    install_board(app, playbooks)
    install_public(app, playbooks, settings)
    # The CJK font the evaluation page loads (no token: it is public, like the docs' assets).
    app.mount(FONTS_PATH, StaticFiles(directory=fonts_dir()), name="fonts")
    install_docs(app)
    complete_openapi(app)
    return app


def app_factory() -> FastAPI:
    """For ``uvicorn --factory``: settings come from the environment of each worker, which
    also logs through the one handler of service.api.logs."""
    settings = Settings()
    configure(settings)
    return create_app(settings)
