"""A unit's duty page (/board/duties, design § Duty page) over HTTP, on SQLite and PostgreSQL:
signing in lands on the page asked for; the unit's open duties, overdue first; 确认 and 完成
through the same flows as the API, once per form however often it is sent; a cross-site post
refused; other roles and other units' duties kept out; refusals said in words. The phone-sized
page in a browser is tests/api/test_duty_page_browser.py's."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import update

from models import Action
from models.base import utcnow
from service.flows.context import AppContext
from tests.helpers import MakeToken, bearer_token_of, board_sign_in, county, post, report

API = "/api/v1"
SAME_SITE = {"Sec-Fetch-Site": "same-origin"}
POWER = "power-company"


async def power_duties(
    client: httpx.AsyncClient, make_token: MakeToken
) -> tuple[str, dict[str, str], list[dict[str, Any]]]:
    """A III event in 柯桥区 (130 of 200 MW lost): its id, the power company's token, and its
    actions as the API lists them."""
    dispatcher = await make_token("dispatcher")
    event_id = (await post(client, dispatcher, report(county("330603", 200, 130))))["event_id"]
    power = await make_token("agency", agency=POWER)
    items = (await client.get(f"{API}/agencies/{POWER}/actions", headers=power)).json()["items"]
    assert len(items) >= 2
    return event_id, power, items


async def signed_in_as(client: httpx.AsyncClient, headers: dict[str, str]) -> None:
    assert (await board_sign_in(client, bearer_token_of(headers))).status_code == 303


async def act(
    client: httpx.AsyncClient, action_id: str, step: str, once: str, note: str = "", **headers: str
) -> httpx.Response:
    return await client.post(
        f"/board/duties/{action_id}/{step}",
        data={"note": note, "once": once},
        headers={**SAME_SITE, **headers},
    )


async def api_action(client: httpx.AsyncClient, headers: dict[str, str], action_id: str) -> Any:
    return (await client.get(f"{API}/actions/{action_id}", headers=headers)).json()


def once_of(page: str, action_id: str) -> str:
    """The key the page drew into the duty's form."""
    found = re.search(rf'name="once" value="([0-9a-f]+-{action_id})"', page)
    assert found, "no form for the duty"
    return found.group(1)


async def test_signed_out_the_page_asks_for_a_sign_in_and_lands_back_on_it(
    client: httpx.AsyncClient, make_token: MakeToken
) -> None:
    _event, power, items = await power_duties(client, make_token)
    asked = f"/board/duties/{items[0]['id']}"
    away = await client.get(asked)
    assert away.status_code == 303
    assert away.headers["location"] == f"/board/login?next={asked}"
    form = await client.get(away.headers["location"])
    assert f'name="next" value="{asked}"' in form.text
    landed = await client.post(
        "/board/login",
        data={"token": bearer_token_of(power), "next": asked},
        headers=SAME_SITE,
    )
    assert (landed.status_code, landed.headers["location"]) == (303, asked)
    # a next of another site, or outside the board, lands on the board
    for elsewhere in ("https://evil.example/board", "//evil.example/x", "/api/v1/events"):
        sent = await client.post(
            "/board/login",
            data={"token": bearer_token_of(power), "next": elsewhere},
            headers=SAME_SITE,
        )
        assert sent.headers["location"] == "/board", elsewhere


async def test_the_units_open_duties_overdue_first_then_acknowledged_and_completed_once(
    client: httpx.AsyncClient, make_token: MakeToken, context: AppContext
) -> None:
    _event, power, items = await power_duties(client, make_token)
    last = items[-1]
    async with context.sessions() as session:  # the last dispatched is now overdue
        await session.execute(
            update(Action)
            .where(Action.id == uuid.UUID(last["id"]))
            .values(due_at=utcnow() - timedelta(minutes=5))
        )
        await session.commit()
    await signed_in_as(client, power)

    page = await client.get("/board/duties")
    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-store"
    text = page.text
    assert f"待办 {len(items)} 项" in text and "超时 1 项" in text
    positions = [text.index(f'id="duty-{item["id"]}"') for item in items]
    assert positions[-1] == min(positions), "the overdue duty is not first"
    assert "已超时" in text and "预案 " in text and "绍兴电力局" in text

    duty = items[0]
    once = once_of(text, duty["id"])
    acked = await act(client, duty["id"], "ack", once, "抢修队已出发")
    assert (acked.status_code, acked.headers["location"]) == (
        303,
        f"/board/duties/{duty['id']}?did=ack",
    )
    shown = await client.get(acked.headers["location"])
    assert "已确认。" in shown.text and "说明：抢修队已出发" in shown.text
    read = await api_action(client, power, duty["id"])
    assert (read["state"], read["note"]) == ("acknowledged", "抢修队已出发")

    # a double tap: the same form twice completes once
    once = once_of(shown.text, duty["id"])
    for _ in range(2):
        done = await act(client, duty["id"], "complete", once, "已恢复送电")
        assert done.status_code == 303
    read = await api_action(client, power, duty["id"])
    assert read["state"] == "done"
    observer = await make_token("observer")
    timeline = await client.get(f"{API}/events/{read['event_id']}/timeline", headers=observer)
    completions = [
        e
        for e in timeline.json()["items"]
        if e["kind"] == "action_completed" and e["data"].get("action_id") == duty["id"]
    ]
    assert len(completions) == 1, completions
    after = await client.get("/board/duties")
    assert f"待办 {len(items) - 1} 项" in after.text
    assert "已完成或已撤销" in after.text


async def test_a_cross_site_post_is_refused_and_changes_nothing(
    client: httpx.AsyncClient, make_token: MakeToken
) -> None:
    _event, power, items = await power_duties(client, make_token)
    await signed_in_as(client, power)
    duty = items[0]
    for headers in ({"Sec-Fetch-Site": "cross-site"}, {"Origin": "https://evil.example"}):
        sent = await client.post(
            f"/board/duties/{duty['id']}/complete",
            data={"note": "", "once": "x"},
            headers=headers,
        )
        assert sent.status_code == 403
        assert "请从本站的任务页面提交" in sent.text
    assert (await api_action(client, power, duty["id"]))["state"] == "pending"


async def test_other_roles_and_other_units_are_kept_out_and_refusals_are_said(
    client: httpx.AsyncClient, make_token: MakeToken
) -> None:
    _event, power, items = await power_duties(client, make_token)
    commander = await make_token("commander", region="330600")
    await signed_in_as(client, commander)
    refused = await client.get("/board/duties")
    assert refused.status_code == 403
    assert "请用本单位的令牌登录" in refused.text

    police = await make_token("agency", agency="public-security")
    await signed_in_as(client, police)
    other = await client.get(f"/board/duties/{items[0]['id']}")
    assert other.status_code == 404
    assert (await act(client, items[0]["id"], "complete", "k")).status_code == 404

    # a duty called off by the commander: completing it is refused in words, on its page
    duty = items[1]
    cancelled = await client.post(
        f"{API}/actions/{duty['id']}/cancel", json={"reason": "用户已自行恢复"}, headers=commander
    )
    assert cancelled.status_code == 200, cancelled.text
    await signed_in_as(client, power)
    page = await client.get(f"/board/duties/{duty['id']}")
    assert "duty-form" not in page.text  # no form for a closed duty
    late = await act(client, duty["id"], "complete", "k2")
    assert late.status_code == 409
    assert "已取消" in late.text and 'role="alert"' in late.text
    assert (await act(client, duty["id"], "undo", "k3")).status_code == 404
