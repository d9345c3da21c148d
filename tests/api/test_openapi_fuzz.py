"""Schemathesis against the app's own OpenAPI, in process (ASGI), on a migrated SQLite file.

Every operation but the evaluation's PDF gets schemathesis' generated cases (examples, coverage and
fuzzing phases, positive and negative data) four times: as an admin, as a dispatcher, as the city
HQ's commander and as the agency power-company, so that every operation is reached past the role
check by the role it is for (a single role's token stops the others' operations at 403). About half
the cases with path parameters are aimed at real resources made first (an event in response with
power-company's actions and a proposed release, a proposed warning), so that commands,
cancellations, acknowledgements, reviews and reads get past the 404 of a random id to the states
behind it.
Every response must not be a 5xx and must have a documented status code, content type and
headers and a body matching the documented schema.

Generated cases almost never get past the server's own checks where it matters most (bodies
name unknown grids, the documented ``load_mw`` schema admits any string while the server takes
only decimals with at most 6 places, queries carry foreign cursors, event ids are random), so
three more tests send valid data through the same checks: reports drawn from the real grid
registry, event listings with valid filters, and a real event read page by page. Two bugs it
found (a 400 for an undecodable body, a 500 for times near year 1 or 9999) stay pinned at the end.

The run is bounded and repeatable: at most ``ROLE_EXAMPLES`` generated cases per operation and
role (15, or ``FUZZ_EXAMPLES``) and ``MAX_EXAMPLES`` per property, derandomized, a fixed
schemathesis seed and no example database. ``FUZZ_QUICK=1`` (``make check``'s quick loop) leaves
out the coverage phase, about half of the module's time; ``make test`` and CI run every phase.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import uuid
import zlib
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import given, settings
from hypothesis import strategies as st
from schemathesis.checks import CheckFunction, not_a_server_error
from schemathesis.core.transport import Response
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from service.app import create_app, open_context
from service.config import Settings
from service.flows.reports.schemas import MAX_CUSTOMERS, MAX_MW
from service.plan.causes import CAUSE_CLAUSES
from service.playbooks.bundle import Playbooks
from service.store.migrate import upgrade
from service.store.tokens import create_token
from tests.helpers import county, report

MAX_EXAMPLES = 30
# Per operation and role: four roles' runs stay within the module's budget. `make check`, the
# quick loop, asks for fewer (FUZZ_EXAMPLES); `make test` and CI run these.
ROLE_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "15"))
SEED = 20181125
BOUNDED = settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True, database=None)

CHECKS: list[CheckFunction] = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]

# What cases are generated from: the app's own OpenAPI. Building the app needs no database (its
# lifespan opens one), so this is safe at import; `fuzz_app` checks that the app under test
# documents the very same API.
_UNUSED_URL = "sqlite+aiosqlite:///:memory:"
OPENAPI: dict[str, Any] = create_app(Settings(database_url=_UNUSED_URL)).openapi()
# Authorization is not generated (nor dropped by negative cases): every case carries the token.
QUICK = os.environ.get("FUZZ_QUICK", "") not in ("", "0")
CONFIG = schemathesis.Config.from_dict(
    {
        "seed": SEED,
        "generation": {"with-security-parameters": False},
        "phases": {"coverage": {"enabled": not QUICK}},
    }
)
schema = schemathesis.openapi.from_dict(OPENAPI, config=CONFIG)
# The evaluation's PDF is left out of the generated cases: WeasyPrint renders the report for every
# case that reaches a real event, seconds each, which made this operation most of the module's
# time. tests/api/test_evaluation.py renders and reads it; the same report's HTML is fuzzed here.
PDF = "/api/v1/events/{event_id}/evaluation.pdf"
fuzzed = schema.exclude(path=PDF, method="GET")
GRIDS = [
    (grid.code, grid.scope)
    for grid in Playbooks.load(Settings(database_url=_UNUSED_URL).playbooks_dir).grids
]


@pytest.fixture(scope="module")
def fuzz_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    folder: Path = tmp_path_factory.mktemp("fuzz")
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{folder / 'coordinator.db'}",
        var_dir=folder / "var",
        delivery_interval_seconds=0,  # fuzzed subscriptions are never posted to
    )
    upgrade(settings)
    return settings


# Who the generated cases are sent as. Each role's operations answer the others 403 at the door, so
# each is fuzzed as its own role: the dispatcher (reports, warnings, attestations), the city HQ's
# commander (commands on every event of the city, cancelling actions) and power-company (its own
# actions), and the admin (subscriptions and deliveries). The reads are open to all.
ROLES: dict[str, dict[str, str]] = {
    "admin": {},
    "dispatcher": {},
    "commander": {"region": "330600"},
    "agency": {"agency": "power-company"},
}


@pytest.fixture(scope="module")
def tokens(fuzz_settings: Settings) -> dict[str, dict[str, str]]:
    """Each role's Authorization header (a dispatcher with no region may report any grid)."""

    async def make() -> dict[str, str]:
        context = open_context(fuzz_settings)
        made: dict[str, str] = {}
        try:
            async with context.sessions() as session:
                for role, scope in ROLES.items():
                    _row, made[role] = await create_token(
                        session,
                        context.playbooks.agencies,
                        context.playbooks.grids,
                        role=role,
                        name=f"schemathesis-{role}",
                        **scope,
                    )
                await session.commit()
        finally:
            await context.close()
        return made

    return {
        role: {"Authorization": f"Bearer {token}"} for role, token in asyncio.run(make()).items()
    }


