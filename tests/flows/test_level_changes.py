"""A level change settles the duties (issue 18, item 1): where a higher level's item replaces a
lower one's (plan 4's report up, 2.3's on-site HQ, 6.2's investigation group, 5.4's review of
major news by the province), the lower one is superseded, no longer due; a lowering hands back
the same way, and duties handed to another HQ are due afresh.

The jobs below are written from the plan, not from the playbooks. The events are made through the
API, on SQLite and PostgreSQL: a report for each level a place reaches by itself, the province
HQ's commander for the rest and for every lowering.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

from service.flows.actions.escalation import escalate_overdue
from service.flows.context import AppContext
from tests.helpers import (
    T0,
    Clock,
    MakeToken,
    county,
    event_actions,
    post,
    report,
)

API = "/api/v1"
LEVELS = ["I", "II", "III", "IV"]
K, S, C, P = "hq-330603", "hq-330604", "hq-city", "hq-province"
E = "economy-it"
OPEN = ("pending", "acknowledged")

# --- the jobs, and the item doing each at each level (the grade, for plan 6.2) ----------------
COUNTY_ON_SITE = "response.county-hq.on-site-hq"  # 2.3 一般: the county's HQ
CITY_ON_SITE = "response.hq-city.on-site-hq"  # 2.3 较大: the city's HQ
PREMISES = "response.hq-city.on-site-hq-premises"  # 5.2.2: the city arranges the premises
COUNTY_UP = "reporting.county-hq.report-major"  # 4, 较大以上: to 市经信委 and its government
GENERAL = "reporting.local-power-authority.report-general"  # 4, 一般: to the upper authority
GROUP_CITY = "post-event.economy-it.investigation-group"  # 6.2, I–III
GROUP_LOCAL = "post-event.local-power-authority.investigation-group"  # 6.2, IV
SUBMIT = "response.release.submit-major-to-province"  # 5.4 at III/IV: submitted to the province
PROVINCE_REVIEW = "response.release.province-review-major"  # 5.4 at I/II: the province's own

JOBS: dict[str, dict[str, str]] = {
    "on-site HQ": {"I": PREMISES, "II": PREMISES, "III": CITY_ON_SITE, "IV": COUNTY_ON_SITE},
    "report up": {"I": COUNTY_UP, "II": COUNTY_UP, "III": COUNTY_UP, "IV": GENERAL},
    "investigation group": {
        "I": GROUP_CITY,
        "II": GROUP_CITY,
        "III": GROUP_CITY,
        "IV": GROUP_LOCAL,
    },
    "province review": {"I": PROVINCE_REVIEW, "II": PROVINCE_REVIEW, "III": SUBMIT, "IV": SUBMIT},
}
JOB_OF = {key: job for job, items in JOBS.items() for key in items.values()}
BY_GRADE = {"investigation group"}
# plan 4's chain reports again at each level change (a new run, 续报): the links of the runs
# before give way to it, but the receipts of reports already sent (design § Reporting chain)
IN_RUNS = {"report up"}


def is_link(key: str) -> bool:
    return key.startswith("reporting.")


def is_receipt(key: str) -> bool:
    return is_link(key) and ".receive-" in key


CITY = {"scope": "city", "region": "330600", "load_mw": 1000}
# the snapshots that bring each place to each level it reaches by a report
REACHED: dict[str, dict[str, list[dict[str, Any]]]] = {
    "one county": {"IV": [county("330603", 200, 90)], "III": [county("330603", 200, 130)]},
    "two counties": {
        "IV": [county("330603", 200, 90), county("330604", 200, 90)],
        "III": [county("330603", 200, 130), county("330604", 200, 130)],
    },
    "city grid": {
        "IV": [{**CITY, "load_lost_mw": 300}],
        "III": [{**CITY, "load_lost_mw": 500}],
        "II": [{**CITY, "load_lost_mw": 700}],
    },
}


def rank(level: str) -> int:
    return 4 - LEVELS.index(level)


def open_by_job(actions: list[dict[str, Any]]) -> dict[str, set[tuple[str, str]]]:
    """Each job's open actions, as (key, agency)."""
    found: dict[str, set[tuple[str, str]]] = {job: set() for job in JOBS}
    for a in actions:
        if a["key"] in JOB_OF and a["state"] in OPEN:
            found[JOB_OF[a["key"]]].add((a["key"], a["agency"]))
    return found


def assert_settled(actions: list[dict[str, Any]], level: str, grade: str) -> None:
    """No job has open actions of two items, nor any unit two open actions of one job; and
    what is open of a job is the item of the level (of the grade, for plan 6.2)."""
    for job, held in open_by_job(actions).items():
        items = {key for key, _agency in held}
        assert len(items) <= 1, (job, held)
        units = [agency for _key, agency in held]
        assert len(units) == len(set(units)), (job, held)
        assert items <= {JOBS[job][grade if job in BY_GRADE else level]}, (job, level, held)


