"""Who gets which duty at which moment, for each level and each place an outage may hit: one
county, two counties, the city grid, the province grid (issue 10: the plan, clause by clause).

The tables below are written from the plan, not from the playbooks: an HQ's duties at the start
of the response (plan 2.2–2.5, 5.2.2–5.4), the links of plan 4's reports as each one done sets the
next going, and plan 6 at the end. The events are made through the API (a report, and for the
levels a place cannot reach by itself a province commander's setting), on SQLite and PostgreSQL.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.helpers import MEMBER_UNITS, MakeToken, county, event_actions, post, report

API = "/api/v1"
LEVELS = ["I", "II", "III", "IV"]
K, S, C, P = "hq-330603", "hq-330604", "hq-city", "hq-province"  # 柯桥区, 上虞区, city, province
E, D = "economy-it", "provincial-drc"  # 市经信委, 省发改委

# --- how each place reaches each level (plan 1.5) -----------------------------------------------
CITY = {"scope": "city", "region": "330600", "load_mw": 1000}
PROVINCE = {"scope": "province", "region": "330000", "load_mw": 50000}
# the snapshots of one report at each level a place reaches alone; a level it cannot reach by
# itself is set by the province HQ's commander after the report of the highest it can
REACHED: dict[str, dict[str, list[dict[str, Any]]]] = {
    "one county": {
        "IV": [county("330603", 200, 90)],
        "III": [county("330603", 200, 130)],
    },
    "two counties": {
        "IV": [county("330603", 200, 90), county("330604", 200, 90)],
        "III": [county("330603", 200, 130), county("330604", 200, 130)],
    },
    "city grid": {
        "IV": [{**CITY, "load_lost_mw": 300}],
        "III": [{**CITY, "load_lost_mw": 500}],
        "II": [{**CITY, "load_lost_mw": 700}],
    },
    "province grid": {
        "IV": [{**PROVINCE, "load_lost_mw": 3000}],
        "III": [{**PROVINCE, "load_lost_mw": 5500}],
        "II": [{**PROVINCE, "load_lost_mw": 7500}],
        "I": [{**PROVINCE, "load_lost_mw": 16000}],
    },
}
PLACES = list(REACHED)
COUNTIES = {"one county": [K], "two counties": [K, S], "city grid": [], "province grid": []}

# --- the HQs' duties when the response starts -----------------------------------------------------
# plan 5.2.3's HQ duties (III and IV: the HQ that leads), 2.5, 5.3, 5.4
LEAD_III_IV = {
    "response.leading-hq.consultation",
    "response.leading-hq.working-group",
    "response.leading-hq.coordinate-requests",
    "response.leading-hq.information-release",
    "response.social.emergency-control",
    "response.social.mobilise-society",
    "response.social.requisition",
    "response.release.review-and-publish",
    "response.release.verify-news",
    "response.release.submit-major-to-province",
}
# I and II: the province HQ leads (2.5, 5.3, 5.4) and reviews major news itself (5.4) …
PROVINCE_I_II = {
    "response.social.emergency-control",
    "response.social.mobilise-society",
    "response.social.requisition",
    "response.release.review-and-publish",
    "response.release.verify-news",
    "response.release.province-review-major",
}
# … and the city HQ responds under it (5.2.2)
CITY_I_II = {
    "response.hq-city.organise-rescue",
    "response.hq-city.on-site-hq-premises",
    "response.hq-city.rescuer-logistics",
    "response.hq-city.casualty-families",
}
CITY_ON_SITE = {"response.hq-city.on-site-hq"}  # 2.3 较大: the city HQ
COUNTY = {"response.county-hq.command"}  # 2.2: each county hit
COUNTY_ON_SITE = {"response.county-hq.on-site-hq"}  # 2.3 一般: each county hit
COOPERATION = {"response.county-hq.cross-region-cooperation"}  # 2.2: several counties hit
GROUP_CITY = {"post-event.economy-it.investigation-group"}  # 6.2, I–III: 市经信委
GROUP_LOCAL = {"post-event.local-power-authority.investigation-group"}  # 6.2, IV: 事发地

# 2.5: each HQ that commands sets up its expert group (the lead, the city under the province,
# each county hit); 2.1: the city HQ, whenever it stands, records the government's consent
EXPERTS = {"response.commanding-hq.expert-group"}
FORMED = {"response.hq-city.formation"}

# What the city keeps of its III duties under the province: its 5.2.3 HQ duties, but not the
# submission of major news to the province (which now reviews it itself, 5.4) nor its own on-site
# HQ (it arranges the premises instead, 5.2.2): those two are superseded.
FROM_III = LEAD_III_IV - PROVINCE_I_II - {"response.release.submit-major-to-province"}

HQ_DUTIES_AT_START: dict[tuple[str, str], dict[str, set[str]]] = {
    ("IV", "one county"): {K: LEAD_III_IV | COUNTY | COUNTY_ON_SITE | GROUP_LOCAL | EXPERTS},
    ("IV", "two counties"): {
        C: LEAD_III_IV | EXPERTS | FORMED,
        K: COUNTY | COUNTY_ON_SITE | COOPERATION | GROUP_LOCAL | EXPERTS,
        S: COUNTY | COUNTY_ON_SITE | COOPERATION | GROUP_LOCAL | EXPERTS,
    },
    ("IV", "city grid"): {C: LEAD_III_IV | EXPERTS | FORMED},
    ("IV", "province grid"): {C: LEAD_III_IV | EXPERTS | FORMED},
    ("III", "one county"): {C: LEAD_III_IV | CITY_ON_SITE | EXPERTS | FORMED, K: COUNTY | EXPERTS},
    ("III", "two counties"): {
        C: LEAD_III_IV | CITY_ON_SITE | EXPERTS | FORMED,
        K: COUNTY | COOPERATION | EXPERTS,
        S: COUNTY | COOPERATION | EXPERTS,
    },
    ("III", "city grid"): {C: LEAD_III_IV | CITY_ON_SITE | EXPERTS | FORMED},
    ("III", "province grid"): {C: LEAD_III_IV | CITY_ON_SITE | EXPERTS | FORMED},
    # County grids reach III at most: the province HQ raises the response from there. A rise
    # cancels nothing: the city HQ keeps the III duties of its own but those whose job the new
    # level gives another (design § Dispatch), and hands the province the lead's duties the new
    # level shares (plan 5.2.2: the city responds under the province).
    **{
        (level, "one county"): {
            P: PROVINCE_I_II | EXPERTS,
            C: CITY_I_II | FROM_III | EXPERTS | FORMED,
            K: COUNTY | EXPERTS,
        }
        for level in ("I", "II")
    },
    **{
        (level, "two counties"): {
            P: PROVINCE_I_II | EXPERTS,
            C: CITY_I_II | FROM_III | EXPERTS | FORMED,
            K: COUNTY | COOPERATION | EXPERTS,
            S: COUNTY | COOPERATION | EXPERTS,
        }
        for level in ("I", "II")
    },
    **{
        (level, place): {P: PROVINCE_I_II | EXPERTS, C: CITY_I_II | EXPERTS | FORMED}
        for level in ("I", "II")
        for place in ("city grid", "province grid")
    },
}
# 市经信委's own 6.2 group at I–III, or at IV as the 事发地 authority when no county is named
CITY_AUTHORITY_AT_START = {
    (level, place): GROUP_CITY if level != "IV" else (GROUP_LOCAL if not COUNTIES[place] else set())
    for level in LEVELS
    for place in PLACES
}

# --- plan 4: the reports, link by link --------------------------------------------------------
# Each wave: what goes out once every report link of the wave before is done.
POWER = "reporting.power-company.report-local-authority"
VERIFY = "reporting.local-power-authority.verify"
COUNTY_UP = "reporting.county-hq.report-major"
CITY_UP = "reporting.economy-it.report-city-government-and-provincial-drc"
GENERAL = "reporting.local-power-authority.report-general"


def chain(level: str, place: str) -> list[set[tuple[str, str]]]:
    counties = COUNTIES[place]
    local = counties or [E]  # 事发地电力运行主管部门: each county hit's, or 市经信委's
    waves: list[set[tuple[str, str]]] = [
        {(POWER, "power-company")},  # 电力企业 → 受影响区域电力运行主管部门
        {(VERIFY, unit) for unit in local},  # 立即进行核实，作出初步认定
    ]
    if level != "IV":  # 初判为较大以上
        if counties:  # the county's authority → 市经信委 and its government
            waves.append({(COUNTY_UP, unit) for unit in counties})
        waves.append({(CITY_UP, E)})  # 市经信委 → 市政府 and 省发改委, who acknowledge
        waves.append({("reporting.hq-city.receive-major-report", C)})
        waves[-1].add(("reporting.provincial-drc.receive-major-report", D))
        return waves
    waves.append(
        {(GENERAL, unit) for unit in local}
    )  # 一般: to the upper authority, its government
    if counties:  # 市经信委 receives the counties' reports
        waves.append({("reporting.economy-it.receive-general-report", E)})
    else:  # 省发改委 and 市政府 receive 市经信委's
        waves.append(
            {
                ("reporting.provincial-drc.receive-general-report", D),
                ("reporting.hq-city.receive-general-report", C),
            }
        )
    return waves


# --- plan 6: at the end ---------------------------------------------------------------------
def at_the_end(level: str, place: str) -> set[tuple[str, str]]:
    """The plan 6 duties termination sends (6.2's group went out with the start)."""
    governments = COUNTIES[place] or [C]  # 6.3 所在地政府: each county hit, else the city's
    end = {
        (f"post-event.local-government.{duty}", government)
        for duty in ("aftermath-plan", "compensation", "insurance-claims")
        for government in governments
    }
    end.add(("post-event.emergency-office.investigation-evaluation", "emergency-office"))
    end.add(("post-event.emergency-office.plan-implementation", "emergency-office"))
    end.add(("post-event.emergency-office.command-platform", "emergency-office"))
    if level == "IV":  # 6.1 and 6.2 by the 事发地 authority
        for unit in COUNTIES[place] or [E]:
            end.add(("post-event.local-power-authority.evaluation", unit))
            end.add(("post-event.local-power-authority.investigation-report", unit))
    else:
        end.add(("post-event.economy-it.evaluation", E))
        end.add(("post-event.economy-it.investigation-report", E))
    return end


# --- driving the API ----------------------------------------------------------------------------
def reached_alone(level: str, place: str) -> str:
    """``level``, or the highest level below it that ``place`` reaches by a report alone."""
    return level if level in REACHED[place] else min(REACHED[place], key=LEVELS.index)


async def start(
    client: httpx.AsyncClient, make_token: MakeToken, level: str, place: str
) -> tuple[str, dict[str, dict[str, str]]]:
    """An event of ``place`` in response at ``level``; the tokens used."""
    tokens = {
        "dispatcher": await make_token("dispatcher"),
        "province": await make_token("commander", region="330000"),
        "observer": await make_token("observer"),
    }
    reached = reached_alone(level, place)
    answer = await post(client, tokens["dispatcher"], report(*REACHED[place][reached]))
    assert answer["response_level"] == reached
    if reached != level:
        set_level = await client.post(
            f"{API}/events/{answer['event_id']}/level",
            json={"level": level, "reason": "省应急指挥部决定"},
            headers=tokens["province"],
        )
        assert set_level.status_code == 200, set_level.text
    return answer["event_id"], tokens


TABLE = [(level, place) for level in LEVELS for place in PLACES]


@pytest.mark.parametrize(("level", "place"), TABLE)
async def test_who_gets_what_when_the_response_starts(
    client: httpx.AsyncClient, make_token: MakeToken, level: str, place: str
) -> None:
    event_id, tokens = await start(client, make_token, level, place)
    actions = [
        a
        for a in await event_actions(client, tokens["observer"], event_id)
        if a["state"] not in ("cancelled", "superseded")
    ]
    by_agency: dict[str, set[str]] = {}
    for action in actions:
        by_agency.setdefault(action["agency"], set()).add(action["key"])

    hqs = {agency: keys for agency, keys in by_agency.items() if agency.startswith("hq-")}
    assert hqs == HQ_DUTIES_AT_START[(level, place)]
    city_authority = {k for k in by_agency.get(E, set()) if not k.startswith("response.")}
    assert city_authority == CITY_AUTHORITY_AT_START[(level, place)]
    # every member unit has its 5.2.3 duties at every level (plan 5.2.3, 5.2.2 动员部署)
    assert set(MEMBER_UNITS) <= set(by_agency)
    # of plan 4's reports only the first goes out with the start: the rest wait for it
    assert {(a["key"], a["agency"]) for a in actions if a["key"].startswith("reporting.")} == {
        (POWER, "power-company")
    }


@pytest.mark.parametrize(("level", "place"), TABLE)
async def test_each_report_goes_out_when_the_one_before_is_done(
    client: httpx.AsyncClient, make_token: MakeToken, level: str, place: str
) -> None:
    event_id, tokens = await start(client, make_token, level, place)
    seen: set[tuple[str, str]] = set()
    for wave in chain(level, place):
        now = {
            (a["key"], a["agency"]): a
            for a in await event_actions(client, tokens["observer"], event_id)
            if a["key"].startswith("reporting.")
        }
        assert set(now) - seen == wave
        assert all(now[pair]["state"] == "pending" for pair in wave)
        seen |= wave
        for key, agency in sorted(wave):
            unit = await make_token("agency", agency=agency)
            done = await client.post(
                f"{API}/actions/{now[(key, agency)]['id']}/complete", json={}, headers=unit
            )
            assert done.status_code == 200, done.text
    after = {
        (a["key"], a["agency"])
        for a in await event_actions(client, tokens["observer"], event_id)
        if a["key"].startswith("reporting.")
    }
    assert after == seen


@pytest.mark.parametrize(("level", "place"), TABLE)
async def test_what_the_end_of_the_response_sends(
    client: httpx.AsyncClient, make_token: MakeToken, level: str, place: str
) -> None:
    event_id, tokens = await start(client, make_token, level, place)
    # everything back, 越城区 reported (plan 5.5 重点地区) as having lost nothing
    restored = [
        {**s, "load_lost_mw": 0} for s in REACHED[place][min(REACHED[place], key=LEVELS.index)]
    ]
    back = report(*restored, county("330602", 100, 0), minutes=60) | {"event_id": event_id}
    await post(client, tokens["dispatcher"], back)
    for condition in ("grid_stable", "hazard_removed", "secondary_handled"):
        attested = await client.post(
            f"{API}/events/{event_id}/attestations",
            json={"condition": condition, "evidence": "核实"},
            headers=tokens["province"],
        )
        assert attested.status_code == 201, attested.text
    before = {
        (a["key"], a["agency"]) for a in await event_actions(client, tokens["observer"], event_id)
    }
    ended = await client.post(
        f"{API}/events/{event_id}/terminate", json={}, headers=tokens["province"]
    )
    assert ended.status_code == 200, ended.text
    actions = await event_actions(client, tokens["observer"], event_id)
    sent = {(a["key"], a["agency"]) for a in actions if a["phase"] == "post_event"} - before
    assert sent == at_the_end(level, place)
    # plan 6.2's group, set up at the start, goes on; the response's own duties end
    groups = [a for a in actions if a["key"].endswith("investigation-group")]
    assert groups and all(a["state"] == "pending" for a in groups)
    ended = ("done", "cancelled", "superseded")
    assert all(a["state"] in ended for a in actions if a["phase"] == "response")
