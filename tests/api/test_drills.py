"""Drills in the API (design § Drills): a drill event's
actions and timeline entries say ``drill``, and an agency's feed filters by it; a drill keeps its
own clock, moved on only by its own token, never backwards, and never a real event's; on SQLite
and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.helpers import MakeToken, county, event_actions, post, report

API = "/api/v1"
POLL = f"{API}/agencies/power-company/actions"
KEEPER = "drill: 演练时钟"  # as drill run names the token that keeps its clock


async def real_and_drill(client: httpx.AsyncClient, make_token: MakeToken) -> tuple[str, str]:
    """A real IV in 柯桥区 and a drill IV in 上虞区: their event ids."""
    dispatcher = await make_token("dispatcher")
    real = await post(client, dispatcher, report(county("330603", 151, 70)))
    drill = await post(client, dispatcher, report(county("330604", 180, 80), drill=True))
    return real["event_id"], drill["event_id"]


async def test_actions_and_timeline_say_whether_they_are_a_drill(
    client: httpx.AsyncClient, make_token: MakeToken
) -> None:
    real, drill = await real_and_drill(client, make_token)
    observer = await make_token("observer")
    power = await make_token("agency", agency="power-company")
    for event_id, expected in ((real, False), (drill, True)):
        for headers in (observer, power):
            actions = await event_actions(client, headers, event_id)
            assert actions and {a["drill"] for a in actions} == {expected}
            timeline = await client.get(f"{API}/events/{event_id}/timeline", headers=headers)
            entries = timeline.json()["items"]
            assert entries and {e["drill"] for e in entries} == {expected}
    # what an agency's own answer to its acknowledgement shows
    action = (await event_actions(client, power, drill))[0]
    ack = await client.post(f"{API}/actions/{action['id']}/ack", json={}, headers=power)
    assert ack.status_code == 200 and ack.json()["drill"] is True


async def test_an_agency_feed_filters_drills_and_keeps_its_etag_apart(
    client: httpx.AsyncClient, make_token: MakeToken
) -> None:
    real, drill = await real_and_drill(client, make_token)
    power = await make_token("agency", agency="power-company")
    answers = {}
    for flag in (None, "true", "false"):
        params = {} if flag is None else {"drill": flag}
        answer = await client.get(POLL, params=params, headers=power)
        assert answer.status_code == 200
        answers[flag] = answer
    events = {flag: {a["event_id"] for a in a.json()["items"]} for flag, a in answers.items()}
    assert events == {None: {real, drill}, "true": {drill}, "false": {real}}
    assert all(a["drill"] for a in answers["true"].json()["items"])
    tags = {flag: answer.headers["etag"] for flag, answer in answers.items()}
    assert len(set(tags.values())) == 3, "each filter has a tag of its own"
    # a tag answers 304 for its own filter only, until a change to the agency's actions
    again = {**power, "If-None-Match": tags["true"]}
    assert (await client.get(POLL, params={"drill": "true"}, headers=again)).status_code == 304
    assert (await client.get(POLL, params={"drill": "false"}, headers=again)).status_code == 200
    action = answers["true"].json()["items"][0]
    await client.post(f"{API}/actions/{action['id']}/ack", json={}, headers=power)
    moved = await client.get(POLL, params={"drill": "true"}, headers=again)
    assert moved.status_code == 200 and moved.headers["etag"] != tags["true"]
    refused = await client.get(POLL, params={"drill": "maybe"}, headers=power)
    assert refused.status_code == 422


async def move_clock(
    client: httpx.AsyncClient, headers: dict[str, str], event_id: str, at: datetime
) -> httpx.Response:
    body = {"at": at.isoformat()}
    return await client.post(f"{API}/events/{event_id}/drill-clock", json=body, headers=headers)


def refused_by_rule(answer: httpx.Response, status: int) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    problem: dict[str, Any] = answer.json()
    assert problem["rule"] == "design § Drills"
    return problem


async def test_a_drill_event_is_stamped_with_its_own_clock(
    client: httpx.AsyncClient, make_token: MakeToken
) -> None:
    """Three hours on, on the drill's clock: its acknowledgement, its report (observed then,
    far beyond the service's own time) and its timeline read that time; a real event's
    acknowledgement keeps the service's."""
    real, drill = await real_and_drill(client, make_token)
    keeper = await make_token("admin", name=KEEPER)
    opened = (await client.get(f"{API}/events/{drill}", headers=keeper)).json()
    assert opened["drill_clock"] == opened["opened_at"]
    later = datetime.fromisoformat(opened["drill_clock"]) + timedelta(hours=3)
    moved = await move_clock(client, keeper, drill, later)
    assert moved.status_code == 200, moved.text
    assert datetime.fromisoformat(moved.json()["drill_clock"]) == later

    power = await make_token("agency", agency="power-company")
    stamped: dict[str, datetime] = {}
    for event_id in (real, drill):
        action = (await event_actions(client, power, event_id))[0]
        ack = await client.post(f"{API}/actions/{action['id']}/ack", json={}, headers=power)
        stamped[event_id] = datetime.fromisoformat(ack.json()["acknowledged_at"])
    assert stamped[drill] == later
    assert abs(stamped[real] - datetime.now(UTC)) < timedelta(minutes=5)

    dispatcher = await make_token("dispatcher")
    body = {**report(county("330604", 180, 60), drill=True), "observed_at": later.isoformat()}
    await post(client, dispatcher, {**body, "event_id": drill})
    timeline = (await client.get(f"{API}/events/{drill}/timeline?limit=200", headers=keeper)).json()
    entries = timeline["items"]
    assert timeline["next"] is None
    assert entries[-1]["kind"] == "report"
    assert datetime.fromisoformat(entries[-1]["at"]) == later
    # the same time on a real event is too far in the future for a report
    refused = await client.post(
        f"{API}/reports", json={**body, "drill": False, "event_id": real}, headers=dispatcher
    )
    assert refused.status_code == 422 and "in the future" in refused.text


