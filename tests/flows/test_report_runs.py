"""Follow-up reports (issue 18, item 2): plan 4's chain runs again, one run per county hit (or
for the city), when the response starts (首报), when a county is hit anew, at every level change
(续报) and at the end (终报); 市经信委 relays each county's report; a receipt still owed at
termination stays owed and due, and the event closes only once the final report is made and
received. Through the API, on SQLite and PostgreSQL.
"""

from __future__ import annotations

from typing import Any

import httpx

from tests.helpers import MakeToken, county, event_actions, post, report

API = "/api/v1"
K, S = "330603", "330604"
POWER = "reporting.power-company.report-local-authority"
VERIFY = "reporting.local-power-authority.verify"
COUNTY_UP = "reporting.county-hq.report-major"
CITY_UP = "reporting.economy-it.report-city-government-and-provincial-drc"
GENERAL = "reporting.local-power-authority.report-general"
CITY_RECEIVES = "reporting.hq-city.receive-major-report"
DRC_RECEIVES = "reporting.provincial-drc.receive-major-report"
E_RECEIVES = "reporting.economy-it.receive-general-report"


class Event:
    def __init__(self, client: httpx.AsyncClient, make_token: MakeToken) -> None:
        self.client = client
        self.make_token = make_token
        self.id = ""

    async def begin(self, *snapshots: dict[str, Any]) -> None:
        self.dispatcher = await self.make_token("dispatcher")
        self.city = await self.make_token("commander", region="330600")
        self.province = await self.make_token("commander", region="330000")
        self.observer = await self.make_token("observer")
        self.id = (await post(self.client, self.dispatcher, report(*snapshots)))["event_id"]

    async def report(self, *snapshots: dict[str, Any], minutes: int) -> Any:
        body = report(*snapshots, minutes=minutes) | {"event_id": self.id}
        return await post(self.client, self.dispatcher, body)

    async def links(self) -> list[dict[str, Any]]:
        actions = await event_actions(self.client, self.observer, self.id)
        return [a for a in actions if a["run"]]

    async def answer(self, key: str, area: str, verb: str = "complete") -> dict[str, Any]:
        """The open link ``key`` of the latest run for ``area``, answered by its unit."""
        found = [
            a
            for a in await self.links()
            if a["key"] == key and a["regarding"] == area and a["state"] == "pending"
        ]
        link = max(found, key=lambda a: a["run"])
        unit = await self.make_token("agency", agency=link["agency"])
        answer = await self.client.post(f"{API}/actions/{link['id']}/{verb}", json={}, headers=unit)
        assert answer.status_code == 200, answer.text
        done: dict[str, Any] = answer.json()
        return done

    async def timeline(self) -> list[dict[str, Any]]:
        answer = await self.client.get(
            f"{API}/events/{self.id}/timeline?limit=200", headers=self.observer
        )
        assert answer.status_code == 200, answer.text
        items: list[dict[str, Any]] = answer.json()["items"]
        return items

    async def command(self, path: str, body: dict[str, Any], headers: dict[str, str]) -> Any:
        answer = await self.client.post(
            f"{API}/events/{self.id}/{path}", json=body, headers=headers
        )
        return answer


def held(links: list[dict[str, Any]]) -> set[tuple[int, str, str, str, str]]:
    return {(a["run"], a["regarding"], a["key"], a["agency"], a["state"]) for a in links}


async def test_each_county_reports_in_a_run_of_its_own_that_the_city_relays(
    client: httpx.AsyncClient, make_token: MakeToken
) -> None:
    """柯桥区 at III opens the event: run 1 reports on it. 上虞区 hit later is run 2, with its own
    verification and report to 市经信委, who relays each county's report to 市政府 and 省发改委,
    each acknowledging each."""
    event = Event(client, make_token)
    await event.begin(county(K, 200, 130))
    [first] = await event.links()
    assert (first["run"], first["regarding"], first["key"]) == (1, K, POWER)
    await event.report(county(K, 200, 130), county(S, 200, 50), minutes=10)
    links = await event.links()
    assert held(links) == {
        (1, K, POWER, "power-company", "pending"),
        (2, S, POWER, "power-company", "pending"),
    }
    for area in (K, S):
        await event.answer(POWER, area)
        await event.answer(VERIFY, area)
        await event.answer(COUNTY_UP, area)
        relayed = await event.answer(CITY_UP, area)
        assert (relayed["agency"], relayed["regarding"]) == ("economy-it", area)
    links = await event.links()
    receipts = {(a["run"], a["key"], a["agency"]) for a in links if a["state"] == "pending"}
    assert receipts == {
        (1, CITY_RECEIVES, "hq-city"),
        (1, DRC_RECEIVES, "provincial-drc"),
        (2, CITY_RECEIVES, "hq-city"),
        (2, DRC_RECEIVES, "provincial-drc"),
    }
    # each receiving unit sees the report it received: 市经信委's relay of that county's report
    drc = await make_token("agency", agency="provincial-drc")
    seen = await client.get(f"{API}/events/{event.id}/timeline?limit=200", headers=drc)
    relays = {a["id"] for a in links if a["key"] == CITY_UP}
    shown = [e for e in seen.json()["items"] if e["kind"] == "action_completed"]
    assert {e["data"]["action_id"] for e in shown} == relays
    # the timeline names each run and why it started
    started = [e["text"] for e in await event.timeline() if e["kind"] == "report_run_started"]
    assert started == [
        "启动第 1 轮信息报告（首报）：柯桥区",
        "启动第 2 轮信息报告（首报，新增受影响区域）：上虞区",
    ]


