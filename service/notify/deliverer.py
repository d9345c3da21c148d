"""The deliverer: each worker fans the outbox out into deliveries and posts the deliveries due,
outside any request (design § Notifications).

Every ``delivery_interval_seconds`` (sooner while there is more to do) it

1. fans out notices not yet fanned out (``service.store.deliveries.fan_out``);
2. claims due deliveries, up to ``CLAIM_DEPTH`` for each of its ``delivery_concurrency`` slots,
   each subscription in turn and none past its share, each counted as attempted and leased past
   the attempts queued before it, and commits;
3. posts them with one shared ``httpx.AsyncClient``, each subscription at most its share of the
   slots at once, each attempt bounded by ``delivery_timeout_seconds`` (the whole of it, answer
   included) and reading at most ``MAX_ANSWER_BYTES`` of the answer; the next tick's
   transaction records what each came to: delivered; dead (``max_attempts`` reached, or a 4xx
   other than 408/429); or pending again after an exponential backoff with jitter, or after the
   receiver's ``Retry-After`` (cut to ``delivery_max_retry_after_seconds``).

A subscription failing ``delivery_breaker_failures`` attempts in a row rests (a breaker, per
worker): its claimed deliveries not yet attempted are given back, and none of its deliveries is
claimed until the rest is over; then one attempt tries it, and its outcome ends the rests or
doubles the next one.

So a slow or dead receiver holds one share of the slots for at most the timeout, never a request
nor another receiver's slots; a worker killed mid-attempt leaves its leased deliveries due again
(at least once; receivers drop repeats by ``webhook-id``).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import random
import ssl
import uuid
import zlib
from collections import Counter, deque
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from models.base import utcnow
from service.config import Settings
from service.flows.warnings.cap import CapSource
from service.notify.formats import (
    Answer,
    Notice,
    NoticeText,
    Outcome,
    Outgoing,
    failed,
    judge,
    outgoing,
)
from service.notify.public import PublicText, cap_document, public_outgoing
from service.playbooks.bundle import Playbooks
from service.store.deliveries import Attempted, Claimed, claim_due, fan_out, record, release
from service.store.transactions import in_transaction
from service.store.trouble import StorageWatch, trouble_of

# Notices fanned out per transaction.
FAN_OUT_BATCH: Final = 200
# Deliveries claimed per slot: a tick claims for several rounds of posts, so that one
# transaction serves many; an attempt waits for a slot behind at most this many.
CLAIM_DEPTH: Final = 4
# Backoff's spread, so that deliveries failed together are not retried in step.
JITTER: Final = (0.8, 1.2)
# The most of an answer read: a robot's errcode and the first words of an error; the rest is
# never read (a receiver answering 300 MB costs a worker this, not 300 MB).
MAX_ANSWER_BYTES: Final = 4096

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


@dataclass(slots=True)
class Breaker:
    """One subscription's breaker in one worker: failed attempts in a row, and while it rests,
    until when; ``rests`` counts the rests in a row (each doubles the next)."""

    failures: int = 0
    rests: int = 0
    until: datetime | None = None
    probing: bool = False  # its rest is over: one attempt tries it


class Deliverer:
    """One worker's deliverer. ``start()`` runs it every ``delivery_interval_seconds``;
    ``drain()`` does by hand all that is due now (tests, benchmarks); ``stop()`` ends it.

    Each ``tick`` is one transaction: it records what the attempts finished since the last one
    came to, gives back what a resting subscription had claimed, fans out, and claims due
    deliveries up to ``CLAIM_DEPTH`` per slot; at most ``delivery_concurrency`` posts are in
    flight (each slot is a connection: httpx's pool costs more CPU a request the more
    connections it holds). The slots are shared out: a subscription with claimed work has at
    most ``slots // subscriptions with claimed work`` (at least one) in flight, and no more than
    its window: one, and one more for each attempt delivered since its last failure (a slow
    start); it claims at most ``CLAIM_DEPTH`` times that. The next slot free goes to the
    subscription with the fewest in flight. An attempt that ends wakes the loop once half the
    claimed room is free, so that under load a tick serves many attempts (on SQLite every
    transaction takes the one writer the requests need).
    """

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        settings: Settings,
        playbooks: Playbooks,
        *,
        storage: StorageWatch | None = None,
    ) -> None:
        self.sessions = sessions
        self.storage = storage or StorageWatch()
        self.settings = settings
        self.text = NoticeText(playbooks, settings.public_url)
        self.grids = playbooks.grids
        self.cap_source = CapSource.of(settings)
        self.public = PublicText(playbooks, self.cap_source.web)
        self.slots = settings.delivery_concurrency
        self.room = self.slots * CLAIM_DEPTH  # deliveries claimed and not yet ended, at most
        self.client = httpx.AsyncClient(
            verify=tls_context(),
            timeout=settings.delivery_timeout_seconds,
            limits=httpx.Limits(max_connections=self.slots, max_keepalive_connections=self.slots),
            # an answer is read raw and only its first KB: none compressed, please
            headers={"accept-encoding": "identity"},
        )
        self._queues: dict[uuid.UUID, deque[Claimed]] = {}  # claimed, waiting for a slot
        self._flying: Counter[uuid.UUID] = Counter()  # attempts in flight, by subscription
        self._breakers: dict[uuid.UUID, Breaker] = {}
        # Attempts a subscription may have in flight, beside its share: 1 to begin with and after
        # any failure, one more for each delivered (a slow start, as TCP's): a receiver that
        # hangs or fails never holds more than one slot, a healthy one soon has its full share.
        self._window: dict[uuid.UUID, int] = {}
        self._attempts: set[asyncio.Task[None]] = set()
        self._done: list[Attempted] = []  # finished attempts, to record at the next tick
        self._given: list[tuple[uuid.UUID, datetime]] = []  # claimed, to give back unattempted
        self._wake = asyncio.Event()
        self._loop: asyncio.Task[None] | None = None
        self._stopping = False

    def start(self) -> None:
        if self.settings.delivery_interval_seconds > 0:
            self._loop = asyncio.create_task(self._run(), name="deliverer")

    async def stop(self) -> None:
        """Stop looking and cancel the attempts in flight (their leases run out and they are
        due again: the next start, or another worker, sends them); record what ended and give
        back what was claimed and never attempted."""
        self._stopping = True
        tasks = [t for t in (self._loop, *self._attempts) if t is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        now = utcnow()
        for queue in self._queues.values():
            self._given += [(claimed.id, now) for claimed in queue]
        self._queues.clear()
        if self._done or self._given:
            with contextlib.suppress(Exception):  # unrecorded ones are sent again, at least once
                await self.tick(claim=False)
        await self.client.aclose()

    async def drain(self) -> None:
        """Fan out, attempt and record everything due now, and wait for it."""
        while await self.tick() or self._attempts or self._done or self._given:
            if self._attempts:
                await asyncio.wait(set(self._attempts), return_when=asyncio.FIRST_COMPLETED)

    def resting(self) -> dict[uuid.UUID, datetime]:
        """The subscriptions this worker rests now, and until when."""
        return {s: b.until for s, b in self._breakers.items() if b.until is not None}

    def _held(self) -> Counter[uuid.UUID]:
        """Deliveries claimed and not yet ended, by subscription."""
        held = Counter({s: len(q) for s, q in self._queues.items()})
        held.update(self._flying)
        return +held

    def _share(self, held: Counter[uuid.UUID]) -> int:
        """The slots a subscription with work may hold at once."""
        return max(1, self.slots // max(1, len(held)))

    def _limit(self, subscription: uuid.UUID, share: int) -> int:
        """Attempts ``subscription`` may have in flight now."""
        return min(self._window.get(subscription, 1), share)

    def _room(self, now: datetime, held: Counter[uuid.UUID], share: int) -> dict[uuid.UUID, int]:
        """How many more each subscription may claim, where that is not ``CLAIM_DEPTH``: none
        while it rests, one to try it when its rest is over, otherwise ``CLAIM_DEPTH`` for each
        attempt it may have in flight, less what it holds."""
        known = set(held) | set(self._window)
        room = {s: CLAIM_DEPTH * self._limit(s, share) - held[s] for s in known}
        for subscription, breaker in self._breakers.items():
            if breaker.until is not None and breaker.until > now:
                room[subscription] = 0
            elif breaker.until is not None or breaker.probing:
                breaker.until, breaker.probing = None, True
                room[subscription] = 1 - held[subscription]
        return {s: n for s, n in room.items() if n != CLAIM_DEPTH}  # the rest: the default

    async def tick(self, *, claim: bool = True) -> bool:
        """Record, give back, fan out, claim and start what is due, as slots allow, in one
        transaction; whether there may be more to do at once."""
        now = utcnow()
        done, self._done = self._done, []
        given, self._given = self._given, []
        held = self._held()
        free = self.room - sum(held.values()) if claim else 0
        room = self._room(now, held, self._share(held))
        # The lease covers the attempts queued before this one on its slot, its own, and as long
        # again to record it.
        lease = now + timedelta(seconds=(CLAIM_DEPTH + 2) * self.settings.delivery_timeout_seconds)

        async def work(session: AsyncSession) -> tuple[int, list[Claimed]]:
            await record(session, done)
            await release(session, given)
            fanned = await fan_out(session, now, FAN_OUT_BATCH) if claim else 0
            if free <= 0:
                return fanned, []
            claimed = await claim_due(session, now, lease, free, each=CLAIM_DEPTH, room=room)
            return fanned, claimed

        try:
            fanned, claimed = await in_transaction(self.sessions, work)
        except BaseException:
            self._done[:0] = done  # recorded next time (or, lost with the worker, sent again)
            self._given[:0] = given
            raise
        for one in claimed:
            breaker = self._breakers.get(one.subscription_id)
            if breaker is not None and breaker.until is not None:  # began to rest meanwhile
                self._given.append((one.id, breaker.until))
            else:
                self._queues.setdefault(one.subscription_id, deque()).append(one)
        self._pump()
        return fanned == FAN_OUT_BATCH or (free > 0 and len(claimed) == free)

    def _pump(self) -> None:
        """Start attempts while slots are free: each time, of the subscription with the fewest
        in flight that is under its share (then the one served longest ago)."""
        if self._stopping:
            return
        while sum(self._flying.values()) < self.slots:
            share = self._share(self._held())
            ready = [
                s for s, q in self._queues.items() if q and self._flying[s] < self._limit(s, share)
            ]
            if not ready:
                return
            subscription = min(ready, key=self._flying.__getitem__)
            queue = self._queues.pop(subscription)  # to the back of the turn
            claimed = queue.popleft()
            if queue:
                self._queues[subscription] = queue
            self._flying[subscription] += 1
            attempt = asyncio.create_task(self._attempt_one(claimed))
            self._attempts.add(attempt)
            attempt.add_done_callback(self._attempts.discard)

    async def _run(self) -> None:
        interval = self.settings.delivery_interval_seconds
        # Stopping cancels this task, and also ends the loop here: a cancellation that a library
        # swallows while a tick's statement is under way (the tick then returns) must not leave
        # stop() waiting for a loop that goes on claiming.
        while not self._stopping:
            self._wake.clear()  # before the tick: an attempt ending during it wakes the next
            try:
                more = await self.tick()
            except Exception as error:  # the loop outlives a database that is away for a while
                trouble = trouble_of(error)
                if trouble is None:
                    log.exception("deliverer: looking for due work failed")
                else:
                    self.storage.saw(trouble, error, "the deliverer")
                more = False
            if not more:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), interval)

    async def _attempt_one(self, claimed: Claimed) -> None:
        subscription = claimed.subscription_id
        try:
            result = await self._post(claimed)
        finally:
            self._flying[subscription] -= 1
            if self._flying[subscription] <= 0:
                del self._flying[subscription]
        self._done.append(result)  # the list of now, not of when the attempt began
        self._judge_receiver(subscription, result)
        self._pump()
        if self.room - sum(self._held().values()) >= self.room / 2:
            self._wake.set()

    def _judge_receiver(self, subscription: uuid.UUID, result: Attempted) -> None:
        """The breaker: a delivered attempt closes it; ``delivery_breaker_failures`` failed in a
        row (or one failed try after a rest) rest the subscription, and what it has claimed and
        not yet attempted is given back, due when the rest is over."""
        breaker = self._breakers.setdefault(subscription, Breaker())
        if result.state == "delivered":
            del self._breakers[subscription]
            self._window[subscription] = min(self._window.get(subscription, 1) + 1, self.slots)
            return
        self._window.pop(subscription, None)
        breaker.failures += 1
        if breaker.until is not None:
            return  # resting already (an attempt begun before the rest)
        if not breaker.probing and breaker.failures < self.settings.delivery_breaker_failures:
            return
        most = self.settings.delivery_max_retry_after_seconds
        rest = min(self.settings.delivery_breaker_seconds * 2.0 ** min(breaker.rests, 20), most)
        breaker.rests += 1
        breaker.probing = False
        breaker.until = utcnow() + timedelta(seconds=rest)
        log.warning(
            "deliverer: subscription %s rests %.0f s after %d failed attempts in a row",
            subscription,
            rest,
            breaker.failures,
        )
        queue = self._queues.pop(subscription, deque())
        self._given += [(claimed.id, breaker.until) for claimed in queue]

    async def _request(self, claimed: Claimed) -> Outgoing | None:
        """The attempt's request; None for a CAP notice whose warning is gone (its event
        deleted): there is no message left to send."""
        notice = Notice(claimed.type, claimed.drill, claimed.data, claimed.created_at)
        webhook_id = str(claimed.id)
        if claimed.format != "cap" and claimed.channel is None:
            return outgoing(
                claimed.format, claimed.url, claimed.secret, webhook_id, notice, self.text, utcnow()
            )
        cap = None
        if claimed.format == "cap":
            cap = await cap_document(self.sessions, self.grids, self.cap_source, notice)
            if cap is None:
                return None
        return public_outgoing(
            claimed.url, claimed.secret, webhook_id, notice, self.public, utcnow(), cap
        )

    async def _post(self, claimed: Claimed) -> Attempted:
        outcome: Outcome
        try:
            request = await self._request(claimed)
            if request is None:
                outcome = Outcome(False, None, "no CAP message: the warning is gone", retry=False)
                return self._result(claimed, outcome, utcnow())
            # the whole attempt, the answer's head and what is read of its body included: a
            # receiver sending a byte at a time is cut off like one that never answers
            async with asyncio.timeout(self.settings.delivery_timeout_seconds):
                # The URL's own query (a WeCom robot's key=, a DingTalk robot's access_token=)
                # with the format's parameters added: httpx's ``params=`` replaces the query.
                async with self.client.stream(
                    "POST",
                    httpx.URL(request.url).copy_merge_params(request.params),
                    headers=request.headers,
                    content=request.content,
                ) as response:
                    body = await read_some(response, MAX_ANSWER_BYTES)
            answer = Answer(response.status_code, response.headers, body)
            outcome = judge(claimed.format, answer, utcnow())
        except (httpx.HTTPError, httpx.InvalidURL, TimeoutError) as error:
            outcome = failed(error)
        except Exception as error:  # whatever a receiver does, the attempt's outcome is kept
            log.exception("deliverer: an attempt at delivery %s failed unexpectedly", claimed.id)
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
        # any Retry-After, however large (a number past a float's range is infinity), is cut
        delay = min(delay, self.settings.delivery_max_retry_after_seconds)
        due = now + timedelta(seconds=delay)
        return Attempted(claimed.id, "pending", outcome.status, outcome.error, due, None)


async def read_some(response: httpx.Response, most: int) -> bytes:
    """At most ``most`` bytes of an answer's body, read as they come, the rest never read (the
    connection is closed rather than drained when there is more). A body compressed despite
    ``accept-encoding: identity`` is inflated to at most ``most`` bytes too."""
    raw = bytearray()
    async for chunk in response.aiter_raw():
        raw += chunk[: most - len(raw)]
        if len(raw) >= most:
            break
    encoding = response.headers.get("content-encoding", "").strip().lower()
    if encoding in ("gzip", "deflate", "x-gzip"):
        try:
            # gzip and zlib headers both (32); a deflate stream without one is tried raw
            inflater = zlib.decompressobj(zlib.MAX_WBITS | 32)
            return inflater.decompress(bytes(raw), most)
        except zlib.error:
            with contextlib.suppress(zlib.error):
                return zlib.decompressobj(-zlib.MAX_WBITS).decompress(bytes(raw), most)
    return bytes(raw)
