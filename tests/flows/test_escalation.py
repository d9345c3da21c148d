"""The escalation job (service.flows.actions.escalation), driven with explicit times on SQLite and
PostgreSQL: an overdue action escalates once and is reminded every period until acknowledged;
a drill is chased on its own clock, its notices reaching drill subscriptions only; two workers
never claim one action twice; the lifespan's scheduler runs it on its own."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from datetime import datetime, timedelta
from itertools import product
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update

from models import Action, OutboxMessage, TimelineEntry
from service.app import create_app
from service.flows.actions.escalation import Chased, escalate_overdue
from service.flows.actions.schemas import past_due
from service.flows.context import AppContext
from service.plan.deadlines import DUE_ONS, is_overdue
from service.plan.duties import ACTION_STATES
from service.plan.notifications import hears
from service.store.engine import make_engine, make_sessionmaker
from service.store.events import lock_event
from tests.helpers import MakeToken, county, event_actions, post, report

PERIOD = timedelta(minutes=1)
DUE = datetime.fromisoformat("2026-07-20T08:00:00+00:00")
REPORT_KEY = "reporting.power-company.report-local-authority"  # plan 4: 立即报告


async def overdue_event(
    client: httpx.AsyncClient, make_token: MakeToken, context: AppContext, **extra: Any
) -> tuple[str, list[dict[str, Any]]]:
    """柯桥区 at IV (its own HQ leads), every action due at ``DUE``: the event id and actions."""
    dispatcher = await make_token("dispatcher")
    body = report(county("330603", 151, 70), **extra)
    event_id = (await post(client, dispatcher, body))["event_id"]
    async with context.sessions() as session:
        await session.execute(
            update(Action).where(Action.event_id == uuid.UUID(event_id)).values(due_at=DUE)
        )
        await session.commit()
    observer = await make_token("observer")
    return event_id, await event_actions(client, observer, event_id)


async def chase(context: AppContext, seconds: float) -> Chased:
    """One run of the job at ``seconds`` after ``DUE``."""
    now = DUE + timedelta(seconds=seconds)
    return await escalate_overdue(context.sessions, context.playbooks.agencies, now, PERIOD)


async def told(context: AppContext) -> list[OutboxMessage]:
    """The escalation job's notices in the outbox (overdue, reminder), oldest first."""
    async with context.sessions() as session:
        chased = ("action.overdue", "action.reminder")
        query = select(OutboxMessage).where(OutboxMessage.type.in_(chased))
        return list(await session.scalars(query.order_by(OutboxMessage.created_at)))


async def entries(context: AppContext, *kinds: str) -> list[TimelineEntry]:
    async with context.sessions() as session:
        query = select(TimelineEntry).where(TimelineEntry.kind.in_(kinds))
        return list(await session.scalars(query.order_by(TimelineEntry.event_seq)))


async def test_an_unacknowledged_action_escalates_once_then_is_reminded_every_period(
    client: httpx.AsyncClient, make_token: MakeToken, context: AppContext
) -> None:
    _event_id, actions = await overdue_event(client, make_token, context)
    count = len(actions)
    assert await chase(context, -1) == Chased()  # not yet due
    assert await chase(context, 1) == Chased(escalated=count)
    assert await chase(context, 2) == Chased()  # once
    assert await chase(context, 60) == Chased()  # a period after escalating, not before
    assert await chase(context, 61) == Chased(reminded=count)
    assert await chase(context, 100) == Chased()
    assert await chase(context, 121) == Chased(reminded=count)
    # a run after a long pause reminds once, not once per period missed
    assert await chase(context, 3600) == Chased(reminded=count)
    notices = Counter((m.type, m.data["action"]["id"]) for m in await told(context))
    ids = [a["id"] for a in actions]
    assert notices == Counter(
        {("action.overdue", i): 1 for i in ids} | {("action.reminder", i): 3 for i in ids}
    )
    overdue = await entries(context, "action_overdue")
    reminders = await entries(context, "action_reminder")
    assert Counter(e.data["action_id"] for e in overdue) == Counter(ids)
    assert Counter(e.data["action_id"] for e in reminders) == Counter({i: 3 for i in ids})
    assert {e.actor for e in overdue + reminders} == {"system"}
    async with context.sessions() as session:
        stored = list(await session.scalars(select(Action)))
    assert {(a.escalated_at, a.reminded_at) for a in stored} == {
        (DUE + timedelta(seconds=1), DUE + timedelta(seconds=3600))
    }


