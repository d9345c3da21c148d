"""Plan 5.3's emergency control (报经当地政府批准，对重点地区和重点部位实施紧急控制) through HTTP,
on SQLite and PostgreSQL: its action says it requires an approval, cannot be completed until a
government's approval is recorded on it, and then shows the approval; the approval is on the
timeline, for the HQ holding the duty too. Who records it, and what it may name.

The event, in minutes after T0 (the clock held there): 柯桥区 (330603, 100 MW) loses 45 MW at 0,
a level IV response led by 柯桥区's own HQ (hq-330603), which holds the emergency control.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest

from tests.helpers import T0, Clock, MakeToken, county, post, problem, report

API = "/api/v1"
KEQIAO, SHANGYU, CITY = "330603", "330604", "330600"
CONTROL = "response.social.emergency-control"
APPROVAL = {
    "government": KEQIAO,
    "approver": "柯桥区人民政府 王副区长",
    "approved_at": (T0 + timedelta(minutes=20)).isoformat(),
    "reference": "柯政办电〔2026〕12号",
}


async def keqiao_event(
    client: httpx.AsyncClient, make_token: MakeToken, clock: Clock
) -> tuple[str, dict[str, dict[str, str]], dict[str, Any]]:
    """The module's event at minute 30; its id, the tokens, and the emergency control's action."""
    tokens = {
        "dispatcher": await make_token("dispatcher", "城调 值班"),
        "hq": await make_token("agency", "柯桥区指挥部 值班", agency="hq-330603"),
        "keqiao": await make_token("commander", "柯桥区指挥部 指挥长", region=KEQIAO),
        "shangyu": await make_token("commander", "上虞区指挥部 指挥长", region=SHANGYU),
        "city": await make_token("commander", "市指挥部 指挥长", region=CITY),
        "police": await make_token("agency", "市公安局 值班", agency="public-security"),
        "observer": await make_token("observer"),
    }
    clock.set(0)
    event_id = (await post(client, tokens["dispatcher"], report(county(KEQIAO, 100, 45))))[
        "event_id"
    ]
    clock.set(30)
    listed = await client.get(f"{API}/events/{event_id}/actions", headers=tokens["hq"])
    control = next(a for a in listed.json()["items"] if a["key"] == CONTROL)
    return event_id, tokens, control


async def approve(
    client: httpx.AsyncClient, headers: dict[str, str], action_id: str, **change: Any
) -> httpx.Response:
    body = {**APPROVAL, **change}
    return await client.post(f"{API}/actions/{action_id}/approval", json=body, headers=headers)


async def complete(
    client: httpx.AsyncClient, headers: dict[str, str], action_id: str
) -> httpx.Response:
    return await client.post(f"{API}/actions/{action_id}/complete", json={}, headers=headers)


async def test_the_emergency_control_waits_for_the_governments_approval(
    client: httpx.AsyncClient, make_token: MakeToken, clock: Clock
) -> None:
    _event_id, tokens, control = await keqiao_event(client, make_token, clock)
    assert (control["agency"], control["requires"], control["approval"]) == (
        "hq-330603",
        "approval",
        None,
    )

    refused = problem(await complete(client, tokens["hq"], control["id"]), 409)
    assert "plan 5.3" in refused["rule"] and refused["requires"] == "approval"
    assert (await client.get(f"{API}/actions/{control['id']}", headers=tokens["hq"])).json()[
        "state"
    ] == "pending"

    recorded = await approve(client, tokens["hq"], control["id"])
    assert recorded.status_code == 200, recorded.text
    approval = recorded.json()["approval"]
    assert {k: approval[k] for k in ("government", "approver", "reference")} == {
        k: APPROVAL[k] for k in ("government", "approver", "reference")
    }
    assert approval["approved_at"].startswith("2026-07-20T06:20:00")
    assert approval["recorded_by"] == "agency:柯桥区指挥部 值班@hq-330603"
    assert approval["recorded_at"].startswith("2026-07-20T06:30:00")

    done = await complete(client, tokens["hq"], control["id"])
    assert done.status_code == 200, done.text
    assert done.json()["state"] == "done" and done.json()["approval"] == approval
    read = await client.get(f"{API}/actions/{control['id']}", headers=tokens["observer"])
    assert read.json()["approval"] == approval and read.json()["requisitions"] is None


async def test_the_approval_is_on_the_timeline_for_the_hq_that_asked(
    client: httpx.AsyncClient, make_token: MakeToken, clock: Clock
) -> None:
    event_id, tokens, control = await keqiao_event(client, make_token, clock)
    assert (await approve(client, tokens["keqiao"], control["id"])).status_code == 200

    for viewer in ("observer", "hq"):
        entries = (
            await client.get(f"{API}/events/{event_id}/timeline?limit=200", headers=tokens[viewer])
        ).json()["items"]
        [entry] = [e for e in entries if e["kind"] == "action_approved"]
        assert entry["clause"] == "5.3" and entry["data"]["action_id"] == control["id"]
        assert entry["text"] == (
            "柯桥区人民政府于2026-07-20 14:20批准柯桥区应急指挥部的任务："
            "报经当地政府批准，对重点地区和重点部位实施紧急控制"
            "（批准人：柯桥区人民政府 王副区长；批准文号：柯政办电〔2026〕12号）"
        )
    police_view = await client.get(
        f"{API}/events/{event_id}/timeline?limit=200", headers=tokens["police"]
    )
    assert "action_approved" not in {e["kind"] for e in police_view.json()["items"]}


async def test_who_records_the_approval(
    client: httpx.AsyncClient, make_token: MakeToken, clock: Clock
) -> None:
    _event_id, tokens, control = await keqiao_event(client, make_token, clock)

    assert problem(await approve(client, tokens["police"], control["id"]), 404)
    assert (
        "Roles" in problem(await approve(client, tokens["dispatcher"], control["id"]), 403)["rule"]
    )
    # 上虞区's HQ is not above 柯桥区's, which leads
    assert (
        "plan 5.3" in problem(await approve(client, tokens["shangyu"], control["id"]), 403)["rule"]
    )
    # the city's commander is above it
    assert (await approve(client, tokens["city"], control["id"])).status_code == 200
    again = problem(await approve(client, tokens["hq"], control["id"]), 409)
    assert "柯政办电〔2026〕12号" in again["detail"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"government": SHANGYU}, "government"),  # a neighbour's government
        ({"government": "330100"}, "government"),  # no grid of regions.yaml
        ({"approved_at": (T0 + timedelta(minutes=60)).isoformat()}, "approved_at"),  # future
        ({"approved_at": (T0 - timedelta(minutes=1)).isoformat()}, "approved_at"),  # too early
        ({"reference": ""}, "reference"),
        ({"approver": "  "}, "approver"),
        ({"approved_at": "2026-07-20T14:20:00"}, "approved_at"),  # no zone
    ],
)
async def test_an_approval_that_does_not_fit_is_422_naming_the_field(
    client: httpx.AsyncClient,
    make_token: MakeToken,
    clock: Clock,
    change: dict[str, Any],
    field: str,
) -> None:
    _event_id, tokens, control = await keqiao_event(client, make_token, clock)

    refused = problem(await approve(client, tokens["hq"], control["id"], **change), 422)

    assert field in [e["field"] for e in refused["errors"]], refused
    shown = await client.get(f"{API}/actions/{control['id']}", headers=tokens["hq"])
    assert shown.json()["approval"] is None


@pytest.mark.parametrize("government", [KEQIAO, CITY, "330000"])
async def test_the_hqs_own_government_or_one_above_approves(
    client: httpx.AsyncClient, make_token: MakeToken, clock: Clock, government: str
) -> None:
    _event_id, tokens, control = await keqiao_event(client, make_token, clock)

    answer = await approve(client, tokens["hq"], control["id"], government=government)

    assert answer.status_code == 200, answer.text
    assert answer.json()["approval"]["government"] == government


async def test_a_duty_that_needs_no_approval_and_a_closed_one_take_none(
    client: httpx.AsyncClient, make_token: MakeToken, clock: Clock
) -> None:
    event_id, tokens, control = await keqiao_event(client, make_token, clock)
    listed = await client.get(f"{API}/events/{event_id}/actions", headers=tokens["hq"])
    other = next(a for a in listed.json()["items"] if a["key"] != CONTROL)
    assert other["requires"] is None

    assert "plan 5.3" in problem(await approve(client, tokens["hq"], other["id"]), 409)["rule"]
    # its completion asks for nothing
    assert (await complete(client, tokens["hq"], other["id"])).status_code == 200

    cancelled = await client.post(
        f"{API}/actions/{control['id']}/cancel", json={"reason": "无需管控"}, headers=tokens["city"]
    )
    assert cancelled.status_code == 200, cancelled.text
    assert problem(await approve(client, tokens["hq"], control["id"]), 409)["state"] == "cancelled"
