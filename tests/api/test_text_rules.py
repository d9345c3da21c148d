"""Text the database cannot store or a person cannot see is refused with 422 naming the field,
the same on SQLite and PostgreSQL (design § Limits); strings of the query never reach the
database as something it fails on.

Every free-text field is sent with a NUL to a resource that exists, by the role that may write
it: without the rule the text would be stored (PostgreSQL failed on it with a 500). Nothing is
written.
"""

from __future__ import annotations

import base64
import json
import sys
import unicodedata
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from pydantic import ValidationError

import models
from service.flows.actions.schemas import ActionNote
from service.flows.context import AppContext
from tests.helpers import MakeToken, count, county, post, report

API = "/api/v1"
NUL = "抢修\x00队"
ALLOWED_CONTROLS = "\t\n\r"


@dataclass
class Event:
    """An event in response at IV (柯桥区 leads) with power-company's actions, and a proposed
    warning on a second event in monitoring."""

    id: str
    action_id: str
    warning_id: str
    warned_event_id: str


@pytest.fixture
async def event(client: httpx.AsyncClient, make_token: MakeToken) -> Event:
    dispatcher = await make_token("dispatcher")
    event_id = (await post(client, dispatcher, report(county("330603", 200, 90))))["event_id"]
    power = await make_token("agency", agency="power-company")
    actions = await client.get(f"{API}/agencies/power-company/actions", headers=power)
    warning = await client.post(
        f"{API}/warnings",
        json={"area": ["330624"], "headline": "台风", "description": "预计跳闸"},
        headers=dispatcher,
    )
    assert warning.status_code == 201, warning.text
    return Event(
        event_id, actions.json()["items"][0]["id"], warning.json()["id"], warning.json()["event_id"]
    )


WARNING = {"area": ["330624"], "headline": "台风南移", "description": "预计今晚大范围跳闸"}
# (case, role, path with {event}/{action}/{warning}/{warned}, body, the field holding NUL)
FIELDS: list[tuple[str, str, str, dict[str, Any], str]] = [
    ("report note", "dispatcher", "/reports", report(county("330603", 200, 10)), "note"),
    ("warning headline", "dispatcher", "/warnings", WARNING, "headline"),
    ("warning description", "dispatcher", "/warnings", WARNING, "description"),
    ("event warning headline", "dispatcher", "/events/{event}/warnings", WARNING, "headline"),
    ("ack note", "agency", "/actions/{action}/ack", {}, "note"),
    ("complete note", "agency", "/actions/{action}/complete", {}, "note"),
    ("cancel reason", "commander", "/actions/{action}/cancel", {}, "reason"),
    (
        "attestation evidence",
        "dispatcher",
        "/events/{event}/attestations",
        {"condition": "grid_stable"},
        "evidence",
    ),
    ("level reason", "commander", "/events/{event}/level", {"level": "III"}, "reason"),
    ("response reason", "commander", "/events/{warned}/response", {"level": "IV"}, "reason"),
    ("dismiss reason", "commander", "/events/{warned}/dismiss", {}, "reason"),
    ("terminate reason", "commander", "/events/{event}/terminate", {}, "reason"),
    ("close reason", "commander", "/events/{event}/close", {}, "reason"),
    ("publish reason", "commander", "/warnings/{warning}/publish", {}, "reason"),
    ("lift reason", "commander", "/warnings/{warning}/lift", {}, "reason"),
]
SCOPES = {
    "dispatcher": {},
    "agency": {"agency": "power-company"},
    "commander": {"region": "330600"},
}


def body_for(case: str, base: dict[str, Any], field: str, event: Event, text: str) -> Any:
    body = {**base, field: text}
    if case == "report note":
        body["event_id"] = event.id
    return body


def refused_field(response: httpx.Response) -> dict[str, str]:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    [error] = response.json()["errors"]
    return dict(error)


@pytest.mark.parametrize(
    ("case", "role", "path", "base", "field"), FIELDS, ids=[f[0] for f in FIELDS]
)
async def test_a_nul_in_any_free_text_is_422_naming_the_field(
    client: httpx.AsyncClient,
    make_token: MakeToken,
    context: AppContext,
    event: Event,
    case: str,
    role: str,
    path: str,
    base: dict[str, Any],
    field: str,
) -> None:
    headers = await make_token(role, **SCOPES[role])
    url = API + path.format(
        event=event.id,
        action=event.action_id,
        warning=event.warning_id,
        warned=event.warned_event_id,
    )
    entries = await count(context, models.TimelineEntry)

    response = await client.post(url, json=body_for(case, base, field, event, NUL), headers=headers)

    error = refused_field(response)
    assert error["field"] == field
    assert error["message"].startswith("holds the control character U+0000 at character 3")
    assert await count(context, models.TimelineEntry) == entries  # nothing written


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("\x01", "the control character U+0001 at character 1"),
        ("ok\x1b[31m", "the control character U+001B at character 3"),
        ("\x7f", "the control character U+007F"),
        ("下一行\x85", "the control character U+0085 at character 4"),
        ("\ud800", "a lone surrogate (U+D800) at character 1"),
        ("a\udfffb", "a lone surrogate (U+DFFF) at character 2"),
    ],
)
async def test_other_control_characters_and_lone_surrogates_are_refused(
    client: httpx.AsyncClient, make_token: MakeToken, event: Event, text: str, said: str
) -> None:
    power = await make_token("agency", agency="power-company")
    # A lone surrogate cannot be encoded as UTF-8: sent as JSON's \\ud800 escape, as a client would.
    raw = json.dumps({"note": text}).encode()

    response = await client.post(
        f"{API}/actions/{event.action_id}/ack",
        content=raw,
        headers={**power, "Content-Type": "application/json"},
    )

    error = refused_field(response)
    assert error["field"] == "note"
    assert said in error["message"]


