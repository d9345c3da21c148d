"""POST /actions/{id}/cancel (design § Actions: a commander of the leading HQ cancels an open
action, with a reason), on SQLite and PostgreSQL: who may, in which states, and what the agency
sees."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from tests.helpers import MakeToken, county, documented_operations, post, report

API = "/api/v1"
POLL = f"{API}/agencies/power-company/actions"
REASON = "线路已由用户自行恢复，无需抢修"


async def power_actions(
    client: httpx.AsyncClient, make_token: MakeToken, lost: int
) -> tuple[str, list[dict[str, Any]]]:
    """A report of 柯桥区 (200 MW) losing ``lost`` MW: 90 is IV, led by 柯桥区's own HQ; 130 is
    III, led by the city HQ. The event and power-company's actions in it."""
    dispatcher = await make_token("dispatcher")
    event_id = (await post(client, dispatcher, report(county("330603", 200, lost))))["event_id"]
    power = await make_token("agency", agency="power-company")
    items = (await client.get(POLL, headers=power)).json()["items"]
    assert len(items) >= 2
    return event_id, items


async def cancel(
    client: httpx.AsyncClient, headers: dict[str, str], action_id: str, body: Any
) -> httpx.Response:
    return await client.post(f"{API}/actions/{action_id}/cancel", json=body, headers=headers)


async def action_state(
    client: httpx.AsyncClient, make_token: MakeToken, event_id: str, action_id: str
) -> dict[str, Any]:
    observer = await make_token("observer")
    items = (await client.get(f"{API}/events/{event_id}/actions", headers=observer)).json()
    found: dict[str, Any] = next(a for a in items["items"] if a["id"] == action_id)
    return found


async def cancellations(
    client: httpx.AsyncClient, make_token: MakeToken, event_id: str
) -> list[dict[str, Any]]:
    observer = await make_token("observer")
    timeline = await client.get(f"{API}/events/{event_id}/timeline?limit=200", headers=observer)
    return [e for e in timeline.json()["items"] if e["kind"] == "action_cancelled"]


@pytest.mark.parametrize("start", ["pending", "acknowledged"])
@pytest.mark.parametrize(
    "hq", ["330603", "330600", "330000"], ids=["leading-county", "city", "province"]
)
async def test_the_leading_hq_or_one_above_cancels_an_open_action(
    client: httpx.AsyncClient, make_token: MakeToken, start: str, hq: str
) -> None:
    event_id, items = await power_actions(client, make_token, lost=90)
    power = await make_token("agency", agency="power-company")
    action = items[0]
    if start == "acknowledged":
        acked = await client.post(f"{API}/actions/{action['id']}/ack", json={}, headers=power)
        assert acked.json()["state"] == "acknowledged"
    tag = (await client.get(POLL, headers=power)).headers["etag"]
    commander = await make_token("commander", name="指挥长", region=hq)

    response = await cancel(client, commander, action["id"], {"reason": REASON})

    assert response.status_code == 200, response.text
    cancelled = response.json()
    assert (cancelled["id"], cancelled["state"]) == (action["id"], "cancelled")
    assert cancelled["cancel_reason"] == REASON and cancelled["cancelled_at"]
    assert cancelled["completed_at"] is None
    assert await action_state(client, make_token, event_id, action["id"]) == cancelled
    [entry] = await cancellations(client, make_token, event_id)
    assert entry["data"]["reason"] == REASON and entry["data"]["action_id"] == action["id"]
    assert REASON in entry["summary"] and entry["actor"] == f"commander:指挥长@{hq}"
    # the agency's poll sees the change: its tag moves, and the action reads cancelled
    poll = await client.get(POLL, headers={**power, "If-None-Match": tag})
    assert poll.status_code == 200 and poll.headers["etag"] != tag
    seen = {a["id"]: a for a in poll.json()["items"]}
    assert seen[action["id"]]["state"] == "cancelled"
    assert seen[action["id"]]["cancel_reason"] == REASON
    assert seen[items[1]["id"]]["state"] == "pending"  # only the one cancelled


async def test_a_cancelled_action_can_no_longer_be_acknowledged_or_completed(
    client: httpx.AsyncClient, make_token: MakeToken
) -> None:
    event_id, items = await power_actions(client, make_token, lost=90)
    keqiao = await make_token("commander", region="330603")
    power = await make_token("agency", agency="power-company")
    action_id = items[0]["id"]
    assert (await cancel(client, keqiao, action_id, {"reason": REASON})).status_code == 200

    for verb in ("ack", "complete"):
        refused = await client.post(
            f"{API}/actions/{action_id}/{verb}", json={"note": "已到场"}, headers=power
        )
        assert refused.status_code == 409, (verb, refused.text)
        assert refused.headers["content-type"] == "application/problem+json"
        assert refused.json()["state"] == "cancelled"
        assert REASON in refused.json()["detail"]
    after = await action_state(client, make_token, event_id, action_id)
    assert (after["state"], after["note"], after["acknowledged_at"]) == ("cancelled", None, None)


