"""The table of design § Lifecycle through HTTP: who may fire each trigger (403 before anything
else), then what each state allows (409 naming the state and its triggers)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from models import Attestation, EarlyWarning, Event, EventGrid, OutboxMessage
from service.flows.context import AppContext
from tests.helpers import (
    DESIGN_ROLES,
    DESIGN_STATES,
    DESIGN_WHO,
    MakeToken,
    county,
    design_allowed,
    report,
)

NOW = datetime.now(UTC)


async def event_in(context: AppContext, state: str) -> dict[str, uuid.UUID]:
    """An event in ``state`` (led by 柯桥区's HQ at IV once it has had a response, so that the
    city HQ may take the lead), whose plan 5.5 conditions all hold, with a proposed warning and
    one published by the city HQ."""
    event_id = uuid.uuid4()
    responded = state in ("response", "terminated", "closed")
    async with context.sessions() as session:
        session.add(
            Event(
                id=event_id,
                state=state,
                level="III",
                peak_level="III",
                response_level="IV" if responded else None,
                leading_hq="330603" if responded else None,
                opened_at=NOW,
                updated_at=NOW,
                basis=[],
            )
        )
        await session.flush()
        session.add(
            EventGrid(
                event_id=event_id,
                region="330603",
                scope="county",
                load_mw=Decimal(200),
                load_lost_mw=Decimal(0),
                observed_at=NOW,
                peak_load_lost_mw=Decimal(130),
            )
        )
        ids = {"event": event_id, "proposed": uuid.uuid4(), "published": uuid.uuid4()}
        for key, warning_state in (("proposed", "proposed"), ("published", "published")):
            session.add(
                EarlyWarning(
                    id=ids[key],
                    event_id=event_id,
                    state=warning_state,
                    area=["330603"],
                    headline="台风",
                    description="台风影响",
                    proposed_by=await _any_token(session),
                    published_hq="330600" if warning_state == "published" else None,
                )
            )
        for condition in ("grid_stable", "hazard_removed", "secondary_handled"):
            session.add(
                Attestation(
                    event_id=event_id,
                    condition=condition,
                    evidence="核实",
                    actor_id=await _any_token(session),
                    actor="test",
                )
            )
        await session.commit()
    return ids


async def _any_token(session: Any) -> uuid.UUID:
    from sqlalchemy import select

    from models import ApiToken

    token_id = await session.scalar(select(ApiToken.id).limit(1))
    assert token_id is not None
    return token_id


def request_for(trigger: str, ids: dict[str, uuid.UUID]) -> tuple[str, dict[str, Any]]:
    event = ids["event"]
    later = (NOW - timedelta(minutes=1)).isoformat()
    return {
        "report": (
            "/api/v1/reports",
            {**report(county("330603", 200, 10)), "event_id": str(event), "observed_at": later},
        ),
        "propose_warning": (
            f"/api/v1/events/{event}/warnings",
            {"area": ["330603"], "headline": "h", "description": "d"},
        ),
        "publish_warning": (f"/api/v1/warnings/{ids['proposed']}/publish", {}),
        "lift_warning": (f"/api/v1/warnings/{ids['published']}/lift", {}),
        "start_response": (
            f"/api/v1/events/{event}/response",
            {"level": "III", "reason": "社会影响较大"},
        ),
        "set_level": (f"/api/v1/events/{event}/level", {"level": "III", "reason": "态势恶化"}),
        "take_lead": (f"/api/v1/events/{event}/lead", {"region": "330600", "reason": "跨区协调"}),
        "terminate": (f"/api/v1/events/{event}/terminate", {}),
        "dismiss": (f"/api/v1/events/{event}/dismiss", {"reason": "误报"}),
        "close": (f"/api/v1/events/{event}/close", {}),
    }[trigger]


SCOPE = {"commander": {"region": "330600"}, "agency": {"agency": "power-company"}}


def success(trigger: str) -> int:
    return 201 if trigger in ("report", "propose_warning") else 200


@pytest.mark.parametrize("role", DESIGN_ROLES)
@pytest.mark.parametrize("trigger", sorted(DESIGN_WHO))
async def test_only_the_designs_role_fires_a_trigger(
    client: httpx.AsyncClient, make_token: MakeToken, context: AppContext, trigger: str, role: str
) -> None:
    """The "who" column of design § Lifecycle, in a state where the trigger is allowed: 403 for
    any other role (who the caller is comes first), success for the one named."""
    state = next(s for s in DESIGN_STATES if trigger in design_allowed(s))
    headers = await make_token(role, **SCOPE.get(role, {}))
    path, body = request_for(trigger, await event_in(context, state))
    response = await client.post(path, json=body, headers=headers)
    expected = success(trigger) if role == DESIGN_WHO[trigger] else 403
    assert response.status_code == expected, response.text


@pytest.mark.parametrize("trigger", sorted(DESIGN_WHO))
@pytest.mark.parametrize("state", DESIGN_STATES)
async def test_the_state_decides_for_the_right_role(
    client: httpx.AsyncClient,
    make_token: MakeToken,
    context: AppContext,
    state: str,
    trigger: str,
) -> None:
    """The table of design § Lifecycle through HTTP: allowed moves succeed, the others answer 409
    naming the state and the triggers allowed in it."""
    role = DESIGN_WHO[trigger]
    headers = await make_token(role, **SCOPE.get(role, {}))
    path, body = request_for(trigger, await event_in(context, state))
    response = await client.post(path, json=body, headers=headers)
    if trigger in design_allowed(state):
        assert response.status_code == success(trigger), response.text
        return
    assert response.status_code == 409, response.text
    problem = response.json()
    assert problem["state"] == state
    assert problem["allowed"] == design_allowed(state)


# The notice each of these moves writes in its own transaction (design § Notifications),
# for every subscription (audience None), and in what state it leaves the
# event.
NOTICES = {
    "publish_warning": ("monitoring", "warning.published", "warning"),
    "lift_warning": ("warning", "warning.lifted", "monitoring"),
    "terminate": ("response", "response.terminated", "terminated"),
    "close": ("terminated", "event.closed", "closed"),
    "dismiss": ("monitoring", "event.closed", "closed"),
}


@pytest.mark.parametrize("trigger", sorted(NOTICES))
async def test_a_move_writes_its_notice_with_it(
    client: httpx.AsyncClient, make_token: MakeToken, context: AppContext, trigger: str
) -> None:
    state, notice, after = NOTICES[trigger]
    headers = await make_token("commander", region="330600")
    ids = await event_in(context, state)
    path, body = request_for(trigger, ids)
    response = await client.post(path, json=body, headers=headers)
    assert response.status_code == 200, response.text
    async with context.sessions() as session:
        found = list(
            await session.scalars(select(OutboxMessage).where(OutboxMessage.type == notice))
        )
    assert len(found) == 1
    message = found[0]
    assert (message.event_id, message.audience, message.drill) == (ids["event"], None, False)
    assert message.data["event_id"] == str(ids["event"])
    assert (message.data["state"], message.data["drill"]) == (after, False)
    if trigger.endswith("_warning"):
        warning = ids["proposed" if trigger == "publish_warning" else "published"]
        expected = "published" if trigger == "publish_warning" else "lifted"
        said = message.data["warning"]
        assert {k: said[k] for k in ("id", "headline", "area", "state", "published_hq")} == {
            "id": str(warning),
            "headline": "台风",
            "area": ["330603"],
            "state": expected,
            "published_hq": "330600",
        }
        # what a public channel publishes of it (plan 3.2.2.1), times as stored
        assert said[f"{expected}_at"] is not None
    if trigger == "dismiss":
        assert (message.data["dismissed"], message.data["reason"]) == (True, "误报")


async def test_a_refused_move_writes_no_notice(
    client: httpx.AsyncClient, make_token: MakeToken, context: AppContext
) -> None:
    headers = await make_token("commander", region="330600")
    path, body = request_for("close", await event_in(context, "response"))
    assert (await client.post(path, json=body, headers=headers)).status_code == 409
    async with context.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(OutboxMessage)) == 0