async def test_tab_newline_and_carriage_return_are_text(
    client: httpx.AsyncClient, make_token: MakeToken, event: Event
) -> None:
    power = await make_token("agency", agency="power-company")
    note = "抢修队已出发\r\n\t预计两小时 🚧"

    response = await client.post(
        f"{API}/actions/{event.action_id}/ack", json={"note": note}, headers=power
    )

    assert response.status_code == 200, response.text
    assert response.json()["note"] == note


async def test_a_field_keeps_its_length_limit_and_its_message(
    client: httpx.AsyncClient, make_token: MakeToken, event: Event
) -> None:
    power = await make_token("agency", agency="power-company")

    response = await client.post(
        f"{API}/actions/{event.action_id}/ack", json={"note": "字" * 4001}, headers=power
    )

    error = refused_field(response)
    assert error == {"field": "note", "message": "String should have at most 4000 characters"}


async def test_an_idempotency_key_with_a_control_character_is_422(
    client: httpx.AsyncClient, make_token: MakeToken
) -> None:
    """The server refuses most control characters in a header (service.api.server); DEL gets
    through it, and is refused here before the key is stored."""
    dispatcher = await make_token("dispatcher")

    response = await client.post(
        f"{API}/reports",
        json=report(county("330603", 200, 10)),
        headers={**dispatcher, "Idempotency-Key": "key\x7f1"},
    )

    error = refused_field(response)
    assert error["field"] == "idempotency-key"
    assert "U+007F at character 4" in error["message"]


def test_text_is_every_character_but_the_forbidden_ones() -> None:
    """The pattern agrees with Unicode: every control character (Cc) but tab, newline and
    carriage return is refused; every other character, surrogates aside, is text."""
    characters = [chr(code) for code in range(sys.maxunicode + 1)]
    forbidden = [c for c in characters if unicodedata.category(c) == "Cc" and c not in "\t\n\r"]
    assert len(forbidden) == 62
    for char in forbidden:
        with pytest.raises(ValidationError):
            ActionNote(note=f"a{char}b")
    everything_else = "".join(
        c for c in characters if unicodedata.category(c) not in ("Cc", "Cs") or c in "\t\n\r"
    )
    for start in range(0, len(everything_else), 4000):
        ActionNote(note=everything_else[start : start + 4000])


def cursor(*key: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(key).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "key",
    [
        ["2026-07-20T06:00:00", "00000000-0000-0000-0000-000000000000"],  # no zone
        ["0001-01-01T00:00:00+14:00", "00000000-0000-0000-0000-000000000000"],  # before year 1
        ["2026-07-20T06:00:00+00:00", 5],
        [1, "00000000-0000-0000-0000-000000000000"],
    ],
    ids=["naive", "before-year-1", "id-not-a-string", "time-not-a-string"],
)
async def test_a_foreign_time_cursor_is_422(
    client: httpx.AsyncClient, make_token: MakeToken, event: Event, key: list[Any]
) -> None:
    observer = await make_token("observer")
    for path in ("/events", f"/events/{event.id}/reports"):
        response = await client.get(API + path, params={"cursor": cursor(*key)}, headers=observer)
        assert refused_field(response)["field"] == "cursor", path


@pytest.mark.parametrize("seq", [10**30, 2**63, -1, True, 1.5, "1"])
async def test_a_foreign_timeline_cursor_is_422(
    client: httpx.AsyncClient, make_token: MakeToken, event: Event, seq: Any
) -> None:
    observer = await make_token("observer")

    response = await client.get(
        f"{API}/events/{event.id}/timeline", params={"cursor": cursor(seq)}, headers=observer
    )

    assert refused_field(response)["field"] == "cursor"


@pytest.mark.parametrize("region", ["33\x0060", "330603\x00", "\ud800"])
async def test_a_region_filter_with_control_characters_is_422(
    client: httpx.AsyncClient, make_token: MakeToken, region: str
) -> None:
    observer = await make_token("observer")
    query = "region=" + "".join(f"%{b:02X}" for b in region.encode("utf-8", "surrogatepass"))

    response = await client.get(f"{API}/events?{query}", headers=observer)

    assert refused_field(response)["field"] == "region"


async def test_a_largest_timeline_cursor_is_an_empty_page(
    client: httpx.AsyncClient, make_token: MakeToken, event: Event
) -> None:
    observer = await make_token("observer")

    response = await client.get(
        f"{API}/events/{event.id}/timeline",
        params={"cursor": cursor(2**63 - 1)},
        headers=observer,
    )

    assert response.status_code == 200, response.text
    assert response.json() == {"items": [], "next": None}
