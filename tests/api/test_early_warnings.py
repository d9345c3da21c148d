"""Warnings (plan 3.2.2) beyond the scenario: drills, CAP, refusals."""

from __future__ import annotations

from typing import Any
from xml.etree import ElementTree as ET

import httpx

from tests.helpers import MakeToken

CAP = "{urn:oasis:names:tc:emergency:cap:1.2}"


def warning(**extra: Any) -> dict[str, Any]:
    return {"area": ["330683"], "headline": "冰冻", "description": "线路覆冰", **extra}


async def test_a_drill_warning_is_an_exercise(
    client: httpx.AsyncClient, make_token: MakeToken
) -> None:
    dispatcher = await make_token("dispatcher")
    proposed = (
        await client.post("/api/v1/warnings", json=warning(drill=True), headers=dispatcher)
    ).json()
    event = (await client.get(f"/api/v1/events/{proposed['event_id']}", headers=dispatcher)).json()
    assert event["drill"] is True and event["state"] == "monitoring"
    cap = ET.fromstring(
        (await client.get(f"/api/v1/warnings/{proposed['id']}/cap", headers=dispatcher)).content
    )
    assert cap.findtext(f"{CAP}status") == "Exercise"
    assert cap.findtext(f"{CAP}msgType") == "Alert"
    assert cap.findtext(f"{CAP}info/{CAP}area/{CAP}geocode/{CAP}value") == "330683"
    mismatch = await client.post(
        f"/api/v1/events/{proposed['event_id']}/warnings",
        json=warning(drill=False),
        headers=dispatcher,
    )
    assert mismatch.status_code == 422 and mismatch.json()["errors"][0]["field"] == "drill"


async def test_warning_refusals(client: httpx.AsyncClient, make_token: MakeToken) -> None:
    dispatcher = await make_token("dispatcher")
    shengzhou = await make_token("commander", region="330683")
    keqiao = await make_token("commander", region="330603")
    unknown = await client.post(
        "/api/v1/warnings", json=warning(area=["330699"]), headers=dispatcher
    )
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "area[0]"
    twice = await client.post(
        "/api/v1/warnings", json=warning(area=["330683", "330683"]), headers=dispatcher
    )
    assert twice.status_code == 422
    backwards = warning(onset="2026-07-20T10:00:00+08:00", expires="2026-07-20T09:00:00+08:00")
    assert (
        await client.post("/api/v1/warnings", json=backwards, headers=dispatcher)
    ).status_code == 422
    assert (
        await client.post("/api/v1/warnings", json=warning(), headers=keqiao)
    ).status_code == 403
    proposed = (await client.post("/api/v1/warnings", json=warning(), headers=dispatcher)).json()
    wid = proposed["id"]
    # lifting what was never published is a state refusal; publishing outside one's area a 403
    assert (
        await client.post(f"/api/v1/warnings/{wid}/lift", json={}, headers=shengzhou)
    ).status_code == 409
    assert (
        await client.post(f"/api/v1/warnings/{wid}/publish", json={}, headers=keqiao)
    ).status_code == 403
    published = await client.post(f"/api/v1/warnings/{wid}/publish", json={}, headers=shengzhou)
    assert published.status_code == 200
    again = await client.post(f"/api/v1/warnings/{wid}/publish", json={}, headers=shengzhou)
    assert again.status_code == 409
    lifted = await client.post(
        f"/api/v1/warnings/{wid}/lift", json={"reason": "解除"}, headers=shengzhou
    )
    assert lifted.json()["state"] == "lifted"
    cap = ET.fromstring(
        (await client.get(f"/api/v1/warnings/{wid}/cap", headers=dispatcher)).content
    )
    assert cap.findtext(f"{CAP}msgType") == "Cancel" and cap.findtext(f"{CAP}status") == "Actual"
    actions = (
        await client.get(f"/api/v1/events/{proposed['event_id']}/actions", headers=shengzhou)
    ).json()
    warned = [a for a in actions["items"] if a["phase"] == "warning"]
    assert warned and all(a["state"] == "cancelled" for a in warned)
    assert all(a["cancel_reason"] == "warning lifted" for a in warned)
    # the monitoring the proposal set going (plan 3.2.1) goes on after the warning is lifted
    watching = [a for a in actions["items"] if a["phase"] == "monitoring"]
    assert watching and all(a["state"] == "pending" for a in watching)
    event = (await client.get(f"/api/v1/events/{proposed['event_id']}", headers=dispatcher)).json()
    assert event["state"] == "monitoring"


async def test_any_role_reads_a_published_warning_as_cap(
    client: httpx.AsyncClient, make_token: MakeToken
) -> None:
    dispatcher = await make_token("dispatcher")
    shengzhou = await make_token("commander", region="330683")
    province_drc = await make_token("agency", agency="provincial-drc")
    proposed = (await client.post("/api/v1/warnings", json=warning(), headers=dispatcher)).json()
    url = f"/api/v1/warnings/{proposed['id']}/cap"
    assert (await client.get(url, headers=province_drc)).status_code == 404  # not public yet
    await client.post(f"/api/v1/warnings/{proposed['id']}/publish", json={}, headers=shengzhou)
    published = await client.get(url, headers=province_drc)
    assert published.status_code == 200
    assert ET.fromstring(published.content).findtext(f"{CAP}status") == "Actual"
