"""The notices the request path writes to the outbox, in the transaction of the change
(design § Notifications): ``event.opened``,
``event.level_changed`` and one ``action.dispatched`` per action, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections import Counter

import httpx

from service.flows.context import AppContext
from service.notify.formats import Notice, NoticeText
from tests.helpers import MakeToken, county, outbox_rows, post, report


async def test_a_report_opening_an_event_at_iv_tells_of_it_and_of_every_action(
    client: httpx.AsyncClient, make_token: MakeToken, context: AppContext
) -> None:
    dispatcher = await make_token("dispatcher")
    event_id = (await post(client, dispatcher, report(county("330603", 200, 90))))["event_id"]
    rows = await outbox_rows(context, event_id)
    types = Counter(row.type for row in rows)
    assert types["event.opened"] == 1 and "event.level_changed" not in types
    opened = next(row for row in rows if row.type == "event.opened")
    assert opened.audience is None and opened.drill is False
    assert opened.data["event_id"] == event_id and opened.data["level"] == "IV"

    observer = await make_token("observer")
    shown = await client.get(f"/api/v1/events/{event_id}/actions", headers=observer)
    actions = {a["id"]: a for a in shown.json()["items"]}
    dispatched = [row for row in rows if row.type == "action.dispatched"]
    assert len(dispatched) == len(actions) == types["action.dispatched"]
    for row in dispatched:
        action = row.data["action"]
        assert action == actions[action["id"]], "the notice carries the action as the API shows it"
        assert row.audience == [action["agency"]]


async def test_an_action_notice_says_what_its_due_time_asks_for(
    client: httpx.AsyncClient, make_token: MakeToken, context: AppContext
) -> None:
    """design § Deadlines: plan 4's report is to be made by its due time (完成时限), a duty due on
    its acknowledgement to be taken up by it (确认时限); the notice carries ``due_on``."""
    dispatcher = await make_token("dispatcher")
    event_id = (await post(client, dispatcher, report(county("330603", 200, 90))))["event_id"]
    rows = await outbox_rows(context, event_id)
    by_key = {row.data["action"]["key"]: row for row in rows if row.type == "action.dispatched"}
    text = NoticeText(context.playbooks, "https://board.example")
    for key, due_on, said, not_said in (
        ("reporting.power-company.report-local-authority", "completion", "完成时限", "确认时限"),
        ("monitoring.power-company.monitor-facilities", "acknowledgement", "确认时限", "完成时限"),
    ):
        row = by_key[key]
        assert row.data["action"]["due_on"] == due_on
        markdown = text.markdown(Notice(row.type, row.drill, row.data, row.created_at))
        assert f"- {said}：" in markdown and not_said not in markdown, key


async def test_a_level_raised_by_report_or_by_command_is_told(
    client: httpx.AsyncClient, make_token: MakeToken, context: AppContext
) -> None:
    dispatcher = await make_token("dispatcher")
    city = await make_token("commander", region="330600")
    event_id = (await post(client, dispatcher, report(county("330603", 200, 90))))["event_id"]
    await post(client, dispatcher, report(county("330603", 200, 130), minutes=5, event_id=event_id))
    changed = [r for r in await outbox_rows(context, event_id) if r.type == "event.level_changed"]
    assert [(r.data["previous_response_level"], r.data["response_level"]) for r in changed] == [
        ("IV", "III")
    ]
    # a report that changes neither level tells nothing of the level
    await post(client, dispatcher, report(county("330603", 200, 130), minutes=9, event_id=event_id))
    lowered = await client.post(
        f"/api/v1/events/{event_id}/level",
        json={"level": "IV", "reason": "负荷快速恢复"},
        headers=city,
    )
    assert lowered.status_code == 200, lowered.text
    changed = [r for r in await outbox_rows(context, event_id) if r.type == "event.level_changed"]
    assert [r.data["response_level"] for r in changed] == ["III", "IV"]


async def test_a_warning_opening_a_monitoring_event_tells_of_it(
    client: httpx.AsyncClient, make_token: MakeToken, context: AppContext
) -> None:
    dispatcher = await make_token("dispatcher")
    body = {"area": ["330683"], "headline": "冰冻", "description": "线路覆冰", "drill": True}
    proposed = await client.post("/api/v1/warnings", json=body, headers=dispatcher)
    assert proposed.status_code == 201, proposed.text
    rows = await outbox_rows(context, proposed.json()["event_id"])
    # the monitoring duties (3.2.1) go out in the same change, at the same moment: no order
    (opened,) = [r for r in rows if r.type == "event.opened"]
    assert opened.data["state"] == "monitoring" and opened.data["drill"] is True
    assert all(r.drill for r in rows)
    assert rows[0].created_at == opened.created_at


async def test_a_refused_report_leaves_no_notice(
    client: httpx.AsyncClient, make_token: MakeToken, context: AppContext
) -> None:
    dispatcher = await make_token("dispatcher")
    bad = report(county("330603", 200, 90), event_id="00000000-0000-4000-8000-000000000000")
    refused = await client.post("/api/v1/reports", json=bad, headers=dispatcher)
    assert refused.status_code == 404
    assert await outbox_rows(context) == []


async def test_a_notice_of_a_duty_links_its_page_on_the_board(
    client: httpx.AsyncClient, make_token: MakeToken, context: AppContext
) -> None:
    """design § Duty page: a message about a duty leads to that duty's page, with no token in
    the link; every notice links the board."""
    dispatcher = await make_token("dispatcher")
    event_id = (await post(client, dispatcher, report(county("330603", 200, 90))))["event_id"]
    rows = await outbox_rows(context, event_id)
    text = NoticeText(context.playbooks, "https://board.example/")
    dispatched = next(row for row in rows if row.type == "action.dispatched")
    notice = Notice(dispatched.type, dispatched.drill, dispatched.data, dispatched.created_at)
    url = f"https://board.example/board/duties/{dispatched.data['action']['id']}"
    assert f"[处理此任务]({url})" in text.markdown(notice)
    assert text.links(notice) == {"board": "https://board.example/board", "duty": url}
    opened = next(row for row in rows if row.type == "event.opened")
    plain = Notice(opened.type, opened.drill, opened.data, opened.created_at)
    assert "处理此任务" not in text.markdown(plain)
    assert text.links(plain) == {"board": "https://board.example/board"}
