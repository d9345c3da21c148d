"""The render pool: the pages that take a CPU for a while (the evaluation report's page and PDF)
are drawn in processes of their own, so that the worker's event loop, which every other request
shares, keeps answering while they draw.

A thread would not do: WeasyPrint, pygal and Jinja2 are Python, and a thread running them holds
the interpreter lock the loop needs between its own steps. So each uvicorn worker keeps a
``RenderPool`` (made in the app's lifespan, shut at its end): a ``ProcessPoolExecutor`` of
``OUTAGE_RENDER_WORKERS`` processes. The flow gathers the report in its own transaction; the
route hands that plain, picklable data to a pure render function (``evaluation_page``,
``evaluation_pdf`` in ``service.api.evaluation_report``), which runs in the pool.

- Bounded: at most ``OUTAGE_RENDER_QUEUE`` renders wait for a process beside those being
  drawn; one more is refused, 503 with Retry-After, rather than piling up behind the others
  until every one of them times out.
- Quick to start, and started late: the processes are forked from multiprocessing's fork
  server, which imported the renderers once (``service.api.renderers``), on the first heavy
  page (a worker that draws none starts none). Forking the worker itself would copy a process
  that runs threads (the database driver's, the scheduler's).
- Out of the way of ``serve``'s signals: a Ctrl-C reaches the whole process group and a service
  manager may signal the whole control group, so a render process ignores SIGINT and SIGTERM and
  is ended by its worker (the pool's shutdown, after the worker's last request). Should the
  worker die without one (``kill -9``), each render process sees it go and ends too
  (``_end_with``): nothing else would end it, as it waits for work from the worker for good, and
  the fork server lives as long as any process forked from it.
- Requests first: a render process runs at a lower priority (``NICENESS``), so that on a machine
  with fewer cores than busy processes the worker's loop is given the CPU first.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import multiprocessing
import os
import select
import signal
import statistics
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Final, ParamSpec, TypeVar

from service.api.logs import configure
from service.config import Settings
from service.errors import Said, Unavailable

P = ParamSpec("P")
T = TypeVar("T")

# What the fork server imports once, for every render process forked from it.
PRELOAD: Final = ["service.api.renderers"]
# Added to a render process's niceness: the loop's requests before a page's drawing.
NICENESS: Final = 10
# How often a render process looks for its worker where the kernel cannot tell it (no pidfd).
OWNER_POLL_SECONDS: Final = 1.0
# Retry-After before any render has been timed; after, the recent renders say.
FIRST_RETRY_SECONDS: Final = 5
RECENT_RENDERS: Final = 20


def _start_render_process(settings: Settings, owner: int) -> None:
    """A render process's first step (the pool's initializer): log as the worker does, leave
    the signals to the worker, yield the CPU to requests, and end with the worker ``owner``."""
    configure(settings)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    os.nice(NICENESS)
    threading.Thread(target=_end_with, args=(owner,), name="end-with-worker", daemon=True).start()


def _end_with(owner: int) -> None:
    """Wait for the process ``owner`` to end, then end this one."""
    try:
        handle = os.pidfd_open(owner)  # readable once the process has ended (Linux 5.3)
    except ProcessLookupError:
        os._exit(0)
    except OSError:  # no pidfd here: ask every second
        with contextlib.suppress(ProcessLookupError, PermissionError):  # gone
            while True:
                os.kill(owner, 0)
                time.sleep(OWNER_POLL_SECONDS)
    else:
        select.select([handle], [], [])
    os._exit(0)


def _timed(
    render: Callable[..., T], args: tuple[Any, ...], kwargs: dict[str, Any]
) -> tuple[T, float]:
    """``render`` run in a render process, with the seconds it took there."""
    started = time.perf_counter()
    drawn = render(*args, **kwargs)
    return drawn, time.perf_counter() - started


class Refused(Exception):
    """``executor`` took no new render: shut, or broken by a render before."""

    def __init__(self, executor: ProcessPoolExecutor) -> None:
        super().__init__("the render processes took no new render")
        self.executor = executor


class RenderPool:
    """The worker's render processes (``workers`` of them; 0: a thread of the worker instead)
    and the renders in hand: at most ``capacity``, one per process being drawn (at least one)
    and ``queue`` waiting. ``run`` refuses one more with ``Unavailable`` (503)."""

    def __init__(self, workers: int, queue: int, settings: Settings | None = None) -> None:
        self.workers = workers
        self.capacity = max(workers, 1) + queue
        self.in_hand = 0
        self._settings = settings or Settings()
        self._lock = threading.Lock()  # done-callbacks run on the executor's own thread
        self._recent: deque[float] = deque(maxlen=RECENT_RENDERS)
        # Made on the first render: even an idle executor holds a queue whose lock starts
        # multiprocessing's resource tracker, a process of its own.
        self._executor: ProcessPoolExecutor | None = None
        self._closed = False

    def _new_executor(self) -> ProcessPoolExecutor:
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(PRELOAD)
        return ProcessPoolExecutor(
            max_workers=self.workers,
            mp_context=context,
            initializer=_start_render_process,
            initargs=(self._settings, os.getpid()),
        )

    async def run(self, render: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """``render(*args, **kwargs)`` in a render process (its arguments and answer pickled),
        once a place is free; ``Unavailable`` when every place is taken."""
        with self._lock:
            if self.in_hand >= self.capacity:
                wait = self.retry_after()
                raise Unavailable(
                    Said(
                        "正在生成的页面和 PDF 已达上限（{taken} 份）：请 {seconds} 秒后再试",
                        taken=self.in_hand,
                        seconds=wait,
                    ),
                    retry_after=wait,
                )
            self.in_hand += 1
        if self._closed:  # the worker is stopping
            self._done(None)
            raise Unavailable(Said("服务正在停止：请稍后再试"))
        if not self.workers:
            try:
                drawn, seconds = await asyncio.to_thread(_timed, render, args, kwargs)
            finally:
                self._done(None)
            self._recent.append(seconds)
            return drawn
        try:
            # From a thread: the first render starts the fork server, and waits while it imports
            # the renderers (seconds, on a busy machine), which the loop must not.
            executor, future = await asyncio.to_thread(self._submit, render, args, kwargs)
        except Refused as refused:
            self._done(None)
            raise self._renewed(refused.executor) from None
        except Unavailable:
            self._done(None)
            raise
        try:
            drawn, seconds = await asyncio.wrap_future(future)
        except BrokenProcessPool:
            raise self._renewed(executor) from None
        self._recent.append(seconds)
        return drawn

    def _submit(
        self, render: Callable[..., T], args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> tuple[ProcessPoolExecutor, Future[tuple[T, float]]]:
        with self._lock:
            if self._closed:  # closed while this render was on its way
                raise Unavailable(Said("服务正在停止：请稍后再试"))
            if self._executor is None:
                self._executor = self._new_executor()
            executor = self._executor
        try:
            future = executor.submit(_timed, render, args, kwargs)
        except (RuntimeError, BrokenProcessPool):  # shut, or broken by a render before
            raise Refused(executor) from None
        # Released when the process is done with it, not when the request is: a request given
        # up leaves the drawing it started running until it ends.
        future.add_done_callback(self._done)
        return executor, future

    def _done(self, _future: Future[Any] | None) -> None:
        with self._lock:
            self.in_hand -= 1

    def _renewed(self, broken: ProcessPoolExecutor) -> Unavailable:
        """A render process died (killed, out of memory), which breaks its executor for good:
        it goes (the next render makes a new one), and the error for this one."""
        with self._lock:
            if self._executor is broken:
                self._executor = None
        broken.shutdown(wait=False, cancel_futures=True)
        return Unavailable(Said("生成页面的进程意外退出：请重试"), retry_after=1)

    def retry_after(self) -> int:
        """Seconds until a place is likely free: a recent render's time (the median) over the
        processes drawing at once."""
        if not self._recent:
            return FIRST_RETRY_SECONDS
        return max(1, math.ceil(statistics.median(self._recent) / max(self.workers, 1)))

    async def close(self) -> None:
        """Cancel the renders still waiting and end the processes once their drawing is done
        (the worker's requests are answered by then: this is the lifespan's end)."""
        with self._lock:
            self._closed = True
            executor, self._executor = self._executor, None
        if executor is not None:
            await asyncio.to_thread(executor.shutdown, wait=True, cancel_futures=True)
