"""Bad reports are refused with problem+json naming the field or rule, and nothing is stored."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

import models
from service.flows.context import AppContext
from tests.helpers import MakeToken, county, report

GOOD = county("330603", 151, 70, customers=1000, customers_out=10)


def with_snapshot(**change: Any) -> dict[str, Any]:
    return report({**GOOD, **change})


CASES: list[tuple[str, dict[str, Any], int, str]] = [
    ("zero load", with_snapshot(load_mw=0), 422, "snapshots[0].load_mw"),
    ("negative load", with_snapshot(load_mw=-5), 422, "snapshots[0].load_mw"),
    ("negative lost", with_snapshot(load_lost_mw=-1), 422, "snapshots[0].load_lost_mw"),
    ("lost above load", with_snapshot(load_lost_mw=152), 422, "snapshots[0]"),
    ("out above customers", with_snapshot(customers_out=1001), 422, "snapshots[0]"),
    ("out without customers", with_snapshot(customers=None), 422, "snapshots[0]"),
    ("scope mismatch", with_snapshot(scope="city"), 422, "snapshots[0].scope"),
    ("unknown region", with_snapshot(region="330699"), 422, "snapshots[0].region"),
    ("malformed region", with_snapshot(region="33A603"), 422, "snapshots[0].region"),
    ("no snapshots", {**report(GOOD), "snapshots": []}, 422, "snapshots"),
    ("same grid twice", report(GOOD, GOOD), 422, "snapshots"),
    ("load not a number", with_snapshot(load_mw="lots"), 422, "snapshots[0].load_mw"),
    ("lost not a number", with_snapshot(load_lost_mw=[1]), 422, "snapshots[0].load_lost_mw"),
    ("infinite load", with_snapshot(load_mw="Infinity"), 422, "snapshots[0].load_mw"),
    ("customers not a number", with_snapshot(customers="many"), 422, "snapshots[0].customers"),
    ("unknown cause", {**report(GOOD), "cause": "aliens"}, 422, "cause"),
    (
        "naive observed_at",
        {**report(GOOD), "observed_at": "2026-07-20T06:00:00"},
        422,
        "observed_at",
    ),
    ("etr before observed", {**report(GOOD), "etr": "2026-07-20T05:00:00+00:00"}, 422, ""),
    ("unknown field", {**report(GOOD), "severity": "high"}, 422, "severity"),
    ("unknown snapshot field", with_snapshot(voltage=110), 422, "snapshots[0].voltage"),
    ("too many decimals", with_snapshot(load_mw="151.0000001"), 422, "snapshots[0].load_mw"),
    ("absurd load", with_snapshot(load_mw="1e12"), 422, "snapshots[0].load_mw"),
    ("unknown event", {**report(GOOD), "event_id": str(uuid.uuid4())}, 404, "event_id"),
    ("event_id not a uuid", {**report(GOOD), "event_id": "42"}, 422, "event_id"),
]


async def stored_rows(context: AppContext) -> int:
    total = 0
    async with context.sessions() as session:
        for table in models.Base.metadata.sorted_tables:
            if table.name != "api_tokens":
                total += int(await session.scalar(select(func.count()).select_from(table)) or 0)
    return total


@pytest.mark.parametrize(("name", "body", "status", "field"), CASES, ids=[c[0] for c in CASES])
async def test_bad_report_is_refused_and_stores_nothing(
    client: httpx.AsyncClient,
    make_token: MakeToken,
    context: AppContext,
    name: str,
    body: dict[str, Any],
    status: int,
    field: str,
) -> None:
    dispatcher = await make_token("dispatcher")
    response = await client.post("/api/v1/reports", json=body, headers=dispatcher)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["status"] == status and problem["title"] and problem["detail"]
    if status == 422 and field:
        assert field in [e["field"] for e in problem["errors"]], problem
    if status == 404:
        assert problem["field"] == field
    assert await stored_rows(context) == 0


async def test_observed_at_far_in_future_is_refused(
    client: httpx.AsyncClient, make_token: MakeToken, context: AppContext
) -> None:
    dispatcher = await make_token("dispatcher")
    soon = datetime.now(UTC) + timedelta(minutes=2)
    later = datetime.now(UTC) + timedelta(minutes=10)
    ok = await client.post(
        "/api/v1/reports",
        json={**report(GOOD), "observed_at": soon.isoformat()},
        headers=dispatcher,
    )
    assert ok.status_code == 201  # within the clock-skew tolerance
    before = await stored_rows(context)
    response = await client.post(
        "/api/v1/reports",
        json={**report(GOOD), "observed_at": later.isoformat()},
        headers=dispatcher,
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "observed_at"
    assert await stored_rows(context) == before


async def test_not_json_is_422(client: httpx.AsyncClient, make_token: MakeToken) -> None:
    dispatcher = await make_token("dispatcher")
    response = await client.post(
        "/api/v1/reports",
        content=b"{not json",
        headers={**dispatcher, "Content-Type": "application/json"},
    )
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"


async def test_drill_must_match_the_event(client: httpx.AsyncClient, make_token: MakeToken) -> None:
    dispatcher = await make_token("dispatcher")
    created = await client.post(
        "/api/v1/reports", json=report(GOOD, drill=True), headers=dispatcher
    )
    event_id = created.json()["event_id"]
    response = await client.post(
        "/api/v1/reports",
        json=report(GOOD, minutes=5, event_id=event_id, drill=False),
        headers=dispatcher,
    )
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "drill"


# --- identity -------------------------------------------------------------------------------


async def test_every_endpoint_but_healthz_needs_a_token(client: httpx.AsyncClient) -> None:
    event = uuid.uuid4()
    for method, path in [
        ("POST", "/api/v1/reports"),
        ("POST", "/api/v1/classify"),
        ("GET", "/api/v1/events"),
        ("GET", f"/api/v1/events/{event}"),
        ("GET", f"/api/v1/events/{event}/reports"),
        ("GET", f"/api/v1/events/{event}/timeline"),
    ]:
        for headers in ({}, {"Authorization": "Bearer oc_not-a-token"}):
            response = await client.request(method, path, json={}, headers=headers)
            assert response.status_code == 401, (method, path, headers)
            assert response.headers["www-authenticate"] == "Bearer"


async def test_revoked_token_is_refused(
    client: httpx.AsyncClient, make_token: MakeToken, context: AppContext
) -> None:
    from service.flows.admin.tokens import revoke_token

    observer = await make_token("observer")
    assert (await client.get("/api/v1/events", headers=observer)).status_code == 200
    async with context.read_sessions() as session:
        row = await session.scalar(
            select(models.ApiToken).where(models.ApiToken.role == "observer")
        )
    assert row is not None
    await revoke_token(context, row.id)
    assert (await client.get("/api/v1/events", headers=observer)).status_code == 401


@pytest.mark.parametrize("role", ["admin", "commander", "observer"])
async def test_only_dispatchers_report(
    client: httpx.AsyncClient, make_token: MakeToken, context: AppContext, role: str
) -> None:
    headers = (
        await make_token(role, region="330600") if role == "commander" else await make_token(role)
    )
    response = await client.post("/api/v1/reports", json=report(GOOD), headers=headers)
    assert response.status_code == 403
    assert await stored_rows(context) == 0


async def test_agency_cannot_report(
    client: httpx.AsyncClient, make_token: MakeToken, context: AppContext
) -> None:
    headers = await make_token("agency", agency="power-company")
    response = await client.post("/api/v1/reports", json=report(GOOD), headers=headers)
    assert response.status_code == 403


async def test_regional_dispatcher_reports_only_within_its_region(
    client: httpx.AsyncClient, make_token: MakeToken, context: AppContext
) -> None:
    keqiao = await make_token("dispatcher", region="330603")
    city = await make_token("dispatcher", region="330600")
    outside = await client.post(
        "/api/v1/reports", json=report(county("330604", 100, 50)), headers=keqiao
    )
    assert outside.status_code == 403
    assert outside.json()["field"] == "snapshots[0].region"
    assert await stored_rows(context) == 0
    inside = await client.post("/api/v1/reports", json=report(GOOD), headers=keqiao)
    assert inside.status_code == 201
    province = {"scope": "province", "region": "330000", "load_mw": 50000, "load_lost_mw": 10}
    assert (
        await client.post("/api/v1/reports", json=report(province), headers=city)
    ).status_code == 403
    assert (
        await client.post("/api/v1/reports", json=report(GOOD), headers=city)
    ).status_code == 201


async def test_authorization_header_forms(client: httpx.AsyncClient, make_token: MakeToken) -> None:
    token = (await make_token("observer"))["Authorization"].removeprefix("Bearer ")
    for header, status in [
        (f"Bearer {token}", 200),
        (f"bearer {token}", 200),  # the scheme is case-insensitive (RFC 9110)
        (f"Basic {token}", 401),
        (token, 401),
        ("Bearer", 401),
    ]:
        response = await client.get("/api/v1/events", headers={"Authorization": header})
        assert response.status_code == status, header


async def test_openapi_declares_the_bearer_scheme(client: httpx.AsyncClient) -> None:
    schema = (await client.get("/openapi.json")).json()
    assert schema["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    operations = [
        op
        for path, ops in schema["paths"].items()
        for op in ops.values()
        if path.startswith("/api/")
    ]
    assert operations and all(op["security"] == [{"bearer": []}] for op in operations)
    assert "security" not in schema["paths"]["/healthz"]["get"]