@pytest.fixture(scope="module")
def auth_headers(tokens: dict[str, dict[str, str]]) -> dict[str, str]:
    """The dispatcher's: the role of the tests that send valid reports and read what they made."""
    return tokens["dispatcher"]


@pytest.fixture(scope="module")
def real_ids(fuzz_settings: Settings, tokens: dict[str, dict[str, str]]) -> dict[str, list[str]]:
    """Ids of real resources for each path parameter, made before any case is sent.

    A report at IV (柯桥区 losing 45%) opens an event in response, led by 柯桥区's HQ (below the
    city HQ's commander), with actions dispatched to power-company, a release proposed and an
    attestation made on it; a proposed warning for 嵊州市 opens an event in monitoring. Generated
    ids are never real ones: without these, every commander and agency operation on an event, an
    action, a warning, a release or an attestation would stop at 404.
    """

    async def seed() -> dict[str, list[str]]:
        app = create_app(fuzz_settings)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://seed") as client:
                snapshot = county("330603", 200, 90)
                accepted = await client.post(
                    "/api/v1/reports", json=report(snapshot), headers=tokens["dispatcher"]
                )
                assert accepted.status_code == 201, accepted.text
                assert accepted.json()["state"] == "response"
                warning = {"area": ["330683"], "headline": "冰冻", "description": "线路覆冰"}
                proposed = await client.post(
                    "/api/v1/warnings", json=warning, headers=tokens["dispatcher"]
                )
                assert proposed.status_code == 201, proposed.text
                release = {
                    "headline": "停电通报",
                    "body": "柯桥区部分停电",
                    "topics": ["situation"],
                }
                released = await client.post(
                    f"/api/v1/events/{accepted.json()['event_id']}/releases",
                    json=release,
                    headers=tokens["dispatcher"],
                )
                assert released.status_code == 201, released.text
                attested = await client.post(
                    f"/api/v1/events/{accepted.json()['event_id']}/attestations",
                    json={"condition": "grid_stable", "evidence": "主网架恢复"},
                    headers=tokens["dispatcher"],
                )
                assert attested.status_code == 201, attested.text
                polled = await client.get(
                    "/api/v1/agencies/power-company/actions", headers=tokens["agency"]
                )
                actions = [a["id"] for a in polled.json()["items"]]
        assert len(actions) > 1
        return {
            "event_id": [accepted.json()["event_id"], proposed.json()["event_id"]],
            "action_id": actions,
            "warning_id": [proposed.json()["id"]],
            "release_id": [released.json()["id"]],
            "attestation_id": [attested.json()["id"]],
            "code": ["power-company"],
        }

    return asyncio.run(seed())


