"""Drills in the API (design § Drills): a drill event's
actions and timeline entries say ``drill``, and an agency's feed filters by it, on SQLite and
PostgreSQL."""

from __future__ import annotations

import httpx

from tests.helpers import MakeToken, county, event_actions, post, report

API = "/api/v1"
POLL = f"{API}/agencies/power-company/actions"


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