class Scene:
    def __init__(self, client: httpx.AsyncClient, make_token: MakeToken) -> None:
        self.client = client
        self.make_token = make_token
        self.minutes = 0

    async def tokens(self) -> None:
        self.dispatcher = await self.make_token("dispatcher")
        self.province = await self.make_token("commander", region="330000")
        self.observer = await self.make_token("observer")

    async def report(self, place: str, level: str, event_id: str | None = None) -> Any:
        self.minutes += 5
        body = report(*REACHED[place][level], minutes=self.minutes)
        if event_id is not None:
            body["event_id"] = event_id
        return await post(self.client, self.dispatcher, body)

    async def set_level(self, event_id: str, level: str) -> None:
        answer = await self.client.post(
            f"{API}/events/{event_id}/level",
            json={"level": level, "reason": "省应急指挥部决定"},
            headers=self.province,
        )
        assert answer.status_code == 200, answer.text

    async def actions(self, event_id: str) -> list[dict[str, Any]]:
        return await event_actions(self.client, self.observer, event_id)

    async def act(self, action: dict[str, Any], verb: str) -> httpx.Response:
        unit = await self.make_token("agency", agency=action["agency"])
        return await self.client.post(f"{API}/actions/{action['id']}/{verb}", json={}, headers=unit)


def reachable(place: str, level: str) -> str:
    """``level``, or the highest level below it ``place`` reaches by a report."""
    return level if level in REACHED[place] else min(REACHED[place], key=LEVELS.index)


PAIRS = [
    (before, after, place)
    for before in LEVELS
    for after in LEVELS
    if before != after
    for place in REACHED
]


@pytest.mark.parametrize(("before", "after", "place"), PAIRS)
async def test_a_level_change_leaves_one_item_doing_each_job(
    client: httpx.AsyncClient, make_token: MakeToken, before: str, after: str, place: str
) -> None:
    scene = Scene(client, make_token)
    await scene.tokens()
    start = reachable(place, before)
    event_id = (await scene.report(place, start))["event_id"]
    if start != before:
        await scene.set_level(event_id, before)
    grade = start
    # plan 4's first links done, so that the authority's report is out; the on-site HQ taken up
    for key in (
        "reporting.power-company.report-local-authority",
        "reporting.local-power-authority.verify",
    ):
        for action in [
            a for a in await scene.actions(event_id) if a["key"] == key and a["state"] in OPEN
        ]:
            assert (await scene.act(action, "complete")).status_code == 200
    for action in await scene.actions(event_id):
        if JOB_OF.get(action["key"]) == "on-site HQ" and action["state"] == "pending":
            assert (await scene.act(action, "ack")).status_code == 200
    first = await scene.actions(event_id)
    assert_settled(first, before, grade)

    # the change: a report where the place reaches the new level (the grade follows), else the
    # province's commander
    if rank(after) > rank(before) and after in REACHED[place]:
        await scene.report(place, after, event_id)
        grade = after
    else:
        await scene.set_level(event_id, after)
    changed = await scene.actions(event_id)
    assert_settled(changed, after, grade)

    # what gave way is superseded, no longer due: what was open of a job the new level gives
    # another item (or none)
    def superseded(actions: list[dict[str, Any]]) -> set[tuple[str, str]]:
        return {(a["key"], a["agency"]) for a in actions if a["state"] == "superseded"}

    gave_way = {
        (a["key"], a["agency"])
        for a in first
        if a["state"] in OPEN
        and (
            (is_link(a["key"]) and not is_receipt(a["key"]))
            or (
                a["key"] in JOB_OF
                and JOBS[JOB_OF[a["key"]]][grade if JOB_OF[a["key"]] in BY_GRADE else after]
                != a["key"]
            )
        )
    }
    assert superseded(changed) - superseded(first) == gave_way
    assert all(a["superseded_at"] for a in changed if a["state"] == "superseded")

    # and back: the lower (or higher) level's items come back, the other's give way
    await scene.set_level(event_id, before)
    back = await scene.actions(event_id)
    assert_settled(back, before, grade)
    # what the level does again is open again (the grade's duties stay with the grade)
    # (the lead's, with whoever leads now; plan 4 in a new run, from its first report)
    again = {a["key"] for a in back if a["state"] in OPEN}
    for job, held in open_by_job(first).items():
        if job not in BY_GRADE | IN_RUNS:
            assert {key for key, _agency in held} <= again, (job, held)