def aim_at_real_ids(case: schemathesis.Case[Any], real_ids: dict[str, list[str]]) -> None:
    """Send about half the cases with path parameters to real resources instead of generated
    ones. Which half, and which resource, follows from the case itself, so that a failing case
    replays the same."""
    if not case.path_parameters:
        return
    digest = zlib.crc32(repr(case).encode())
    if digest % 2:
        return
    case.path_parameters = {
        name: real_ids[name][digest % len(real_ids[name])] if name in real_ids else value
        for name, value in case.path_parameters.items()
    }


@pytest.fixture(scope="module")
def fuzz_app(fuzz_settings: Settings) -> FastAPI:
    """The app under test.

    Schemathesis' ASGI transport starts the app's lifespan (which opens the engine) before the
    first request, on its own event-loop thread where every request then runs, and its pytest
    plugin ends the lifespan after each test; so no test here enters it itself.
    """
    app = create_app(fuzz_settings)
    assert app.openapi() == OPENAPI
    return app


def validate(
    case: schemathesis.Case[Any],
    response: Response,
    app: FastAPI,
    headers: dict[str, str],
    checks: list[CheckFunction] = CHECKS,
) -> Response:
    """Run ``checks`` on the answer ``app`` gave to ``case`` sent with ``headers``."""
    transport = {"app": app, "headers": headers}
    case.validate_response(response, checks=checks, headers=headers, transport_kwargs=transport)
    return response


def call_and_validate(
    case: schemathesis.Case[Any], app: FastAPI, headers: dict[str, str]
) -> Response:
    """``case.call_and_validate`` with the app, the token and the checks, giving the answer."""
    return validate(case, case.call(app=app, headers=headers), app, headers)


@pytest.mark.parametrize("role", ROLES)
@fuzzed.parametrize()
@settings(max_examples=ROLE_EXAMPLES, deadline=None, derandomize=True, database=None)
def test_api_conforms_to_its_openapi(
    case: schemathesis.Case[Any],
    role: str,
    fuzz_app: FastAPI,
    tokens: dict[str, dict[str, str]],
    real_ids: dict[str, list[str]],
) -> None:
    aim_at_real_ids(case, real_ids)
    call_and_validate(case, fuzz_app, tokens[role])


def wire(value: Decimal) -> st.SearchStrategy[str | float]:
    """A decimal as a client may send it: a string, or a JSON number when that is exact."""
    as_float = float(value)
    if Decimal(repr(as_float)) == value:
        return st.sampled_from([str(value), as_float])
    return st.just(str(value))


def megawatts(low: Decimal, high: Decimal) -> st.SearchStrategy[Decimal]:
    return st.decimals(low, high, allow_nan=False, allow_infinity=False, places=6)


@st.composite
def snapshot_bodies(draw: st.DrawFn, grid: tuple[str, str]) -> dict[str, Any]:
    code, scope = grid
    load = draw(megawatts(Decimal("0.000001"), MAX_MW))
    lost = draw(megawatts(Decimal(0), load))
    customers = draw(st.none() | st.integers(1, MAX_CUSTOMERS))
    out = None if customers is None else draw(st.none() | st.integers(0, customers))
    body: dict[str, Any] = {"scope": scope, "region": code}
    body["load_mw"] = draw(wire(load))
    body["load_lost_mw"] = draw(wire(lost))
    if customers is not None or draw(st.booleans()):
        body["customers"] = customers
    if out is not None or draw(st.booleans()):
        body["customers_out"] = out
    return body


