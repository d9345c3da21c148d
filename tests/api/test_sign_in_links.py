"""Sign-in links (design § Duty page), on SQLite and PostgreSQL: an admin mints one for a token;
opened signed out it shows who it signs in as without spending itself; its button signs in to
the board once and lands on the page it names; a second use, an expired link, a revoked token, a
cross-site post and a signed-out session are refused; the session opens the board only."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import update

from models import SignIn
from models.base import utcnow
from service.flows.context import AppContext
from service.store.tokens import hash_token
from tests.helpers import MakeToken

API = "/api/v1"
SAME_SITE = {"Sec-Fetch-Site": "same-origin"}


async def token_id_of(client: httpx.AsyncClient, admin: dict[str, str], name: str) -> str:
    listed = (await client.get(f"{API}/tokens", headers=admin)).json()
    rows = listed["items"] if isinstance(listed, dict) else listed
    return str(next(row["id"] for row in rows if row["name"] == name))


async def mint(
    client: httpx.AsyncClient, admin: dict[str, str], token_id: str, **body: Any
) -> httpx.Response:
    return await client.post(f"{API}/tokens/{token_id}/sign-in-links", json=body, headers=admin)


def path_of(url: str) -> str:
    return "/" + url.split("/", 3)[3]


@pytest.fixture
async def police(client: httpx.AsyncClient, make_token: MakeToken) -> tuple[dict[str, str], str]:
    """An admin's headers, and the id of a 市公安局 duty officer's token."""
    admin = await make_token("admin")
    await make_token("agency", name="公安 值班", agency="public-security")
    return admin, await token_id_of(client, admin, "公安 值班")


async def test_a_link_signs_in_once_and_lands_on_its_page(
    client: httpx.AsyncClient, police: tuple[dict[str, str], str]
) -> None:
    admin, token_id = police
    made = await mint(client, admin, token_id, next="/board/duties", minutes=15)
    assert made.status_code == 201, made.text
    link = made.json()
    assert link["url"].startswith("http://127.0.0.1:8000/board/sign-in/")
    assert link["next"] == "/board/duties"
    page = path_of(link["url"])

    # opening it (a person, or a chat app's preview) spends nothing
    for _ in range(2):
        offered = await client.get(page)
        assert offered.status_code == 200
        assert "市公安局 · 公安 值班" in offered.text and '<form method="post">' in offered.text
    refused = await client.post(page, headers={"Sec-Fetch-Site": "cross-site"})
    assert refused.status_code == 403

    used = await client.post(page, headers=SAME_SITE)
    assert (used.status_code, used.headers["location"]) == (303, "/board/duties")
    session = client.cookies["outage_board"]
    assert session.startswith("ocs_")
    duties = await client.get("/board/duties")
    assert duties.status_code == 200 and "我的任务" in duties.text
    # the session opens the board only, never the API
    api = await client.get(f"{API}/events", headers={"Authorization": f"Bearer {session}"})
    assert api.status_code == 401

    client.cookies.clear()
    again = await client.post(page, headers=SAME_SITE)
    assert again.status_code == 409
    assert "登录链接已用过" in again.text
    assert (await client.get(page)).status_code == 409


async def test_a_link_refused_expired_or_for_a_revoked_token(
    client: httpx.AsyncClient, police: tuple[dict[str, str], str], context: AppContext
) -> None:
    admin, token_id = police
    link = (await mint(client, admin, token_id)).json()
    code = link["url"].rsplit("/", 1)[1]
    async with context.sessions() as session:
        await session.execute(
            update(SignIn)
            .where(SignIn.link_hash == hash_token(code))
            .values(link_expires_at=utcnow() - timedelta(seconds=1))
        )
        await session.commit()
    expired = await client.post(path_of(link["url"]), headers=SAME_SITE)
    assert expired.status_code == 409 and "登录链接已过期" in expired.text

    unknown = await client.get("/board/sign-in/no-such-code")
    assert unknown.status_code == 404 and "登录链接无效" in unknown.text

    fresh = (await mint(client, admin, token_id)).json()
    assert (await client.delete(f"{API}/tokens/{token_id}", headers=admin)).status_code == 200
    revoked = await client.post(path_of(fresh["url"]), headers=SAME_SITE)
    assert revoked.status_code == 409 and "已吊销" in revoked.text
    assert (await mint(client, admin, token_id)).status_code == 409
    assert (await mint(client, admin, str(uuid.uuid4()))).status_code == 404


async def test_a_session_ends_with_its_sign_out_or_its_tokens_revocation(
    client: httpx.AsyncClient, police: tuple[dict[str, str], str]
) -> None:
    admin, token_id = police
    for ending in ("sign-out", "revoke"):
        link = (await mint(client, admin, token_id, next="/board/duties")).json()
        assert (await client.post(path_of(link["url"]), headers=SAME_SITE)).status_code == 303
        session = client.cookies["outage_board"]
        assert (await client.get("/board/duties")).status_code == 200
        if ending == "sign-out":
            out = await client.post("/board/logout", headers=SAME_SITE)
            assert out.status_code == 303
        else:
            await client.delete(f"{API}/tokens/{token_id}", headers=admin)
        client.cookies.set("outage_board", session, path="/board")
        # the same cookie sent again no longer signs anyone in
        away = await client.get("/board/duties")
        assert (away.status_code, away.headers["location"]) == (
            303,
            "/board/login?next=/board/duties",
        ), ending
        client.cookies.clear()


async def test_only_an_admin_mints_and_the_body_is_checked(
    client: httpx.AsyncClient, police: tuple[dict[str, str], str], make_token: MakeToken
) -> None:
    admin, token_id = police
    commander = await make_token("commander", region="330600")
    assert (await mint(client, commander, token_id)).status_code == 403
    for body in (
        {"next": "https://evil.example/board"},
        {"next": "//evil.example"},
        {"next": "/api/v1/events"},
        {"minutes": 0},
        {"minutes": 61},
        {"extra": 1},
    ):
        answer = await mint(client, admin, token_id, **body)
        assert answer.status_code == 422, body