async def test_the_overdue_notice_names_the_agency_the_leading_hq_and_escalate_to(
    client: httpx.AsyncClient, make_token: MakeToken, context: AppContext
) -> None:
    _event_id, actions = await overdue_event(client, make_token, context)
    await chase(context, 1)
    by_action = {m.data["action"]["id"]: m for m in await told(context)}
    async with context.sessions() as session:
        rows = await session.execute(select(Action.id, Action.escalate_to))
        chasers = {action_id: escalate_to for action_id, escalate_to in rows}
    # the playbook's escalate_to is copied onto each action at dispatch
    power = [a for a in actions if a["agency"] == "power-company"]
    assert power and {chasers[uuid.UUID(a["id"])] for a in power} == {"emergency-office"}
    for action in actions:
        message = by_action[action["id"]]
        escalate_to = chasers[uuid.UUID(action["id"])]
        expected = {action["agency"], "hq-330603"} | ({escalate_to} if escalate_to else set())
        assert set(message.audience or ()) == expected, action["key"]
        assert message.data["action"]["state"] == "pending"
        assert message.data["action"]["escalated_at"] is not None
        assert (message.drill, message.data["drill"]) == (False, False)


async def test_an_acknowledged_action_is_neither_escalated_nor_reminded(
    client: httpx.AsyncClient, make_token: MakeToken, context: AppContext
) -> None:
    _event_id, actions = await overdue_event(client, make_token, context)
    power = await make_token("agency", agency="power-company")
    # due on their acknowledgement (a report of plan 4's is due on its completion: below)
    own = [
        a for a in actions if a["agency"] == "power-company" and a["due_on"] == "acknowledgement"
    ]
    taken, later = own[0], own[1]
    ack = await client.post(f"/api/v1/actions/{taken['id']}/ack", json={}, headers=power)
    assert ack.status_code == 200
    assert (await chase(context, 1)).escalated == len(actions) - 1
    # acknowledged after its escalation: no reminder follows
    ack = await client.post(f"/api/v1/actions/{later['id']}/ack", json={}, headers=power)
    assert ack.status_code == 200
    assert (await chase(context, 61)).reminded == len(actions) - 2
    told_of = Counter(m.data["action"]["id"] for m in await told(context))
    assert taken["id"] not in told_of
    assert told_of[later["id"]] == 1
    flagged = {e.data["action_id"] for e in await entries(context, "action_overdue")}
    assert taken["id"] not in flagged and later["id"] in flagged


async def test_a_report_acknowledged_but_not_made_is_chased_until_it_is_done(
    client: httpx.AsyncClient, make_token: MakeToken, context: AppContext
) -> None:
    """Plan 4's "应立即…报告" is due on its completion: the power company's report, taken up and
    not made by its due time, is escalated and reminded as long as it is not done (the issue:
    acknowledging it stopped the chase), while a duty due on its acknowledgement, taken up, is
    left alone."""
    _event_id, actions = await overdue_event(client, make_token, context)
    power = await make_token("agency", agency="power-company")
    [report_link] = [a for a in actions if a["key"] == REPORT_KEY]
    assert report_link["due_on"] == "completion"  # as the playbook says, shown by the API
    [monitor] = [a for a in actions if a["key"] == "monitoring.power-company.monitor-facilities"]
    assert monitor["due_on"] == "acknowledgement"
    for action in (report_link, monitor):
        ack = await client.post(f"/api/v1/actions/{action['id']}/ack", json={}, headers=power)
        assert ack.status_code == 200 and ack.json()["state"] == "acknowledged"
    assert (await chase(context, 1)).escalated == len(actions) - 1
    assert (await chase(context, 61)).reminded == len(actions) - 1
    [overdue] = [
        e
        for e in await entries(context, "action_overdue")
        if e.data["action_id"] == report_link["id"]
    ]
    assert overdue.data["due_on"] == "completion"
    assert "has not completed" in overdue.summary
    told_of = Counter((m.type, m.data["action"]["id"]) for m in await told(context))
    assert told_of[("action.overdue", report_link["id"])] == 1
    assert told_of[("action.reminder", report_link["id"])] == 1
    assert not any(action_id == monitor["id"] for _, action_id in told_of)
    # done: no more reminders
    done = await client.post(
        f"/api/v1/actions/{report_link['id']}/complete", json={}, headers=power
    )
    assert done.status_code == 200
    assert (await chase(context, 121)).reminded == len(actions) - 2
    told_of = Counter((m.type, m.data["action"]["id"]) for m in await told(context))
    assert told_of[("action.reminder", report_link["id"])] == 1