# The years the service accepts (service.schemas.Moment); times outside are refused, see
# `test_extreme_times_are_refused_not_a_500`.
OFFSETS = st.timedeltas(min_value=timedelta(hours=-23), max_value=timedelta(hours=23)).map(
    lambda offset: timezone(timedelta(minutes=offset // timedelta(minutes=1)))
)
# What free text may hold (service.flows.schemas.Text): any character but the control
# characters other than tab, newline and carriage return, and no lone surrogate.
TEXT_CHARACTERS = st.characters(exclude_categories=["Cc", "Cs"], include_characters="\t\n\r")
OBSERVED = st.datetimes(datetime(1970, 1, 2), datetime(2024, 12, 31), timezones=OFFSETS)


@st.composite
def report_bodies(draw: st.DrawFn, event_ids: list[str]) -> dict[str, Any]:
    grids = draw(st.lists(st.sampled_from(GRIDS), min_size=1, max_size=len(GRIDS), unique=True))
    observed_at = draw(OBSERVED)
    body: dict[str, Any] = {
        "snapshots": [draw(snapshot_bodies(grid)) for grid in grids],
        "observed_at": observed_at.isoformat(),
        "cause": draw(st.sampled_from(sorted(CAUSE_CLAUSES))),
    }
    follow_up = bool(event_ids) and draw(st.booleans())
    if follow_up:
        body["event_id"] = draw(st.sampled_from(event_ids))
    elif draw(st.booleans()):
        body["drill"] = draw(st.booleans())
    if draw(st.booleans()):
        late = datetime(2199, 12, 30, tzinfo=UTC)
        etr = draw(st.datetimes(observed_at.replace(tzinfo=None), late.replace(tzinfo=None)))
        body["etr"] = etr.replace(tzinfo=observed_at.tzinfo).isoformat()
    if draw(st.booleans()):
        body["note"] = draw(st.text(TEXT_CHARACTERS, max_size=50))
    return body


@pytest.fixture(scope="module")
def event_ids() -> list[str]:
    """The events the valid reports opened, for later reports to follow up."""
    return []


@given(data=st.data())
@BOUNDED
def test_valid_reports_are_taken_as_documented(
    data: st.DataObject, fuzz_app: FastAPI, auth_headers: dict[str, str], event_ids: list[str]
) -> None:
    """Valid reports (new events and follow-ups) are classified and stored, answered per the
    OpenAPI: the success paths the generated cases above do not reach."""
    body = data.draw(report_bodies(event_ids), label="body")

    classify = schema["/api/v1/classify"]["POST"].Case(
        body={"snapshots": body["snapshots"]}, media_type="application/json"
    )
    assert call_and_validate(classify, fuzz_app, auth_headers).status_code == 200

    post = schema["/api/v1/reports"]["POST"].Case(body=body, media_type="application/json")
    accepted = call_and_validate(post, fuzz_app, auth_headers)
    if accepted.status_code == 409:
        # Follow-ups put grids into several open events; a report naming them without event_id
        # must then say which (design § One outage, one event).
        problem = accepted.json()
        assert "event_id" not in body, accepted.text
        assert problem["rule"] == "design § One outage, one event", accepted.text
        assert len(problem["events"]) > 1
        return
    assert accepted.status_code == 201, accepted.text
    joined = accepted.json()["event_id"]
    if "event_id" not in body and joined not in event_ids:
        event_ids.append(joined)


def optional(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.none() | strategy


@given(
    state=optional(st.sampled_from(["monitoring", "warning", "response", "terminated", "closed"])),
    level=optional(st.sampled_from(["I", "II", "III", "IV"])),
    region=optional(st.sampled_from([code for code, _scope in GRIDS])),
    drill=optional(st.booleans()),
    limit=optional(st.integers(1, 200)),
)
@BOUNDED
def test_event_filters_are_answered_as_documented(
    fuzz_app: FastAPI,
    auth_headers: dict[str, str],
    state: str | None,
    level: str | None,
    region: str | None,
    drill: bool | None,
    limit: int | None,
) -> None:
    """GET /events with valid filters (generated ones name unknown grids or foreign cursors)."""
    filters = {"state": state, "level": level, "region": region, "drill": drill, "limit": limit}
    query = {name: value for name, value in filters.items() if value is not None}
    case = schema["/api/v1/events"]["GET"].Case(query=query)
    page = call_and_validate(case, fuzz_app, auth_headers)
    assert page.status_code == 200, page.text


def test_event_resources_conform_with_a_real_event(
    fuzz_app: FastAPI, auth_headers: dict[str, str]
) -> None:
    """Generated event ids are never real ones: read a real event, its pages and cursors."""
    snapshot = {"scope": "county", "region": "330603", "load_mw": 151.0, "load_lost_mw": 60.4}
    body: dict[str, Any] = {"observed_at": "2024-11-25T08:00:00+08:00", "cause": "typhoon"}
    event_id = None
    for lost in (60.4, 30.0):
        if event_id is not None:
            body["event_id"] = event_id
        body["snapshots"] = [{**snapshot, "load_lost_mw": lost}]
        post = schema["/api/v1/reports"]["POST"].Case(body=body, media_type="application/json")
        accepted = call_and_validate(post, fuzz_app, auth_headers)
        if accepted.status_code == 409 and event_id is None:
            # Earlier cases left 柯桥区 in several open events: follow up the first of them.
            body["event_id"] = accepted.json()["events"][0]
            post = schema["/api/v1/reports"]["POST"].Case(body=body, media_type="application/json")
            accepted = call_and_validate(post, fuzz_app, auth_headers)
        assert accepted.status_code == 201, accepted.text
        event_id = accepted.json()["event_id"]

    one = schema["/api/v1/events/{event_id}"]["GET"].Case(path_parameters={"event_id": event_id})
    assert call_and_validate(one, fuzz_app, auth_headers).status_code == 200

    # Every page of each listing, one item a page, so that the cursors are exercised too.
    listings: list[tuple[str, dict[str, Any], int]] = [
        ("/api/v1/events", {}, 1),
        ("/api/v1/events/{event_id}/reports", {"event_id": event_id}, 2),
        ("/api/v1/events/{event_id}/timeline", {"event_id": event_id}, 2),
    ]
    for path, path_parameters, at_least in listings:
        items: list[dict[str, Any]] = []
        query: dict[str, Any] = {"limit": 1}
        while len(items) < 1000:
            case = schema[path]["GET"].Case(path_parameters=path_parameters, query=query)
            page = call_and_validate(case, fuzz_app, auth_headers).json()
            items += page["items"]
            if page["next"] is None:
                break
            query = {"limit": 1, "cursor": page["next"]}
        assert len({json.dumps(item, sort_keys=True) for item in items}) == len(items), path
        assert len(items) >= at_least, (path, items)
        if path == "/api/v1/events":
            assert event_id in {item["id"] for item in items}


JSON_BODY_OPERATIONS = [
    (method.upper(), path)
    for path, operations in OPENAPI["paths"].items()
    for method, operation in operations.items()
    if "application/json" in operation.get("requestBody", {}).get("content", {})
]


@pytest.mark.parametrize(("method", "path"), JSON_BODY_OPERATIONS)
def test_undecodable_json_body_answers_as_documented(
    method: str, path: str, fuzz_app: FastAPI, auth_headers: dict[str, str]
) -> None:
    ids = {name: str(uuid.uuid4()) for name in re.findall(r"{(\w+)}", path)}
    case = schema[path][method].Case(
        path_parameters=ids, body=b"\x80", media_type="application/json"
    )
    response = call_and_validate(case, fuzz_app, auth_headers)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "body"


@pytest.mark.parametrize(
    "times",
    [
        {"observed_at": "0001-01-01T00:30:00+01:00"},
        {"observed_at": "2024-11-25T08:00:00+08:00", "etr": "9999-12-31T23:30:00-01:00"},
    ],
    ids=["observed_at-year-1", "etr-year-9999"],
)
def test_extreme_times_are_refused_not_a_500(
    times: dict[str, str], fuzz_app: FastAPI, auth_headers: dict[str, str]
) -> None:
    body: dict[str, Any] = {
        "snapshots": [{"scope": "county", "region": "330603", "load_mw": 151, "load_lost_mw": 60}],
        "cause": "typhoon",
        **times,
    }
    case = schema["/api/v1/reports"]["POST"].Case(body=body, media_type="application/json")
    response = call_and_validate(case, fuzz_app, auth_headers)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] in ("observed_at", "etr")
