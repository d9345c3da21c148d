"""POST /reports and /classify end to end, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, update

from models import Event, EventGrid, IdempotencyRecord, Report, ReportSnapshot, TimelineEntry
from service.flows.context import AppContext
from service.flows.reports.schemas import ClassificationQuery, ClassificationRead
from service.flows.schemas import BasisRead
from service.plan.classification import classify
from tests.helpers import MakeToken, count, county, post, report


async def test_two_county_outage_rises_to_city_lead(
    client: httpx.AsyncClient, make_token: MakeToken
) -> None:
    dispatcher = await make_token("dispatcher")
    first = await post(client, dispatcher, report(county("330603", "151.0", "60.4")))
    assert first["level"] == "IV"
    assert first["state"] == "response"
    assert first["response_level"] == "IV"
    assert first["leading_hq"] == {"region": "330603", "name": "柯桥区大面积停电事件应急指挥部"}
    assert first["basis"] == [
        {
            "scope": "county",
            "region": "330603",
            "level": "IV",
            "clause": "1.5 一般(3)",
            "metric": "load",
            "value": 0.4,
            "threshold": "≥ 40% 且 < 60%",
        }
    ]
    event_id = first["event_id"]

    # 上虞区 also at IV: several counties at IV → the city HQ leads (plan 2.2, design § Who leads)
    second = await post(
        client, dispatcher, report(county("330604", 180, 80), minutes=10, event_id=event_id)
    )
    assert second["event_id"] == event_id
    assert second["response_level"] == "IV"
    assert second["leading_hq"]["region"] == "330600"

    # the leading HQ's pending duties go with the lead; the counties keep their own (plan 2.2)
    actions = (await client.get(f"/api/v1/events/{event_id}/actions", headers=dispatcher)).json()
    lead_duties = [a for a in actions["items"] if ".leading-hq." in a["key"]]
    assert lead_duties and {a["agency"] for a in lead_duties} == {"hq-city"}
    own = [a for a in actions["items"] if a["key"] == "response.county-hq.command"]
    assert {a["agency"] for a in own} == {"hq-330603", "hq-330604"}
    # the city leading when several counties reach IV is the service's rule, cited as such:
    # plan 2.2 has the city organise only "必要时"
    timeline = (await client.get(f"/api/v1/events/{event_id}/timeline", headers=dispatcher)).json()
    [changed] = [e for e in timeline["items"] if e["kind"] == "leading_hq_changed"]
    assert changed["clause"] == "5.1" and "the service's rule" in changed["summary"]
    detail = (await client.get(f"/api/v1/events/{event_id}", headers=dispatcher)).json()
    assert detail["level"] == "IV"
    assert detail["peak_level"] == "IV"
    assert {b["region"] for b in detail["basis"]} == {"330603", "330604"}
    assert detail["restoration"]["grids"] == {"330603": 0.0, "330604": 0.0}


async def test_level_rises_at_once_and_never_falls_by_report(
    client: httpx.AsyncClient, make_token: MakeToken
) -> None:
    dispatcher = await make_token("dispatcher")
    event_id = (await post(client, dispatcher, report(county("330603", 200, 80))))["event_id"]
    # 柯桥区 ≥ 150 MW losing 60% → III (较大(3)): the response rises, the city HQ leads
    raised = await post(
        client, dispatcher, report(county("330603", 200, 120), minutes=5, event_id=event_id)
    )
    assert (raised["level"], raised["response_level"]) == ("III", "III")
    assert raised["leading_hq"]["region"] == "330600"
    # the city grid (≥ 600 MW) losing 60% → II: province HQ leads
    city = {"scope": "city", "region": "330600", "load_mw": 3000, "load_lost_mw": 1800}
    to_two = await post(client, dispatcher, report(city, minutes=6, event_id=event_id))
    assert (to_two["response_level"], to_two["leading_hq"]["region"]) == ("II", "330000")
    # restoration reports lower the current level, never the peak or the response
    city_back = {**city, "load_lost_mw": 100}
    lower = await post(
        client,
        dispatcher,
        report(city_back, county("330603", 200, 10), minutes=60, event_id=event_id),
    )
    assert lower["level"] is None
    assert (lower["event_level"], lower["peak_level"], lower["response_level"]) == (
        None,
        "II",
        "II",
    )
    assert lower["leading_hq"]["region"] == "330000"
    detail = (await client.get(f"/api/v1/events/{event_id}", headers=dispatcher)).json()
    assert detail["state"] == "response"
    # overall over the widest scope reported (the city): 1 − 100/1800
    assert detail["restoration"]["overall"] == pytest.approx(1 - 100 / 1800)
    assert detail["restoration"]["scope"] == "city"
    kinds = [
        e["kind"]
        for e in (
            await client.get(f"/api/v1/events/{event_id}/timeline", headers=dispatcher)
        ).json()["items"]
    ]
    assert kinds.count("response_raised") == 2
    # plan 3.2.1's monitoring as the event opens; plan 5.2.1 and 4: the first measures and the
    # first report (a run of the chain for 柯桥区) go out before the response starts
    assert kinds[:8] == [
        "event_opened",
        "report",
        "actions_dispatched",
        "actions_dispatched",
        "report_run_started",
        "actions_dispatched",
        "response_started",
        "actions_dispatched",
    ]
    # plan 4 reports again at each rise (续报): a run at III, one at II
    assert kinds.count("report_run_started") == 3


async def test_below_threshold_stays_monitoring(
    client: httpx.AsyncClient, make_token: MakeToken
) -> None:
    dispatcher = await make_token("dispatcher")
    body = await post(client, dispatcher, report(county("330603", 100, "39.999")))
    assert (body["level"], body["state"], body["response_level"]) == (None, "monitoring", None)
    assert body["leading_hq"] is None and body["basis"] == []


async def test_customers_alone_can_set_the_level(
    client: httpx.AsyncClient, make_token: MakeToken
) -> None:
    dispatcher = await make_token("dispatcher")
    body = await post(
        client,
        dispatcher,
        report(county("330683", 120, 1, customers=300000, customers_out=150000)),
    )
    assert body["level"] == "IV"
    assert body["basis"][0]["metric"] == "customers"
    assert body["basis"][0]["value"] == 0.5


async def test_a_late_report_keeps_the_newer_figures(
    client: httpx.AsyncClient, make_token: MakeToken, context: AppContext
) -> None:
    dispatcher = await make_token("dispatcher")
    event_id = (await post(client, dispatcher, report(county("330603", 200, 90), minutes=30)))[
        "event_id"
    ]
    await post(client, dispatcher, report(county("330603", 200, 20), minutes=10, event_id=event_id))
    async with context.sessions() as session:
        grid = await session.scalar(select(EventGrid).where(EventGrid.region == "330603"))
    assert grid is not None
    assert grid.load_lost_mw == 90  # the 10-minute report is older than the 30-minute one
    assert grid.peak_load_lost_mw == 90


async def test_reports_and_timeline_are_listed_with_actor(
    client: httpx.AsyncClient, make_token: MakeToken
) -> None:
    dispatcher = await make_token("dispatcher", name="城调 张三")
    event_id = (await post(client, dispatcher, report(county("330603", 151, 70))))["event_id"]
    await post(client, dispatcher, report(county("330603", 151, 30), minutes=30, event_id=event_id))
    reports = (await client.get(f"/api/v1/events/{event_id}/reports", headers=dispatcher)).json()
    assert [r["snapshots"][0]["load_lost_mw"] for r in reports["items"]] == [70, 30]
    assert reports["items"][0]["reporter"] == "城调 张三"
    assert reports["items"][0]["basis"][0]["value"] == pytest.approx(70 / 151)
    timeline = (await client.get(f"/api/v1/events/{event_id}/timeline", headers=dispatcher)).json()
    assert all(e["actor"] == "dispatcher:城调 张三" for e in timeline["items"])
    assert all(e["clause"] for e in timeline["items"])
    page = (
        await client.get(f"/api/v1/events/{event_id}/timeline?limit=2", headers=dispatcher)
    ).json()
    assert len(page["items"]) == 2 and page["next"]
    rest = (
        await client.get(
            f"/api/v1/events/{event_id}/timeline",
            params={"limit": 50, "cursor": page["next"]},
            headers=dispatcher,
        )
    ).json()
    assert [e["seq"] for e in page["items"] + rest["items"]] == [
        e["seq"] for e in timeline["items"]
    ]


async def test_event_list_filters_and_pages(
    client: httpx.AsyncClient, make_token: MakeToken
) -> None:
    dispatcher = await make_token("dispatcher")
    observer = await make_token("observer")
    ids = []
    for region, lost in [("330603", 70), ("330604", 10), ("330681", 90)]:
        ids.append((await post(client, dispatcher, report(county(region, 151, lost))))["event_id"])
    await post(client, dispatcher, report(county("330624", 100, 50), drill=True))

    async def listing(**params: Any) -> list[str]:
        found: list[str] = []
        cursor = None
        while True:
            query = {**params, **({"cursor": cursor} if cursor else {})}
            page = (await client.get("/api/v1/events", params=query, headers=observer)).json()
            found += [e["id"] for e in page["items"]]
            cursor = page.get("next")
            if not cursor:
                return found

    assert len(await listing(limit=1)) == 4
    assert await listing(state="response", drill="false") == [ids[0], ids[2]]
    assert await listing(state="monitoring") == [ids[1]]
    assert await listing(region="330681") == [ids[2]]
    assert len(await listing(region="330600", limit=2)) == 4
    assert len(await listing(drill="true")) == 1
    assert await listing(level="III") == []
    bad = await client.get("/api/v1/events", params={"cursor": "nonsense"}, headers=observer)
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "cursor"
    unknown = await client.get("/api/v1/events", params={"region": "110000"}, headers=observer)
    assert unknown.status_code == 422


async def test_agency_sees_only_events_it_has_actions_in(
    client: httpx.AsyncClient, make_token: MakeToken
) -> None:
    dispatcher = await make_token("dispatcher")
    power = await make_token("agency", agency="power-company")
    province = await make_token("agency", agency="provincial-drc")
    event_id = (await post(client, dispatcher, report(county("330603", 151, 70))))["event_id"]
    # a level IV response asks nothing of 省发改委 (plan 4: only 较大 and above reach it)
    assert (await client.get("/api/v1/events", headers=province)).json()["items"] == []
    assert (await client.get(f"/api/v1/events/{event_id}", headers=province)).status_code == 404
    listed = (await client.get("/api/v1/events", headers=power)).json()["items"]
    assert [e["id"] for e in listed] == [event_id]
    actions = (await client.get(f"/api/v1/events/{event_id}/actions", headers=power)).json()
    assert actions["items"] and {a["agency"] for a in actions["items"]} == {"power-company"}


async def test_idempotency_key_replays_and_stores_once(
    client: httpx.AsyncClient, make_token: MakeToken, context: AppContext
) -> None:
    dispatcher = {**(await make_token("dispatcher")), "Idempotency-Key": "rpt-1"}
    body = report(county("330603", 151, 70))
    first = await client.post("/api/v1/reports", json=body, headers=dispatcher)
    again = await client.post("/api/v1/reports", json=body, headers=dispatcher)
    assert (first.status_code, again.status_code) == (201, 201)
    assert first.json() == again.json()
    assert await count(context, Report) == 1
    other = await client.post(
        "/api/v1/reports", json=report(county("330603", 151, 71)), headers=dispatcher
    )
    assert other.status_code == 422
    assert other.json()["errors"][0]["field"] == "Idempotency-Key"
    assert await count(context, IdempotencyRecord) == 1


async def test_concurrent_reports_on_one_event_lose_nothing(
    client: httpx.AsyncClient, make_token: MakeToken, context: AppContext
) -> None:
    dispatcher = await make_token("dispatcher")
    event_id = (await post(client, dispatcher, report(county("330603", 151, 10))))["event_id"]
    regions = ["330602", "330604", "330624", "330681", "330683"]
    results = await asyncio.gather(
        *(
            client.post(
                "/api/v1/reports",
                json=report(county(region, 100, 45), minutes=i, event_id=event_id),
                headers=dispatcher,
            )
            for i, region in enumerate(regions, 1)
        )
    )
    assert [r.status_code for r in results] == [201] * 5
    detail = (await client.get(f"/api/v1/events/{event_id}", headers=dispatcher)).json()
    assert set(detail["restoration"]["grids"]) == {"330603", *regions}
    assert (detail["level"], detail["response_level"]) == ("IV", "IV")
    assert detail["leading_hq"]["region"] == "330600"
    assert await count(context, ReportSnapshot) == 6
    async with context.sessions() as session:
        started = await session.scalar(
            select(func.count())
            .select_from(TimelineEntry)
            .where(TimelineEntry.kind == "response_started")
        )
    assert started == 1


async def test_classify_stores_nothing(
    client: httpx.AsyncClient, make_token: MakeToken, context: AppContext
) -> None:
    observer = await make_token("observer")
    body = {
        "snapshots": [
            {"scope": "province", "region": "330000", "load_mw": 3000, "load_lost_mw": 390},
            county("330603", "151.0", "60.4"),
        ]
    }
    response = await client.post("/api/v1/classify", json=body, headers=observer)
    assert response.status_code == 200
    result = response.json()
    assert (result["level"], result["level_name"]) == ("II", "重大")
    assert [(b["region"], b["level"], b["clause"]) for b in result["basis"]] == [
        ("330000", "II", "1.5 重大(1)"),
        ("330603", "IV", "1.5 一般(3)"),
    ]
    assert await count(context, Event) == 0


@pytest.mark.parametrize(
    "snapshots",
    [
        [county("330603", "151.0", "30")],  # below every threshold: no level, no basis
        [county("330603", "151.0", "60.4")],
        [county("330603", "151.0", "1", customers=1000, customers_out=333)],
        [
            {"scope": "province", "region": "330000", "load_mw": 3000, "load_lost_mw": 390},
            {"scope": "city", "region": "330600", "load_mw": "650.5", "load_lost_mw": "455.35"},
            county("330602", "200", "200", customers=7, customers_out=7),
        ],
    ],
)
def test_classify_answer_is_the_models_json(
    context: AppContext, snapshots: list[dict[str, Any]]
) -> None:
    request = ClassificationQuery.model_validate({"snapshots": snapshots})
    result = classify(request.snapshots, context.playbooks.rules)
    model = ClassificationRead(
        level=result.level,
        level_name=result.level_name,
        basis=[BasisRead.of(b) for b in result.basis],
    )
    assert json.loads(ClassificationRead.json_of(result)) == json.loads(model.model_dump_json())


async def test_healthz_needs_no_token(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert response.json() == {"status": "ok", "database": "ok"}


async def test_report_on_ended_event_is_409(
    client: httpx.AsyncClient, make_token: MakeToken, context: AppContext
) -> None:
    dispatcher = await make_token("dispatcher")
    event_id = (await post(client, dispatcher, report(county("330603", 151, 70))))["event_id"]
    for state in ("terminated", "closed"):
        async with context.sessions() as session:
            await session.execute(update(Event).values(state=state))
            await session.commit()
        response = await client.post(
            "/api/v1/reports",
            json=report(county("330603", 151, 20), minutes=9, event_id=event_id),
            headers=dispatcher,
        )
        assert response.status_code == 409
        problem = response.json()
        assert problem["state"] == state
        assert "report" not in problem["allowed"]
    assert await count(context, Report) == 1


async def test_the_documented_examples_do_what_the_docs_say(
    client: httpx.AsyncClient, make_token: MakeToken
) -> None:
    """/docs shows these bodies: 柯桥区 and 上虞区 each at level IV; the first report opens an
    event in response, and the follow-up (sent to that event) brings 柯桥区 back to 16 MW lost."""
    schemas = (await client.get("/openapi.json")).json()["components"]["schemas"]
    [query] = schemas["ClassificationQuery"]["examples"]
    dispatcher = await make_token("dispatcher")
    classified = await client.post("/api/v1/classify", json=query, headers=dispatcher)
    assert classified.status_code == 200, classified.text
    assert classified.json()["level"] == "IV"
    assert {b["region"] for b in classified.json()["basis"]} == {"330603", "330604"}

    first, follow_up = schemas["ReportCreate"]["examples"]
    opened = await post(client, dispatcher, first)
    assert (opened["level"], opened["state"]) == ("IV", "response")
    later = await post(client, dispatcher, {**follow_up, "event_id": opened["event_id"]})
    assert later["event_id"] == opened["event_id"]
    assert later["level"] is None  # 16 of 151 MW lost: below every threshold
    assert later["peak_level"] == "IV"
