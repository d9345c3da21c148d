"""POST/GET/DELETE /tokens (design § Roles: the admin manages tokens), on SQLite
and PostgreSQL: admin only, the token shown once and working, revocation, problem+json refusals."""

from __future__ import annotations

import uuid

import httpx
import pytest

from tests.helpers import MakeToken

API = "/api/v1"
PROBLEM = "application/problem+json"


async def test_an_admin_makes_a_token_that_works_then_revokes_it(
    client: httpx.AsyncClient, make_token: MakeToken
) -> None:
    admin = await make_token("admin")
    body = {"role": "commander", "name": "drill: 市指挥部", "region": "330600"}
    made = await client.post(f"{API}/tokens", json=body, headers=admin)
    assert made.status_code == 201, made.text
    token = made.json()
    assert (token["role"], token["name"], token["region"], token["agency"]) == (
        "commander",
        "drill: 市指挥部",
        "330600",
        None,
    )
    assert token["token"].startswith("oc_") and token["revoked_at"] is None
    commander = {"Authorization": f"Bearer {token['token']}"}
    assert (await client.get(f"{API}/events", headers=commander)).status_code == 200

    listed = (await client.get(f"{API}/tokens", headers=admin)).json()["items"]
    mine = next(row for row in listed if row["id"] == token["id"])
    assert "token" not in mine and mine["revoked_at"] is None

    revoked = await client.delete(f"{API}/tokens/{token['id']}", headers=admin)
    assert revoked.status_code == 200 and revoked.json()["revoked_at"] is not None
    again = await client.delete(f"{API}/tokens/{token['id']}", headers=admin)
    assert again.json()["revoked_at"] == revoked.json()["revoked_at"]
    refused = await client.get(f"{API}/events", headers=commander)  # the tests' cache is off
    assert refused.status_code == 401 and refused.headers["content-type"] == PROBLEM


@pytest.mark.parametrize("role", ["dispatcher", "commander", "agency", "observer"])
async def test_only_an_admin_manages_tokens(
    client: httpx.AsyncClient, make_token: MakeToken, role: str
) -> None:
    scope = {"commander": {"region": "330600"}, "agency": {"agency": "power-company"}}
    caller = await make_token(role, **scope.get(role, {}))
    victim = (await client.get(f"{API}/tokens", headers=await make_token("admin"))).json()
    token_id = victim["items"][-1]["id"]
    answers = [
        await client.post(f"{API}/tokens", json={"role": "admin", "name": "x"}, headers=caller),
        await client.get(f"{API}/tokens", headers=caller),
        await client.delete(f"{API}/tokens/{token_id}", headers=caller),
    ]
    for answer in answers:
        assert answer.status_code == 403, answer.text
        assert answer.headers["content-type"] == PROBLEM
    assert (await client.post(f"{API}/tokens", json={})).status_code == 401


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"role": "wizard", "name": "x"}, "role"),
        ({"role": "agency", "name": "x"}, "agency"),
        ({"role": "agency", "name": "x", "agency": "nobody"}, "agency"),
        ({"role": "commander", "name": "x"}, "region"),
        ({"role": "commander", "name": "x", "region": "110000"}, "region"),
        ({"role": "observer", "name": "x", "region": "330600"}, "region"),
        ({"role": "observer", "name": " "}, "name"),
        ({"role": "observer", "name": "x", "extra": 1}, "extra"),
    ],
)
async def test_a_bad_token_request_is_422_naming_the_field(
    client: httpx.AsyncClient, make_token: MakeToken, body: dict[str, object], field: str
) -> None:
    admin = await make_token("admin")
    before = len((await client.get(f"{API}/tokens", headers=admin)).json()["items"])
    answer = await client.post(f"{API}/tokens", json=body, headers=admin)
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"] == PROBLEM
    assert field in answer.text
    assert len((await client.get(f"{API}/tokens", headers=admin)).json()["items"]) == before


async def test_revoking_an_unknown_token_is_404(
    client: httpx.AsyncClient, make_token: MakeToken
) -> None:
    admin = await make_token("admin")
    answer = await client.delete(f"{API}/tokens/{uuid.uuid4()}", headers=admin)
    assert answer.status_code == 404 and answer.headers["content-type"] == PROBLEM


async def test_revoked_drill_tokens_are_listed_only_when_all_are_asked_for(
    client: httpx.AsyncClient, make_token: MakeToken
) -> None:
    """A drill revokes the token of each of its actors at its end: they stay (the timeline
    names them) but no longer fill the list; a person's revoked token is still listed."""
    admin = await make_token("admin")
    made = {}
    for name in ("drill: 调度", "drill: 市指挥部", "城调 值班"):
        body = {"role": "observer", "name": name}
        made[name] = (await client.post(f"{API}/tokens", json=body, headers=admin)).json()["id"]
    for name in ("drill: 调度", "城调 值班"):
        assert (await client.delete(f"{API}/tokens/{made[name]}", headers=admin)).is_success

    async def listed(query: str) -> dict[str, str | None]:
        answer = await client.get(f"{API}/tokens{query}", headers=admin)
        return {row["id"]: row["revoked_at"] for row in answer.json()["items"]}

    default = await listed("")
    assert made["drill: 调度"] not in default
    assert default[made["drill: 市指挥部"]] is None and default[made["城调 值班"]] is not None
    everything = await listed("?all=true")
    assert everything[made["drill: 调度"]] is not None
    assert set(everything) == {*default, made["drill: 调度"]}
