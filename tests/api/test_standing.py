"""The readiness register through HTTP, on SQLite and PostgreSQL (design § Standing duties): who
reads which standing tasks, a unit acknowledging and completing its own and a commander of the
city's HQ cancelling one; a finding marked for revision raising plan 8.1's revision (a drill's
as a real task), whose completion raises the counties'; the board's 常备任务 panel and its
version; a standing notice reaching a group chat in its words."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import update

from models import StandingTask
from service.flows.context import AppContext
from service.flows.standing.register import raise_yearly
from tests.helpers import (
    T0,
    Clock,
    MakeToken,
    Receiver,
    bearer_token_of,
    board_sign_in,
    county,
    deliveries,
    delivering,
    documented_operations,
    post,
    report,
    subscribe,
    succeeded,
)

API = "/api/v1"
KEQIAO, CITY = "330603", "330600"
COUNTY_HQS = ["hq-330602", "hq-330603", "hq-330604", "hq-330624", "hq-330681", "hq-330683"]


async def raised(context: AppContext, now: datetime = T0) -> int:
    """The year's standing tasks raised, as the app's job raises them."""
    return await raise_yearly(context.sessions, context.playbooks, now)


async def listed(client: httpx.AsyncClient, headers: dict[str, str], query: str = "") -> Any:
    return (await succeeded(client.get(f"{API}/standing-tasks{query}", headers=headers)))["items"]


async def test_a_unit_reads_its_own_tasks_and_commanders_every_units(
    client: httpx.AsyncClient, make_token: MakeToken, context: AppContext
) -> None:
    count = await raised(context)
    power = await make_token("agency", agency="power-company")
    observer = await make_token("observer")
    commander = await make_token("commander", region=KEQIAO)

    everything = await listed(client, observer)
    assert len(everything) == count == len(await listed(client, commander))
    own = await listed(client, power)
    assert own and {t["agency"] for t in own} == {"power-company"}
    assert {t["key"] for t in own} >= {
        "standing.power-company.drill",
        "standing.power-company.reserves",
        "standing.funding",
    }
    assert own == await listed(client, observer, "?agency=power-company&state=pending")
    assert await listed(client, observer, "?state=done") == []

    # another unit's tasks do not exist for a unit
    other = next(t for t in everything if t["agency"] == "finance" or t["agency"] == "hq-city")
    assert (
        await client.get(f"{API}/standing-tasks/{other['id']}", headers=power)
    ).status_code == 404
    refused = await client.get(f"{API}/standing-tasks?agency={other['agency']}", headers=power)
    assert refused.status_code == 404, refused.text
    mine = await succeeded(client.get(f"{API}/standing-tasks/{own[0]['id']}", headers=power))
    assert mine == own[0]
    # a dispatcher reads no register
    dispatcher = await make_token("dispatcher")
    assert (await client.get(f"{API}/standing-tasks", headers=dispatcher)).status_code == 403


async def test_a_unit_takes_its_task_up_and_does_it_and_the_city_cancels_one(
    client: httpx.AsyncClient, make_token: MakeToken, context: AppContext, clock: Clock
) -> None:
    await raised(context)
    power = await make_token("agency", agency="power-company")
    transport = await make_token("agency", agency="transport")
    drill = next(
        t for t in await listed(client, power) if t["key"] == "standing.power-company.drill"
    )
    url = f"{API}/standing-tasks/{drill['id']}"

    assert (await client.post(f"{url}/ack", json={}, headers=transport)).status_code == 404
    clock.set(10)
    keyed = {**power, "Idempotency-Key": "ack-1"}
    taken = await succeeded(
        client.post(f"{url}/ack", json={"note": "已列入年度计划"}, headers=keyed)
    )
    assert (taken["state"], taken["note"]) == ("acknowledged", "已列入年度计划")
    assert taken["acknowledged_at"].startswith("2026-07-20T06:10")
    clock.set(11)
    assert (
        await succeeded(client.post(f"{url}/ack", json={"note": "已列入年度计划"}, headers=keyed))
        == taken
    )
    clock.set(20)
    held = await succeeded(
        client.post(f"{url}/complete", json={"note": "9月演练已举行"}, headers=power)
    )
    assert (held["state"], held["note"]) == ("done", "9月演练已举行")
    assert held["completed_at"].startswith("2026-07-20T06:20")

    county_commander = await make_token("commander", region=KEQIAO)
    city = await make_token("commander", region=CITY)
    reason = {"reason": "并入市级联合演练"}
    refused = await client.post(f"{url}/cancel", json=reason, headers=county_commander)
    assert refused.status_code == 403 and "8.1" in refused.json()["rule"]
    # no such task: 404 before the jurisdiction's 403 (design § Errors)
    missing = f"{API}/standing-tasks/{uuid.uuid4()}/cancel"
    assert (await client.post(missing, json=reason, headers=county_commander)).status_code == 404
    assert (await client.post(f"{url}/cancel", json=reason, headers=city)).status_code == 409

    reserves = next(
        t for t in await listed(client, power) if t["key"] == "standing.power-company.reserves"
    )
    other = f"{API}/standing-tasks/{reserves['id']}"
    cancelled = await succeeded(client.post(f"{other}/cancel", json=reason, headers=city))
    assert (cancelled["state"], cancelled["cancel_reason"]) == ("cancelled", "并入市级联合演练")
    assert await succeeded(client.post(f"{other}/cancel", json=reason, headers=city)) == cancelled
    assert (await client.post(f"{other}/complete", json={}, headers=power)).status_code == 409


# --- revisions of the plan (plan 8.1) ---------------------------------------------------------


async def ended_event(
    client: httpx.AsyncClient, make_token: MakeToken, clock: Clock, *, drill: bool = False
) -> tuple[str, dict[str, str]]:
    """柯桥区 at III (the city's HQ leads), restored, its response ended at minute 70: its id
    and the city commander's headers."""
    dispatcher = await make_token("dispatcher")
    city = await make_token("commander", "市指挥部 指挥长", region=CITY)
    clock.set(0)
    first = report(county(KEQIAO, 200, 130), **({"drill": True} if drill else {}))
    event_id = (await post(client, dispatcher, first))["event_id"]
    clock.set(60)
    # a drill keeps its own clock, still at minute 0 (design § Drills): its report is observed
    # within the tolerance ahead of it
    observed = 4 if drill else 60
    later = report(county(KEQIAO, 200, 13), minutes=observed) | {"event_id": event_id}
    await post(client, dispatcher, later)
    clock.set(65)
    for condition in ("grid_stable", "hazard_removed", "secondary_handled"):
        body = {"condition": condition, "evidence": "现场核实"}
        await succeeded(
            client.post(f"{API}/events/{event_id}/attestations", json=body, headers=city)
        )
    clock.set(70)
    await succeeded(client.post(f"{API}/events/{event_id}/terminate", json={}, headers=city))
    return event_id, city


async def finding(
    client: httpx.AsyncClient, city: dict[str, str], event_id: str, **body: Any
) -> httpx.Response:
    return await client.post(
        f"{API}/events/{event_id}/evaluation/findings", json=body, headers=city
    )


async def test_a_problem_found_raises_the_plans_revision_for_its_owner(
    client: httpx.AsyncClient, make_token: MakeToken, context: AppContext, clock: Clock
) -> None:
    event_id, city = await ended_event(client, make_token, clock)
    clock.set(80)
    lesson = await finding(client, city, event_id, kind="lesson", text="预置队伍", revise=True)
    assert lesson.status_code == 422, lesson.text
    assert [e["field"] for e in lesson.json()["errors"]] == ["revise"]
    plain = await succeeded(
        finding(client, city, event_id, kind="finding", text="公安局未按时确认")
    )
    assert plain["revision_task_ids"] == []

    clock.set(81)
    found = await succeeded(
        finding(
            client, city, event_id, kind="finding", text="预案未明确应急发电车调度", revise=True
        )
    )
    [task_id] = found["revision_task_ids"]
    observer = await make_token("observer")
    task = await succeeded(client.get(f"{API}/standing-tasks/{task_id}", headers=observer))
    assert (task["key"], task["agency"], task["clause"], task["recurrence"]) == (
        "standing.economy-it.revision",
        "economy-it",
        "8.1",
        "after_findings",
    )
    assert (task["event_id"], task["finding_id"], task["from_drill"]) == (
        event_id,
        found["id"],
        False,
    )
    raised_at = T0 + timedelta(minutes=81)
    assert datetime.fromisoformat(task["due_at"]) == raised_at + timedelta(days=90)
    assert task["period"] == f"finding:{found['id']}"
    economy = await make_token("agency", agency="economy-it")
    assert [t["id"] for t in await listed(client, economy)] == [task_id]

    report_json = await succeeded(client.get(f"{API}/events/{event_id}/evaluation", headers=city))
    assert [f["revision_task_ids"] for f in report_json["findings"]] == [[], [task_id]]
    page = await client.get(f"{API}/events/{event_id}/evaluation.html", headers=city)
    assert page.text.count("已提出修订预案（预案 8.1）") == 1


async def test_a_drills_finding_raises_a_real_revision_marked_as_the_drills(
    client: httpx.AsyncClient, make_token: MakeToken, context: AppContext, clock: Clock
) -> None:
    event_id, city = await ended_event(client, make_token, clock, drill=True)
    clock.set(90)
    found = await succeeded(
        finding(client, city, event_id, kind="finding", text="演练暴露通信中断", revise=True)
    )
    [task_id] = found["revision_task_ids"]
    observer = await make_token("observer")
    task = await succeeded(client.get(f"{API}/standing-tasks/{task_id}", headers=observer))
    assert (task["event_id"], task["from_drill"], task["state"]) == (event_id, True, "pending")
    # no drill itself: its notice reaches whoever hears of the unit, drills or not
    admin = await make_token("admin")
    with Receiver() as receiver:
        await subscribe(client, admin, url=receiver.url, agencies=["economy-it"], drills=False)
        await succeeded(
            finding(client, city, event_id, kind="finding", text="演练暴露电源不足", revise=True)
        )
        async with delivering(context) as deliverer:
            await deliverer.drain()
    # both findings' tasks (the outbox keeps a notice until it is fanned out)
    bodies = [h.json() for h in receiver.hits if h.json()["type"] == "standing.raised"]
    assert len(bodies) == 2
    for body in bodies:
        assert body["data"]["drill"] is False and body["data"]["task"]["from_drill"] is True
        assert "演练评估发现的问题" in body["text"]


async def test_the_citys_revision_done_raises_each_countys_own(
    client: httpx.AsyncClient, make_token: MakeToken, context: AppContext, clock: Clock
) -> None:
    event_id, city = await ended_event(client, make_token, clock)
    clock.set(80)
    first = await succeeded(
        finding(client, city, event_id, kind="finding", text="问题一", revise=True)
    )
    second = await succeeded(
        finding(client, city, event_id, kind="finding", text="问题二", revise=True)
    )
    economy = await make_token("agency", agency="economy-it")
    observer = await make_token("observer")

    clock.set(100)
    [revision] = first["revision_task_ids"]
    await succeeded(
        client.post(f"{API}/standing-tasks/{revision}/complete", json={}, headers=economy)
    )
    counties = await listed(client, observer, "?state=pending")
    counties = [t for t in counties if t["key"] == "standing.county.revision"]
    assert sorted(t["agency"] for t in counties) == COUNTY_HQS
    assert {(t["period"], t["source_task_id"], t["recurrence"]) for t in counties} == {
        (f"revision:{revision}", revision, "after_revision")
    }
    assert {datetime.fromisoformat(t["due_at"]) for t in counties} == {
        T0 + timedelta(minutes=100, days=180)
    }
    # completing it again raises nothing more
    await succeeded(
        client.post(f"{API}/standing-tasks/{revision}/complete", json={}, headers=economy)
    )
    keqiao = await make_token("agency", agency="hq-330603")
    [own] = await listed(client, keqiao)
    await succeeded(
        client.post(f"{API}/standing-tasks/{own['id']}/complete", json={}, headers=keqiao)
    )

    # the next revision: only 柯桥区, whose own is done, is given another; the rest still revise
    [again] = second["revision_task_ids"]
    await succeeded(client.post(f"{API}/standing-tasks/{again}/complete", json={}, headers=economy))
    after = [t for t in await listed(client, observer) if t["key"] == "standing.county.revision"]
    assert sorted((t["agency"], t["source_task_id"]) for t in after) == sorted(
        [(code, revision) for code in COUNTY_HQS] + [("hq-330603", again)]
    )


# --- the board ----------------------------------------------------------------------------------

STANDING_ITEM = re.compile(r'<li class="duty standing-task( overdue)?" data-standing="([^"]+)"')


def standing_items(html: str) -> list[tuple[bool, str]]:
    """The 常备任务 panel's tasks as the page lists them: (overdue, id)."""
    return [(bool(late), task_id) for late, task_id in STANDING_ITEM.findall(html)]


async def test_the_board_lists_the_open_standing_tasks_overdue_first(
    client: httpx.AsyncClient, make_token: MakeToken, context: AppContext, clock: Clock
) -> None:
    clock.set(0)
    await raised(context)
    async with context.sessions() as session:
        late_id = await session.scalar(
            update(StandingTask)
            .where(StandingTask.key == "standing.power-company.drill")
            .values(due_at=T0 + timedelta(minutes=30))
            .returning(StandingTask.id)
        )
        await session.commit()
    observer = bearer_token_of(await make_token("observer"))
    await board_sign_in(client, observer)
    page = (await client.get("/board")).text
    assert "常备任务" in page
    items = standing_items(page)
    assert items[0] == (False, str(late_id))  # soonest due first, not yet past it
    assert len(items) == 8 and "另有" in page

    first = await client.get("/board/updates")
    etag = first.headers["etag"]
    assert (await client.get("/board/updates", headers={"If-None-Match": etag})).status_code == 304
    clock.set(31)  # the drill runs past its due time: the version moves with no write
    later = await client.get("/board/updates", headers={"If-None-Match": etag})
    assert later.status_code == 200
    assert standing_items(later.text)[0] == (True, str(late_id))
    assert "超时 1" in later.text

    power = await make_token("agency", agency="power-company")
    etag = later.headers["etag"]
    done = f"{API}/standing-tasks/{late_id}/complete"
    await succeeded(client.post(done, json={}, headers=power))
    changed = await client.get("/board/updates", headers={"If-None-Match": etag})
    assert changed.status_code == 200
    assert str(late_id) not in {task_id for _late, task_id in standing_items(changed.text)}

    # a unit sees its own; a dispatcher no panel
    client.cookies.clear()
    await board_sign_in(client, bearer_token_of(power))
    own = standing_items((await client.get("/board")).text)
    mine = {t["id"] for t in await listed(client, power, "?state=pending")}
    assert own and {task_id for _late, task_id in own} <= mine
    client.cookies.clear()
    await board_sign_in(client, bearer_token_of(await make_token("dispatcher")))
    assert "常备任务" not in (await client.get("/board")).text


# --- notices ------------------------------------------------------------------------------------


async def test_a_standing_notice_reaches_a_group_chat_in_its_words(
    client: httpx.AsyncClient, make_token: MakeToken, context: AppContext
) -> None:
    admin = await make_token("admin")
    with Receiver() as receiver:
        await subscribe(
            client,
            admin,
            url=receiver.url,
            format="wecom",
            agencies=["important-users"],
            types=["standing.raised"],
        )
        await raised(context, datetime(2026, 3, 1, tzinfo=UTC))
        async with delivering(context) as deliverer:
            await deliverer.drain()
    [hit] = receiver.hits
    text = hit.json()["markdown"]["content"]
    for said in (
        "常备任务下达",
        "按国家技术要求配置应急电源",
        "重要电力用户",
        "预案 7.5",
        "完成时限：2026-12-31",
    ):
        assert said in text, said
    assert "事件级别" not in text
    [row] = await deliveries(context)
    assert (row.state, row.event_id) == ("delivered", None)
    listed_deliveries = await succeeded(client.get(f"{API}/deliveries", headers=admin))
    assert [d["event_id"] for d in listed_deliveries["items"]] == [None]
    assert uuid.UUID(listed_deliveries["items"][0]["id"]) == row.id


def test_the_register_explains_itself_in_the_docs() -> None:
    assert sorted(documented_operations("standing")) == [
        "acknowledge_standing_task",
        "cancel_standing_task",
        "complete_standing_task",
        "get_standing_task",
        "list_standing_tasks",
    ]