@pytest.mark.parametrize(
    ("lost", "hq"),
    [(90, "330604"), (90, "330683"), (130, "330603")],
    ids=["another-county", "a-third-county", "a-county-below-the-city-lead"],
)
async def test_a_commander_neither_leading_nor_above_is_refused(
    client: httpx.AsyncClient, make_token: MakeToken, lost: int, hq: str
) -> None:
    """At IV 柯桥区's HQ leads: another county's commander may not cancel. At III the city HQ
    leads: 柯桥区's own HQ, lower than the leading one, may not either."""
    event_id, items = await power_actions(client, make_token, lost=lost)
    commander = await make_token("commander", region=hq)

    refused = await cancel(client, commander, items[0]["id"], {"reason": REASON})

    assert refused.status_code == 403, refused.text
    assert refused.json()["leading_hq"] == ("330603" if lost == 90 else "330600")
    assert (await action_state(client, make_token, event_id, items[0]["id"]))["state"] == "pending"
    assert await cancellations(client, make_token, event_id) == []


async def test_a_done_action_is_not_cancelled(
    client: httpx.AsyncClient, make_token: MakeToken
) -> None:
    event_id, items = await power_actions(client, make_token, lost=90)
    power = await make_token("agency", agency="power-company")
    city = await make_token("commander", region="330600")
    action_id = items[0]["id"]
    await client.post(f"{API}/actions/{action_id}/complete", json={}, headers=power)

    refused = await cancel(client, city, action_id, {"reason": REASON})

    assert refused.status_code == 409, refused.text
    assert refused.json()["state"] == "done"
    after = await action_state(client, make_token, event_id, action_id)
    assert (after["state"], after["cancel_reason"], after["cancelled_at"]) == ("done", None, None)
    assert await cancellations(client, make_token, event_id) == []


async def test_cancelling_twice_is_harmless(
    client: httpx.AsyncClient, make_token: MakeToken
) -> None:
    event_id, items = await power_actions(client, make_token, lost=90)
    keqiao = await make_token("commander", region="330603")
    city = await make_token("commander", region="330600")
    power = await make_token("agency", agency="power-company")
    action_id = items[0]["id"]
    first = await cancel(client, keqiao, action_id, {"reason": REASON})
    tag = (await client.get(POLL, headers=power)).headers["etag"]

    again = await cancel(client, city, action_id, {"reason": "另一个理由"})

    assert again.status_code == 200, again.text
    assert again.json() == first.json()  # the first reason and time stand
    assert len(await cancellations(client, make_token, event_id)) == 1
    unchanged = await client.get(POLL, headers={**power, "If-None-Match": tag})
    assert unchanged.status_code == 304


async def test_an_unknown_action_is_404(client: httpx.AsyncClient, make_token: MakeToken) -> None:
    city = await make_token("commander", region="330600")

    missing = await cancel(client, city, str(uuid.uuid4()), {"reason": REASON})

    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize(
    ("role", "scope"),
    [
        ("dispatcher", {}),
        ("dispatcher", {"region": "330603"}),
        ("observer", {}),
        ("admin", {}),
        ("agency", {"agency": "power-company"}),
        ("agency", {"agency": "hq-330603"}),
    ],
    ids=["dispatcher", "keqiao-dispatcher", "observer", "admin", "power-company", "keqiao-hq"],
)
async def test_only_commanders_cancel(
    client: httpx.AsyncClient, make_token: MakeToken, role: str, scope: dict[str, str]
) -> None:
    event_id, items = await power_actions(client, make_token, lost=90)
    headers = await make_token(role, **scope)

    for action_id in (items[0]["id"], str(uuid.uuid4())):  # the role decides before the action
        refused = await cancel(client, headers, action_id, {"reason": REASON})
        assert refused.status_code == 403, refused.text
    assert (await action_state(client, make_token, event_id, items[0]["id"]))["state"] == "pending"


@pytest.mark.parametrize(
    "body",
    [{}, {"reason": ""}, {"reason": None}, {"note": REASON}],
    ids=["missing", "empty", "null", "note-instead"],
)
async def test_a_cancel_without_a_reason_is_422_naming_it(
    client: httpx.AsyncClient, make_token: MakeToken, body: dict[str, Any]
) -> None:
    event_id, items = await power_actions(client, make_token, lost=90)
    keqiao = await make_token("commander", region="330603")

    refused = await cancel(client, keqiao, items[0]["id"], body)

    assert refused.status_code == 422, refused.text
    assert "reason" in [e["field"] for e in refused.json()["errors"]]
    assert (await action_state(client, make_token, event_id, items[0]["id"]))["state"] == "pending"


def test_the_docs_name_and_explain_every_actions_operation() -> None:
    assert sorted(documented_operations("actions")) == [
        "acknowledge_action",
        "cancel_action",
        "complete_action",
        "list_event_actions",
        "poll_agency_actions",
        "read_action",
        "record_action_approval",
    ]
