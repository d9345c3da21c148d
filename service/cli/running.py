"""Running a flow from the command line: the context a flow takes, opened on the configured
database for the one command and closed after it."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from service.config import Settings
    from service.flows.context import AppContext

T = TypeVar("T")


def run_flow(settings: Settings, work: Callable[[AppContext], Awaitable[T]]) -> T:
    """``work``'s answer, run in an event loop of its own with a fresh context."""
    from service.flows.context import open_context

    async def run() -> T:
        context = open_context(settings)
        try:
            return await work(context)
        finally:
            await context.close()

    return asyncio.run(run())