async def test_a_real_event_never_takes_a_clock_from_a_client(
    client: httpx.AsyncClient, make_token: MakeToken
) -> None:
    real, _drill = await real_and_drill(client, make_token)
    keeper = await make_token("admin", name=KEEPER)
    before = (await client.get(f"{API}/events/{real}", headers=keeper)).json()
    later = datetime.now(UTC) + timedelta(hours=3)
    problem = refused_by_rule(await move_clock(client, keeper, real, later), 409)
    assert "real event keeps the service's clock" in problem["detail"]
    after = (await client.get(f"{API}/events/{real}", headers=keeper)).json()
    assert after == before and after["drill_clock"] is None


@pytest.mark.parametrize(
    ("role", "name", "said", "rule"),
    [
        ("admin", "值班管理员", "only a token a drill made for itself", "design § Drills"),
        ("dispatcher", "drill: 调度", "role 'dispatcher' may not do this", "design § Roles"),
    ],
    ids=["admin-not-a-drills", "drill-dispatcher"],
)
async def test_only_the_drills_own_admin_token_moves_its_clock(
    client: httpx.AsyncClient, make_token: MakeToken, role: str, name: str, said: str, rule: str
) -> None:
    _real, drill = await real_and_drill(client, make_token)
    someone = await make_token(role, name=name)
    later = datetime.now(UTC) + timedelta(hours=3)
    answer = await move_clock(client, someone, drill, later)
    assert answer.status_code == 403 and said in answer.json()["detail"]
    assert answer.json()["rule"] == rule
    event = (await client.get(f"{API}/events/{drill}", headers=someone)).json()
    assert event["drill_clock"] == event["opened_at"]


async def test_a_drills_clock_never_runs_backwards(
    client: httpx.AsyncClient, make_token: MakeToken
) -> None:
    _real, drill = await real_and_drill(client, make_token)
    keeper = await make_token("admin", name=KEEPER)
    event = (await client.get(f"{API}/events/{drill}", headers=keeper)).json()
    opened = datetime.fromisoformat(event["drill_clock"])
    # before its own opening, then after a move, a moment before the clock: refused
    problem = refused_by_rule(
        await move_clock(client, keeper, drill, opened - timedelta(microseconds=1)), 409
    )
    assert "never runs backwards" in problem["detail"]
    later = opened + timedelta(minutes=90)
    assert (await move_clock(client, keeper, drill, later)).status_code == 200
    problem = refused_by_rule(
        await move_clock(client, keeper, drill, later - timedelta(minutes=1)), 409
    )
    assert datetime.fromisoformat(problem["clock"]) == later
    # standing still is not going back: several steps play at one minute
    assert (await move_clock(client, keeper, drill, later)).status_code == 200
    event = (await client.get(f"{API}/events/{drill}", headers=keeper)).json()
    assert datetime.fromisoformat(event["drill_clock"]) == later