async def test_a_level_change_reports_again_and_a_receipt_stays_owed(
    client: httpx.AsyncClient, make_token: MakeToken
) -> None:
    """A IV in 柯桥区 reported up to 市经信委, who has not acknowledged it: raised to II, the
    county reports again (续报) in a new run at II, 市经信委's receipt stays owed and due; the
    open link of the first run gives way."""
    event = Event(client, make_token)
    await event.begin(county(K, 200, 90))
    await event.answer(POWER, K)
    await event.answer(VERIFY, K)
    await event.answer(GENERAL, K)
    before = {(a["key"], a["state"]): a for a in await event.links()}
    receipt = before[(E_RECEIVES, "pending")]
    raised = await event.command("level", {"level": "II", "reason": "省里决定"}, event.province)
    assert raised.status_code == 200, raised.text
    links = await event.links()
    assert held(links) == {
        (1, K, POWER, "power-company", "done"),
        (1, K, VERIFY, f"hq-{K}", "done"),
        (1, K, GENERAL, f"hq-{K}", "done"),
        (1, K, E_RECEIVES, "economy-it", "pending"),
        (2, K, POWER, "power-company", "pending"),
    }
    kept = next(a for a in links if a["key"] == E_RECEIVES)
    assert kept["due_at"] == receipt["due_at"]
    started = [e for e in await event.timeline() if e["kind"] == "report_run_started"]
    assert started[-1]["text"] == "启动第 2 轮信息报告（续报，响应级别调整为II级 重大）：柯桥区"
    # the follow-up goes up the chain of the new level: to 市经信委 and its government
    await event.answer(POWER, K)
    await event.answer(VERIFY, K)
    assert {(a["run"], a["key"]) for a in await event.links() if a["state"] == "pending"} == {
        (1, E_RECEIVES),
        (2, COUNTY_UP),
    }
    # lowered to III before it is made: the second run's report gives way to a third's
    lowered = await event.command("level", {"level": "III", "reason": "负荷恢复"}, event.province)
    assert lowered.status_code == 200, lowered.text
    states = {(a["run"], a["key"]): a["state"] for a in await event.links()}
    assert states[(2, COUNTY_UP)] == "superseded" and states[(3, POWER)] == "pending"
    assert states[(1, E_RECEIVES)] == "pending"
    texts = [e["text"] for e in await event.timeline() if e["kind"] == "actions_superseded"]
    assert texts[-1] == (
        "续报，响应级别调整为III级 较大：此前各轮信息报告未完成的环节由新一轮接替："
        "柯桥区应急指挥部的“立即向市经信委和同级政府报告，并通报同级其他相关部门”"
    )


async def test_the_final_report_goes_up_after_the_end_and_the_close_waits_for_it(
    client: httpx.AsyncClient, make_token: MakeToken
) -> None:
    """At termination 省发改委 has not acknowledged 市经信委's report: its receipt stays owed and
    due, not cancelled. The final report (终报) runs the chain once more after the end, the
    event closes only once it is made and every report received; acknowledging a receipt
    completes it."""
    event = Event(client, make_token)
    await event.begin(county(K, 200, 130))
    for key in (POWER, VERIFY, COUNTY_UP, CITY_UP):
        await event.answer(key, K)
    received = await event.answer(CITY_RECEIVES, K, "ack")
    assert (received["state"], received["acknowledged_at"]) == ("done", received["completed_at"])
    owed = next(a for a in await event.links() if a["key"] == DRC_RECEIVES)
    await event.report(county(K, 200, 0), county("330602", 100, 0), minutes=60)
    for condition in ("grid_stable", "hazard_removed", "secondary_handled"):
        attested = await client.post(
            f"{API}/events/{event.id}/attestations",
            json={"condition": condition, "evidence": "核实"},
            headers=event.city,
        )
        assert attested.status_code == 201, attested.text
    ended = await event.command("terminate", {}, event.city)
    assert ended.status_code == 200, ended.text

    links = await event.links()
    still = next(a for a in links if a["id"] == owed["id"])
    assert (still["state"], still["due_at"], still["cancelled_at"]) == (
        "pending",
        owed["due_at"],
        None,
    )
    assert {(a["run"], a["key"]) for a in links if a["state"] == "pending"} == {
        (1, DRC_RECEIVES),
        (2, POWER),
    }
    started = [e for e in await event.timeline() if e["kind"] == "report_run_started"]
    assert started[-1]["text"] == "启动第 2 轮信息报告（终报，应急响应终止）：柯桥区"
    # the final run goes up link by link after the end
    for key in (POWER, VERIFY, COUNTY_UP, CITY_UP):
        await event.answer(key, K)
    # plan 6's work done, the close still waits for the reports to be received
    observer = event.observer
    for action in await event_actions(client, observer, event.id):
        if action["phase"] == "post_event" and action["state"] == "pending":
            unit = await make_token("agency", agency=action["agency"])
            done = await client.post(
                f"{API}/actions/{action['id']}/complete", json={}, headers=unit
            )
            assert done.status_code == 200, done.text
    refused = await event.command("close", {}, event.city)
    assert refused.status_code == 409
    assert refused.json()["rule"] == "plan 4"
    assert refused.json()["open"] == [CITY_RECEIVES, DRC_RECEIVES, DRC_RECEIVES]
    await event.answer(DRC_RECEIVES, K, "ack")
    await event.answer(DRC_RECEIVES, K, "ack")
    await event.answer(CITY_RECEIVES, K, "ack")
    closed = await event.command("close", {}, event.city)
    assert closed.status_code == 200, closed.text