async def test_the_database_judges_overdue_by_the_plans_rule(
    client: httpx.AsyncClient, make_token: MakeToken, context: AppContext
) -> None:
    """``past_due``, the SQL the job, the board's version and /metrics ask, is
    ``service.plan.deadlines.is_overdue``: every state with every due_on, before, at and after
    the due time."""
    _event_id, actions = await overdue_event(client, make_token, context)
    combinations = list(product(ACTION_STATES, DUE_ONS))
    async with context.sessions() as session:
        for action, (state, due_on) in zip(actions, combinations, strict=False):
            await session.execute(
                update(Action)
                .where(Action.id == uuid.UUID(action["id"]))
                .values(state=state, due_on=due_on)
            )
        await session.commit()
        rows = (await session.execute(select(Action.id, Action.state, Action.due_on))).all()
        assert {(state, due_on) for _, state, due_on in rows} == set(combinations)
        for seconds in (-1, 0, 1):
            now = DUE + timedelta(seconds=seconds)
            found = set(await session.scalars(select(Action.id).where(past_due(now))))
            expected = {i for i, state, due_on in rows if is_overdue(state, due_on, DUE, now)}
            assert found == expected, seconds
        assert expected  # the last, after the due time: some are overdue


async def test_a_drill_is_chased_on_its_own_clock_and_only_drill_subscriptions_hear_it(
    client: httpx.AsyncClient, make_token: MakeToken, context: AppContext
) -> None:
    """The job, on the service's clock, leaves a drill alone; moving the drill's clock on past
    the due time escalates, a period later reminds; each notice is marked drill."""
    event_id, actions = await overdue_event(client, make_token, context, drill=True)
    assert await chase(context, 1) == Chased() and await chase(context, 61) == Chased()
    keeper = await make_token("admin", name="drill: 演练时钟")
    event = f"/api/v1/events/{event_id}"
    opened = datetime.fromisoformat((await client.get(event, headers=keeper)).json()["opened_at"])
    escalated = opened + timedelta(seconds=1)  # the clock starts when the drill opened, after DUE
    for at in (escalated, escalated + context.settings.remind_every):
        moved = {"at": at.isoformat()}
        moving = await client.post(f"{event}/drill-clock", json=moved, headers=keeper)
        assert moving.status_code == 200
    assert {e.at for e in await entries(context, "action_overdue")} == {escalated}
    messages = await told(context)
    assert len(messages) == 2 * len(actions)
    for message in messages:
        assert message.drill and message.data["drill"] and message.data["action"]["drill"]
        heard = {
            drills: hears(
                agencies=None,
                types=None,
                drills=drills,
                notice_type=message.type,
                audience=message.audience,
                drill=message.drill,
                channel=None,
                fmt="standard",
            )
            for drills in (False, True)
        }
        assert heard == {False: False, True: True}


async def test_two_workers_at_once_claim_each_action_once(
    client: httpx.AsyncClient, make_token: MakeToken, context: AppContext
) -> None:
    """Two engines (as two worker processes have), running the job at the same moments:
    every action is escalated, and reminded, by exactly one of them."""
    dispatcher = await make_token("dispatcher")
    for region, load, lost in (("330603", 151, 70), ("330604", 180, 80), ("330624", 100, 50)):
        await post(client, dispatcher, report(county(region, load, lost)))
    async with context.sessions() as session:
        await session.execute(update(Action).values(due_at=DUE))
        await session.commit()
        ids = {str(i) for i in await session.scalars(select(Action.id))}
    other = make_engine(context.settings)
    workers = [context.sessions, make_sessionmaker(other)]
    try:
        for seconds in (1, 61):
            now = DUE + timedelta(seconds=seconds)
            runs = await asyncio.gather(
                *(
                    escalate_overdue(sessions, context.playbooks.agencies, now, PERIOD)
                    for sessions in workers
                )
            )
            total = runs[0].plus(runs[1])
            assert (total.escalated + total.reminded) == len(ids), runs
    finally:
        await other.dispose()
    for kind, notice in (
        ("action_overdue", "action.overdue"),
        ("action_reminder", "action.reminder"),
    ):
        flagged = Counter(e.data["action_id"] for e in await entries(context, kind))
        assert flagged == Counter(ids), kind
        sent = Counter(m.data["action"]["id"] for m in await told(context) if m.type == notice)
        assert sent == Counter(ids), notice