async def test_what_gave_way_says_so_and_takes_no_answer(
    client: httpx.AsyncClient, make_token: MakeToken
) -> None:
    """A IV led by 柯桥区 rising to III: the county's on-site HQ (taken up) gives way to the
    city's, its IV report to the III one; the timeline says which, by name; the agency can
    neither acknowledge nor complete it, nor a commander cancel it; lowered again, it comes
    back as new."""
    scene = Scene(client, make_token)
    await scene.tokens()
    event_id = (await scene.report("one county", "IV"))["event_id"]
    actions = await scene.actions(event_id)
    on_site = next(a for a in actions if a["key"] == COUNTY_ON_SITE)
    assert (await scene.act(on_site, "ack")).status_code == 200
    await scene.report("one county", "III", event_id)

    actions = {(a["key"], a["agency"]): a for a in await scene.actions(event_id)}
    assert actions[(COUNTY_ON_SITE, K)]["state"] == "superseded"
    assert actions[(CITY_ON_SITE, C)]["state"] == "pending"
    assert actions[(GROUP_LOCAL, K)]["state"] == "superseded"
    assert actions[(GROUP_CITY, E)]["state"] == "pending"
    for verb in ("ack", "complete"):
        refused = await scene.act(actions[(COUNTY_ON_SITE, K)], verb)
        assert refused.status_code == 409 and refused.json()["state"] == "superseded"
    cancel = await client.post(
        f"{API}/actions/{on_site['id']}/cancel", json={"reason": "x"}, headers=scene.province
    )
    assert cancel.status_code == 409

    entries = (
        await client.get(f"{API}/events/{event_id}/timeline", headers=scene.observer)
    ).json()["items"]
    superseded = [e for e in entries if e["kind"] == "actions_superseded"]
    texts = [e["text"] for e in superseded]
    # a report raised the level and the grade at once: one entry for both
    assert texts == [
        "响应级别调整为III级 较大："
        "柯桥区应急指挥部的“成立调查组，查明事件原因、性质、影响范围、经济损失”"
        "改由市经信委的“成立调查组，查明事件原因、性质、影响范围、经济损失”承担；"
        "柯桥区应急指挥部的“根据需要成立现场指挥部”改由市应急指挥部的“根据需要成立现场指挥部”承担",
        # plan 4 reports again at III (续报): the first run's report, not yet made, gives way
        "续报，响应级别调整为III级 较大：此前各轮信息报告未完成的环节由新一轮接替："
        "绍兴电力局的“立即向受影响区域电力运行主管部门报告”",
    ], texts
    # 柯桥区 sees the entry about its own duty, and only that
    keqiao = await make_token("agency", agency=K)
    seen = (await client.get(f"{API}/events/{event_id}/timeline", headers=keqiao)).json()["items"]
    mine = [e for e in seen if e["kind"] == "actions_superseded"]
    assert [e["data"]["keys"] for e in mine] == [[GROUP_LOCAL, COUNTY_ON_SITE]]
    assert mine[0]["data"]["held"] == {GROUP_LOCAL: [K], COUNTY_ON_SITE: [K]}

    await scene.set_level(event_id, "IV")
    actions = {(a["key"], a["agency"]): a for a in await scene.actions(event_id)}
    back = actions[(COUNTY_ON_SITE, K)]
    assert back["state"] == "pending" and back["acknowledged_at"] is None
    assert back["superseded_at"] is None
    assert actions[(CITY_ON_SITE, C)]["state"] == "superseded"
    # the grade stays 较大: 市经信委 keeps the investigation
    assert actions[(GROUP_CITY, E)]["state"] == "pending"
    assert actions[(GROUP_LOCAL, K)]["state"] == "superseded"


def at(value: str) -> datetime:
    return datetime.fromisoformat(value)


async def test_duties_handed_over_are_due_afresh(
    client: httpx.AsyncClient, make_token: MakeToken, context: AppContext, clock: Clock
) -> None:
    """A III led by the city, raised to II by the province two hours on: the lead's pending
    duties the province takes over are due their minutes from then, not escalated; lowered
    back to III later, the city gets them back due afresh again."""
    scene = Scene(client, make_token)
    await scene.tokens()
    clock.set(0)
    event_id = (await scene.report("one county", "III"))["event_id"]
    clock.set(120)
    # the city let it run past due: escalated
    chased = await escalate_overdue(
        context.sessions, context.playbooks.agencies, clock.now, timedelta(minutes=30)
    )
    assert chased
    actions = {(a["key"], a["agency"]): a for a in await scene.actions(event_id)}
    assert actions[("response.social.emergency-control", C)]["escalated_at"] is not None
    await scene.set_level(event_id, "II")
    actions = {(a["key"], a["agency"]): a for a in await scene.actions(event_id)}
    control = actions[("response.social.emergency-control", P)]
    assert at(control["due_at"]) == T0 + timedelta(minutes=120 + 60)
    assert control["escalated_at"] is None
    assert at(control["dispatched_at"]) == T0
    # the city's 5.4 submission to the province gave way to the province's own review
    assert actions[(SUBMIT, C)]["state"] == "superseded"
    assert actions[(PROVINCE_REVIEW, P)]["state"] == "pending"

    clock.set(300)
    await scene.set_level(event_id, "III")
    actions = {(a["key"], a["agency"]): a for a in await scene.actions(event_id)}
    control = actions[("response.social.emergency-control", C)]
    assert at(control["due_at"]) == T0 + timedelta(minutes=300 + 60)
    assert actions[(SUBMIT, C)]["state"] == "pending"
    assert at(actions[(SUBMIT, C)]["due_at"]) == T0 + timedelta(minutes=300 + 120)
    assert actions[(PROVINCE_REVIEW, P)]["state"] == "superseded"
