"""The floor to measure the service against: a FastAPI app that does only the unavoidable work.

``POST /insert`` stores a report-shaped JSON body as one row; ``POST /join`` does so under the lock
of one shared event's row, which it updates (the floor for reports joining one named event, every
writer taking its turn on the row); ``POST /join-by-grid`` first finds the event by the report's
grid, one SELECT by key (the floor for reports that name only their grids); ``GET /rows/{id}``
reads one row back by primary key in a read-only transaction (the floor for an agency's ETag poll:
one indexed SELECT); ``GET /page/{size}?row={id}`` reads that row too and answers an HTML page of
``size`` bytes with an ETag, or 304 to ``If-None-Match`` (the floor for the situation board's page
and its poll, at the board's own size); ``GET /static/{size}`` answers the same page from memory
with no database at all, with a strong ETag, or 304 (the floor for the public page served from its
cache); ``POST /echo`` parses a ``{snapshots: [...]}`` body with a pydantic model and returns it.
The engines come from ``service.store.engine.make_engine`` as the service's do, so the driver, the
pools (on SQLite one writer connection and a separate read pool) and on SQLite the pragmas, ``BEGIN
IMMEDIATE`` for writes and ``BEGIN DEFERRED`` for reads are the service's own: the two apps differ
only in what a request does.

Run it as ``uvicorn --factory benchmarks.bare_app:create_app``; ``BENCH_DATABASE_URL`` names the
database (default ``sqlite+aiosqlite:///var/bench-bare.db``). Its tables are made at start-up:
they are a benchmark's scratch tables, not part of the service's schema.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import BaseModel
from sqlalchemy import (
    JSON,
    Column,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    Uuid,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from service.config import Settings
from service.store.engine import READ_ONLY, make_engine

DEFAULT_URL = "sqlite+aiosqlite:///var/bench-bare.db"

metadata = MetaData()
bare_reports = Table(
    "bare_reports",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Column("body", JSON, nullable=False),
)
# One shared event: what ``POST /join`` adds every report to, under its row's lock.
bare_events = Table(
    "bare_events",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("reports", Integer, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)
SHARED_EVENT = uuid.UUID("00000000-0000-4000-8000-000000000001")
# Which open event a grid's reports join: what ``POST /join-by-grid`` looks the event up in.
bare_event_grids = Table(
    "bare_event_grids",
    metadata,
    Column("region", String(12), primary_key=True),
    Column("event_id", Uuid, nullable=False),
)
SHARED_GRID = "330603"  # 柯桥区, the grid of the benchmark's reports


class SnapshotEcho(BaseModel):
    scope: str
    region: str
    load_mw: float
    load_lost_mw: float
    customers: int | None = None
    customers_out: int | None = None


class EchoBody(BaseModel):
    snapshots: list[SnapshotEcho]


async def join(connection: AsyncConnection, event_id: uuid.UUID, body: dict[str, Any]) -> uuid.UUID:
    """Lock the event's row (``FOR UPDATE``), update it, insert the report; its id."""
    row_id, now = uuid.uuid4(), datetime.now(UTC)
    await connection.execute(
        select(bare_events.c.reports).where(bare_events.c.id == event_id).with_for_update()
    )
    await connection.execute(
        update(bare_events)
        .where(bare_events.c.id == event_id)
        .values(reports=bare_events.c.reports + 1, updated_at=now)
    )
    await connection.execute(insert(bare_reports).values(id=row_id, received_at=now, body=body))
    return row_id


@cache
def filler_page(size: int) -> bytes:
    """An HTML page of exactly ``size`` bytes (at least the tags' own)."""
    head, tail = b"<!doctype html><html><body><p>", b"</p></body></html>"
    return head + b"x" * max(0, size - len(head) - len(tail)) + tail