async def test_the_lifespan_scheduler_escalates_and_reminds_on_its_own(
    client: httpx.AsyncClient, make_token: MakeToken, context: AppContext
) -> None:
    _event_id, actions = await overdue_event(client, make_token, context)
    settings = context.settings.model_copy(
        update={"escalation_interval_seconds": 0.05, "remind_minutes": 0.2 / 60}
    )
    app = create_app(settings)
    reminded: set[str] = set()
    async with app.router.lifespan_context(app):
        for _ in range(100):
            reminded = {e.data["action_id"] for e in await entries(context, "action_reminder")}
            if len(reminded) == len(actions):
                break
            await asyncio.sleep(0.05)
    assert reminded == {a["id"] for a in actions}, "the scheduler did not remind every action"
    flagged = Counter(e.data["action_id"] for e in await entries(context, "action_overdue"))
    assert set(flagged.values()) == {1}


async def test_a_reporting_link_escalates_from_its_own_dispatch(
    client: httpx.AsyncClient, make_token: MakeToken, context: AppContext
) -> None:
    """Plan 4: the county's verification goes out when power-company's report is done, and is
    escalated and reminded counting from then, to the county's HQ (which holds and leads)."""
    dispatcher = await make_token("dispatcher")
    event_id = (await post(client, dispatcher, report(county("330603", 151, 70))))["event_id"]
    power = await make_token("agency", agency="power-company")
    [first] = [
        a
        for a in await event_actions(client, power, event_id)
        if a["key"] == "reporting.power-company.report-local-authority"
    ]
    done = await client.post(f"/api/v1/actions/{first['id']}/complete", json={}, headers=power)
    assert done.status_code == 200
    county_hq = await make_token("agency", agency="hq-330603")
    [link] = [
        a
        for a in await event_actions(client, county_hq, event_id)
        if a["key"] == "reporting.local-power-authority.verify"
    ]
    due = datetime.fromisoformat(link["due_at"])
    assert due - datetime.fromisoformat(done.json()["completed_at"]) == timedelta(minutes=30)
    agencies = context.playbooks.agencies
    for seconds, notice in ((1, "action.overdue"), (61, "action.reminder")):
        await escalate_overdue(context.sessions, agencies, due + timedelta(seconds=seconds), PERIOD)
        [message] = [
            m
            for m in await told(context)
            if m.type == notice and m.data["action"]["id"] == link["id"]
        ]
        assert message.audience == ["hq-330603"]


async def test_an_event_a_writer_holds_is_escalated_once_the_writer_is_done(
    client: httpx.AsyncClient, make_token: MakeToken, context: AppContext
) -> None:
    """PostgreSQL: the job passes over an event whose row another transaction holds (SKIP
    LOCKED) and escalates the others meanwhile; at the end of its run it waits for the held
    one in the lock order, holding nothing else, and escalates it once the holder commits."""
    if context.settings.is_sqlite:
        pytest.skip("SQLite admits one writer at a time: no event is ever passed over")
    first, _actions = await overdue_event(client, make_token, context)
    dispatcher = await make_token("dispatcher")
    second = (await post(client, dispatcher, report(county("330604", 180, 80))))["event_id"]
    async with context.sessions() as session:
        await session.execute(update(Action).values(due_at=DUE))
        await session.commit()
    # the job takes events in order: hold the first, so that the second is reached only past it
    held, free = sorted((first, second), key=uuid.UUID)
    observer = await make_token("observer")
    actions = await event_actions(client, observer, held)
    async with context.sessions() as holder:
        await lock_event(holder, uuid.UUID(held))
        run = asyncio.create_task(chase(context, 1))
        for _ in range(60):
            flagged = {e.event_id for e in await entries(context, "action_overdue")}
            if flagged:
                break
            await asyncio.sleep(0.05)
        assert flagged == {uuid.UUID(free)}, "the free event waited behind the held one"
        assert not run.done(), "the job went past an event it could not lock"
        await holder.commit()
    chased = await asyncio.wait_for(run, 5)
    flagged_by_event = Counter(e.event_id for e in await entries(context, "action_overdue"))
    assert flagged_by_event[uuid.UUID(held)] == len(actions)
    assert chased.escalated == sum(flagged_by_event.values())


async def test_a_restarted_service_catches_up_at_once(
    client: httpx.AsyncClient, make_token: MakeToken, context: AppContext
) -> None:
    """Everything the job needs is in the database: a service started with an hour between
    runs escalates what fell due while it was down at its start, not an hour later."""
    _event_id, actions = await overdue_event(client, make_token, context)
    app = create_app(context.settings.model_copy(update={"escalation_interval_seconds": 3600}))
    flagged: set[str] = set()
    async with app.router.lifespan_context(app):
        for _ in range(100):
            flagged = {e.data["action_id"] for e in await entries(context, "action_overdue")}
            if len(flagged) == len(actions):
                break
            await asyncio.sleep(0.05)
    assert flagged == {a["id"] for a in actions}
