"""``python -m benchmarks.growth_audit DATABASE_URL``: ``audit verify`` over every chain, timed
alone in a fresh process (the growth table runs it so, ``benchmarks.growth``): prints
``{"ms": …, "entries": …, "events": …}``, and exits 1 when a chain is broken."""

from __future__ import annotations

import asyncio
import json
import sys
import time

from service.config import Settings
from service.flows.context import open_context
from service.flows.events.audit import Audit, verify_timelines


async def _verify(database_url: str) -> tuple[Audit, float]:
    context = open_context(Settings(database_url=database_url))
    try:
        start = time.perf_counter()
        async with context.read_sessions() as session:
            audit = await verify_timelines(session)
        return audit, (time.perf_counter() - start) * 1000
    finally:
        await context.close()


def main() -> int:
    audit, elapsed = asyncio.run(_verify(sys.argv[1]))
    print(json.dumps({"ms": round(elapsed, 1), "entries": audit.entries, "events": audit.events}))
    return 1 if audit.breaks else 0


if __name__ == "__main__":
    raise SystemExit(main())
