"""The deliverer: each worker fans the outbox out into deliveries and posts the deliveries due,
outside any request (design § Notifications).

Every ``delivery_interval_seconds`` (sooner while there is more to do) it

1. fans out notices not yet fanned out (``service.store.deliveries.fan_out``);
2. claims due deliveries, up to ``CLAIM_DEPTH`` for each of its ``delivery_concurrency`` slots,
   each counted as attempted and leased past the attempts queued before it, and commits;
3. posts them with one shared ``httpx.AsyncClient``, each attempt bounded by
   ``delivery_timeout_seconds``; the next tick's transaction records what each came to:
   delivered; dead (``max_attempts`` reached, or a 4xx other than 408/429); or pending again
   after an exponential backoff with jitter, or after the receiver's ``Retry-After``.

So a slow or dead receiver holds a slot for at most the timeout, never a request; a worker
killed mid-attempt leaves its leased deliveries due again (at least once; receivers drop repeats
by ``webhook-id``).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import random
import ssl
from datetime import datetime, timedelta
from typing import Final

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from models.base import utcnow
from service.config import Settings
from service.notify.formats import Notice, NoticeText, Outcome, failed, judge, outgoing
from service.playbooks.bundle import Playbooks
from service.store.deliveries import Attempted, Claimed, claim_due, fan_out, record
from service.store.transactions import in_transaction

# Notices fanned out per transaction.
FAN_OUT_BATCH: Final = 200
# Deliveries claimed per slot: a tick claims for several rounds of posts, so that one
# transaction serves many; an attempt waits for a slot behind at most this many.
CLAIM_DEPTH: Final = 4
# Backoff's spread, so that deliveries failed together are not retried in step.
JITTER: Final = (0.8, 1.2)

log = logging.getLogger(__name__)


@functools.cache
def tls_context() -> ssl.SSLContext:
    """How every deliverer of this process verifies receivers: httpx's defaults (the CA bundle,
    SSL_CERT_FILE where set), read once. A client given none loads the bundle again, some 20 ms
    each time a deliverer starts (each app's lifespan, each worker)."""
    return httpx.create_ssl_context()


def backoff(settings: Settings, attempts: int) -> float:
    """Seconds before the attempt after attempt number ``attempts``: attempts fall at about 0,
    b, 2b, 4b, 8b … s (b = ``delivery_backoff_seconds``), with jitter."""
    delay = settings.delivery_backoff_seconds * 2.0 ** min(max(attempts - 2, 0), 20)
    return delay * random.uniform(*JITTER)


class Deliverer:
    """One worker's deliverer. ``start()`` runs it every ``delivery_interval_seconds``;
    ``drain()`` does by hand all that is due now (tests, benchmarks); ``stop()`` ends it.

    Each ``tick`` is one transaction: it records what the attempts finished since the last one
    came to, fans out, and claims due deliveries up to ``CLAIM_DEPTH`` per slot; at most
    ``delivery_concurrency`` posts are in flight (each slot is a connection: httpx's pool costs
    more CPU a request the more connections it holds). An attempt that ends wakes the loop once
    half the claimed room is free, so that under load a tick serves many attempts (on SQLite
    every transaction takes the one writer the requests need).
    """

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        settings: Settings,
        playbooks: Playbooks,
    ) -> None:
        self.sessions = sessions
        self.settings = settings
        self.text = NoticeText(playbooks, settings.public_url)
        self.slots = settings.delivery_concurrency
        self.room = self.slots * CLAIM_DEPTH  # deliveries claimed and not yet ended, at most
        self._gate = asyncio.Semaphore(self.slots)
        self.client = httpx.AsyncClient(
            verify=tls_context(),
            timeout=settings.delivery_timeout_seconds,
            limits=httpx.Limits(max_connections=self.slots, max_keepalive_connections=self.slots),
        )
        self._attempts: set[asyncio.Task[None]] = set()
        self._done: list[Attempted] = []  # finished attempts, to record at the next tick
        self._wake = asyncio.Event()
        self._loop: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self.settings.delivery_interval_seconds > 0:
            self._loop = asyncio.create_task(self._run(), name="deliverer")

    async def stop(self) -> None:
        """Stop looking and cancel the attempts in flight (their leases run out and they are
        due again: the next start, or another worker, sends them); record what ended."""
        tasks = [t for t in (self._loop, *self._attempts) if t is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._done:
            with contextlib.suppress(Exception):  # unrecorded ones are sent again, at least once
                await self.tick(claim=False)
        await self.client.aclose()

    async def drain(self) -> None:
        """Fan out, attempt and record everything due now, and wait for it."""
        while await self.tick() or self._attempts or self._done:
            if self._attempts:
                await asyncio.wait(set(self._attempts), return_when=asyncio.FIRST_COMPLETED)

    async def tick(self, *, claim: bool = True) -> bool:
        """Record, fan out, claim and start what is due, as slots allow, in one transaction;
        whether there may be more to do at once."""
        now = utcnow()
        done, self._done = self._done, []
        free = self.room - len(self._attempts) if claim else 0
        # The lease covers the attempts queued before this one on its slot, its own, and as long
        # again to record it.
        lease = now + timedelta(seconds=(CLAIM_DEPTH + 2) * self.settings.delivery_timeout_seconds)

        async def work(session: AsyncSession) -> tuple[int, list[Claimed]]:
            await record(session, done)
            fanned = await fan_out(session, now, FAN_OUT_BATCH) if claim else 0
            return fanned, (await claim_due(session, now, lease, free) if free > 0 else [])

        try:
            fanned, claimed = await in_transaction(self.sessions, work)
        except BaseException:
            self._done[:0] = done  # recorded next time (or, lost with the worker, sent again)
            raise
        for one in claimed:
            attempt = asyncio.create_task(self._attempt_one(one))
            self._attempts.add(attempt)
            attempt.add_done_callback(self._attempts.discard)
        return fanned == FAN_OUT_BATCH or (free > 0 and len(claimed) == free)

    async def _run(self) -> None:
        interval = self.settings.delivery_interval_seconds
        while True:
            self._wake.clear()  # before the tick: an attempt ending during it wakes the next
            try:
                more = await self.tick()
            except Exception:  # the loop outlives a database that is away for a while
                log.exception("deliverer: looking for due work failed")
                more = False
            if not more:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), interval)

    async def _attempt_one(self, claimed: Claimed) -> None:
        result = await self._attempt(claimed)
        self._done.append(result)  # the list of now, not of when the attempt began
        # The task leaves the in-flight set only after this returns: count it as free already.
        if self.room - len(self._attempts) + 1 >= self.room / 2:
            self._wake.set()

    async def _attempt(self, claimed: Claimed) -> Attempted:
        async with self._gate:
            return await self._post(claimed)

    async def _post(self, claimed: Claimed) -> Attempted:
        notice = Notice(claimed.type, claimed.drill, claimed.data, claimed.created_at)
        request = outgoing(
            claimed.format,
            claimed.url,
            claimed.secret,
            str(claimed.id),
            notice,
            self.text,
            utcnow(),
        )
        outcome: Outcome
        try:
            async with asyncio.timeout(self.settings.delivery_timeout_seconds):
                # The URL's own query (a WeCom robot's key=, a DingTalk robot's access_token=)
                # with the format's parameters added: httpx's ``params=`` replaces the query.
                response = await self.client.post(
                    httpx.URL(request.url).copy_merge_params(request.params),
                    headers=request.headers,
                    content=request.content,
                )
            outcome = judge(claimed.format, response, utcnow())
        except (httpx.HTTPError, httpx.InvalidURL, TimeoutError) as error:
            outcome = failed(error)
        return self._result(claimed, outcome, utcnow())

    def _result(self, claimed: Claimed, outcome: Outcome, now: datetime) -> Attempted:
        if outcome.delivered:
            return Attempted(claimed.id, "delivered", outcome.status, None, now, now)
        if not outcome.retry or claimed.attempts >= self.settings.max_attempts:
            return Attempted(claimed.id, "dead", outcome.status, outcome.error, now, None)
        delay = outcome.retry_after
        if delay is None:
            delay = backoff(self.settings, claimed.attempts)
        due = now + timedelta(seconds=delay)
        return Attempted(claimed.id, "pending", outcome.status, outcome.error, due, None)