def create_app() -> FastAPI:
    settings = Settings(database_url=os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL))

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        database = make_url(settings.database_url).database
        if settings.is_sqlite and database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = make_engine(settings)
        async with engine.begin() as connection:
            await connection.run_sync(metadata.create_all)
            if not (await connection.execute(select(bare_events.c.id))).first():
                await connection.execute(
                    insert(bare_events).values(
                        id=SHARED_EVENT, reports=0, updated_at=datetime.now(UTC)
                    )
                )
                await connection.execute(
                    insert(bare_event_grids).values(region=SHARED_GRID, event_id=SHARED_EVENT)
                )
        app.state.engine = engine
        # Reads as the service's read sessions: on SQLite a pool of their own beside the one
        # writer connection, and a deferred transaction.
        reader = make_engine(settings, writer=False) if settings.is_sqlite else engine
        app.state.reader = reader.execution_options(**READ_ONLY)
        try:
            yield
        finally:
            await engine.dispose()
            if reader is not engine:
                await reader.dispose()

    app = FastAPI(title="bare baseline", lifespan=lifespan)

    @app.get("/ready")
    async def ready(request: Request) -> dict[str, str]:
        engine: AsyncEngine = request.app.state.engine
        async with engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
        return {"status": "ok"}

    @app.post("/insert", status_code=201)
    async def insert_report(request: Request, body: dict[str, Any]) -> JSONResponse:
        engine: AsyncEngine = request.app.state.engine
        row_id = uuid.uuid4()
        async with engine.begin() as connection:
            await connection.execute(
                insert(bare_reports).values(id=row_id, received_at=datetime.now(UTC), body=body)
            )
        return JSONResponse({"id": str(row_id)}, status_code=201)

    @app.post("/join", status_code=201)
    async def join_event(request: Request, body: dict[str, Any]) -> JSONResponse:
        """The least a report joining one shared event takes: lock the event's row, update it,
        insert the report, commit; every writer of the event waits its turn on the row."""
        engine: AsyncEngine = request.app.state.engine
        async with engine.begin() as connection:
            row_id = await join(connection, SHARED_EVENT, body)
        return JSONResponse({"id": str(row_id)}, status_code=201)

    @app.post("/join-by-grid", status_code=201)
    async def join_by_grid(request: Request, body: dict[str, Any]) -> JSONResponse:
        """The least a report naming only its grid takes: find the open event of its first
        grid (one SELECT by key), then as ``/join``."""
        engine: AsyncEngine = request.app.state.engine
        region = body["snapshots"][0]["region"]
        async with engine.begin() as connection:
            found = await connection.execute(
                select(bare_event_grids.c.event_id).where(bare_event_grids.c.region == region)
            )
            event_id = found.scalar()
            if event_id is None:
                raise HTTPException(404, f"no open event for {region}")
            row_id = await join(connection, event_id, body)
        return JSONResponse({"id": str(row_id)}, status_code=201)

    @app.get("/rows/{row_id}")
    async def read_row(request: Request, row_id: uuid.UUID) -> dict[str, str]:
        reader: AsyncEngine = request.app.state.reader
        query = select(bare_reports.c.id, bare_reports.c.received_at).where(
            bare_reports.c.id == row_id
        )
        async with reader.connect() as connection:
            row = (await connection.execute(query)).first()
        if row is None:
            raise HTTPException(404, f"no row {row_id}")
        return {"id": str(row.id), "received_at": row.received_at.isoformat()}

    @app.get("/page/{size}")
    async def page(request: Request, size: int, row: uuid.UUID) -> Response:
        """One indexed SELECT for the version, then 304 when the client has it, else ``size``
        bytes of HTML made once."""
        reader: AsyncEngine = request.app.state.reader
        query = select(bare_reports.c.received_at).where(bare_reports.c.id == row)
        async with reader.connect() as connection:
            found = (await connection.execute(query)).scalar()
        if found is None:
            raise HTTPException(404, f"no row {row}")
        etag = f'W/"{found.timestamp()}"'
        if request.headers.get("if-none-match") == etag:
            return Response(status_code=304, headers={"ETag": etag})
        return HTMLResponse(filler_page(size), headers={"ETag": etag})

    @app.get("/static/{size}")
    async def static_page(request: Request, size: int) -> Response:
        """``size`` bytes of HTML made once, or 304 when the client has them: no database."""
        body = filler_page(size)
        etag = f'"{size}"'
        if request.headers.get("if-none-match") == etag:
            return Response(status_code=304, headers={"ETag": etag})
        return HTMLResponse(body, headers={"ETag": etag, "Cache-Control": "public, max-age=30"})

    @app.post("/echo")
    async def echo(body: EchoBody) -> EchoBody:
        return body

    return app
