"""``audit verify`` on SQLite and PostgreSQL: the chain timeline.record writes holds as stored
and read back, and an entry edited, removed or inserted in the database is named, by the flow
and by the command (exit 1)."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import delete, func, insert, select, update

from models import Event, TimelineEntry
from models.base import table_of
from service.cli import main
from service.flows.context import AppContext
from service.flows.events.audit import verify_timelines
from service.plan.chain import entry_hash
from service.store import timeline
from service.store.batch import WriteBatch
from service.store.events import lock_event
from tests.helpers import MakeToken, county, post, report

TIMELINE = table_of(TimelineEntry)


@pytest.fixture
async def event_id(
    client: httpx.AsyncClient, make_token: MakeToken, context: AppContext
) -> uuid.UUID:
    """An event at IV (opened, reported, classified, dispatched) with a note whose data JSON
    and JSONB must give back as hashed: floats, a big integer, nesting, null, Chinese."""
    dispatcher = await make_token("dispatcher")
    body = await post(client, dispatcher, report(county("330603", 151, "60.4")))
    event = uuid.UUID(body["event_id"])
    async with context.sessions() as session:
        locked = await lock_event(session, event)
        async with WriteBatch(session) as batch:
            timeline.record(
                batch,
                locked,
                "report",
                None,
                "核对：柯桥区 60.4 MW",
                clause="4",
                share=0.4,
                tiny=1e-7,
                big=12_345_678_901_234,
                nested={"z": [1.5, None, True], "a": "é", "空": {}},
            )
        await session.commit()
    return event


async def entries_of(context: AppContext, event: uuid.UUID) -> int:
    async with context.read_sessions() as session:
        found = await session.scalar(
            select(func.count()).select_from(TimelineEntry).where(TimelineEntry.event_id == event)
        )
    assert found is not None and found >= 4
    return found


async def change(context: AppContext, statement: Any) -> None:
    async with context.sessions() as session:
        await session.execute(statement)
        await session.commit()


async def command(context: AppContext, monkeypatch: pytest.MonkeyPatch, *words: str) -> int:
    """``outage-coordinator audit verify WORDS`` on the test's database (in a thread: the
    command runs its own event loop); its exit status."""
    monkeypatch.setenv("OUTAGE_DATABASE_URL", context.settings.database_url)
    return await asyncio.to_thread(main, ["audit", "verify", *words])


async def test_a_clean_chain_holds(
    context: AppContext,
    event_id: uuid.UUID,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    count = await entries_of(context, event_id)
    async with context.read_sessions() as session:
        audit = await verify_timelines(session)
        head = await session.scalar(select(Event.timeline_hash).where(Event.id == event_id))
        last = await session.scalar(
            select(TimelineEntry.hash)
            .where(TimelineEntry.event_id == event_id)
            .order_by(TimelineEntry.event_seq.desc())
            .limit(1)
        )

    assert (audit.events, audit.entries, audit.breaks) == (1, count, {})
    assert head is not None and head == last
    capsys.readouterr()
    assert await command(context, monkeypatch, str(event_id)) == 0
    assert capsys.readouterr().out.strip() == (f"1 个事件，{count} 条时间线记录：哈希链全部完整")
    assert await command(context, monkeypatch, str(uuid.uuid4())) == 2
    assert "不存在" in capsys.readouterr().err


async def test_an_edited_entry_is_named(
    context: AppContext,
    event_id: uuid.UUID,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    await change(
        context,
        update(TIMELINE)
        .where(TIMELINE.c.event_id == event_id, TIMELINE.c.event_seq == 2)
        .values(summary="改过的摘要"),
    )

    async with context.read_sessions() as session:
        audit = await verify_timelines(session)

    found = audit.breaks[event_id]
    assert (found.fault, found.event_seq) == ("edited", 2)
    capsys.readouterr()
    assert await command(context, monkeypatch) == 1
    captured = capsys.readouterr()
    assert captured.out.startswith(f"事件 {event_id}：第 2 条记录被改动：#2 (")
    assert "1 个事件中 1 个未通过校验" in captured.err


async def test_a_removed_entry_is_named(context: AppContext, event_id: uuid.UUID) -> None:
    await change(
        context,
        delete(TIMELINE).where(TIMELINE.c.event_id == event_id, TIMELINE.c.event_seq == 3),
    )

    async with context.read_sessions() as session:
        audit = await verify_timelines(session, event_id)

    found = audit.breaks[event_id]
    assert (found.fault, found.event_seq, found.detail) == ("removed", 3, "#3 missing before #4")


async def test_an_inserted_entry_is_named(context: AppContext, event_id: uuid.UUID) -> None:
    """A forger who knows the hash appends a well-formed entry: the event's head gives it away."""
    count = await entries_of(context, event_id)
    async with context.read_sessions() as session:
        last = (await timeline.chain(session, event_id))[-1]
    forged = {**last, "event_seq": count + 1, "summary": "补记", "prev_hash": last["hash"]}
    forged["hash"] = entry_hash(forged["prev_hash"], forged)
    await change(context, insert(TIMELINE).values(**forged))

    async with context.read_sessions() as session:
        audit = await verify_timelines(session)

    found = audit.breaks[event_id]
    assert (found.fault, found.event_seq) == ("inserted", count + 1)
