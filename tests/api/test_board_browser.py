"""The situation board in a real browser: Debian's headless Chromium, driven by Playwright,
against the service running as a subprocess (``serve``, SQLite; the HTTP tests in
tests/api/test_board.py cover both databases).

A commander signs in with the form, sees an event posted through the API appear with its level
within 5 s, then one of its actions marked overdue within 5 s of passing its due time; signs
out; the agency's token then shows that agency's actions only, on a phone-sized screen. And the
board as a wall display: at 1920×1080 one event's essentials (level and lead, MW lost, customers
out, restoration, open and overdue duties, the level history, the restoration curve) lie within
the first 1080 px, under a summary row per open event; a duty due in 30 days counts down in days
and hours; the evaluation opens from the board in the same session. A duty officer acts on a
phone from a message's link (signed out first), with the keyboard alone and with a double click
that acts once, and a form posted by another site's page is refused; a commander takes a III
event from its warning to the end of its response on the command console. The screenshots stay as
artifacts: in the test's tmp dir, copied to ``var/test-artifacts/`` in the
checkout (both printed).

Playwright drives ``/usr/bin/chromium`` (``apt-get install -y chromium``), never a browser of
its own. Without it the test skips naming that command; under CI (``CI`` set) it fails.
"""

from __future__ import annotations

import shutil
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, update
from sqlalchemy.engine import make_url

from models import Action
from models.base import utcnow
from service.config import Settings
from service.notify.formats import NoticeText
from service.playbooks.bundle import Playbooks
from service.store.migrate import upgrade
from tests.helpers import (
    PLAYBOOKS_DIR,
    REPO,
    browser_page,
    cli_tokens,
    county,
    report,
    require_chromium,
    serve,
    service_env,
)

pytestmark = pytest.mark.process

ARTIFACTS = REPO / "var" / "test-artifacts"
# design § Board: the board updates by itself within 5 s of a change.
WITHIN_MS = 5000
IV_BLUE = "rgb(31, 111, 209)"  # --level-IV in board.css
WALL = {"width": 1920, "height": 1080}
PHONE = {"width": 390, "height": 844}
# One event's essentials on the wall: each must end within the first screen.
ESSENTIALS = (
    ".level",
    ".lead",
    ".mw-lost",
    ".customers-out",
    ".restored",
    ".duties",
    ".level-history",
    ".curve svg",
)


@pytest.fixture(scope="module")
def chromium() -> Path:
    return require_chromium()


@pytest.fixture
def service(tmp_path: Path) -> Iterator[tuple[str, dict[str, dict[str, str]], str]]:
    """The service on a fresh SQLite file: its URL, tokens by name, the database URL."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'board.db'}"
    upgrade(Settings(database_url=url))
    env = service_env(url, tmp_path / "var", escalation_interval_seconds="0")
    tokens = cli_tokens(
        env,
        {
            "城调 值班": ["--role", "dispatcher"],
            "市指挥部 值班": ["--role", "commander", "--region", "330600"],
            "公安 指挥中心": ["--role", "agency", "--agency", "public-security"],
        },
    )
    with serve(env, 1, tmp_path / "server.log", upgrade=False) as server:
        yield server.url, tokens, url


def token_of(headers: dict[str, str]) -> str:
    return headers["Authorization"].removeprefix("Bearer ")


def due_now(database_url: str, action_id: str, by: timedelta = timedelta(seconds=-30)) -> None:
    """Move the action's due time to ``by`` from now: into the past, as time would (the
    escalation job is off), or a month ahead. Synchronously: Playwright's sync API holds this
    thread's event loop."""
    engine = create_engine(make_url(database_url).set(drivername="sqlite"))
    try:
        with engine.begin() as connection:
            connection.execute(
                update(Action).where(Action.id == uuid.UUID(action_id)).values(due_at=utcnow() + by)
            )
    finally:
        engine.dispose()


def keep(shot: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    kept = ARTIFACTS / shot.name
    shutil.copyfile(shot, kept)
    with capsys.disabled():
        print(f"\nboard screenshot: {shot}\n                  {kept}")
    return kept


def test_the_board_follows_an_outage_in_a_browser(
    chromium: Path,
    service: tuple[str, dict[str, dict[str, str]], str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from playwright.sync_api import expect

    base, tokens, database_url = service
    dispatcher = tokens["城调 值班"]
    with browser_page(chromium, tmp_path, {"width": 1600, "height": 1000}) as page:
        page.goto(f"{base}/board")
        assert page.url == f"{base}/board/login"
        page.fill("input[name=token]", token_of(tokens["市指挥部 值班"]))
        page.click("button[type=submit]")
        page.wait_for_url(f"{base}/board")
        expect(page.locator(".quiet")).to_contain_text("当前没有进行中")
        assert "token" not in page.url

        posted = httpx.post(
            f"{base}/api/v1/reports",
            json=report(county("330603", 151, 60.4)),
            headers=dispatcher,
            timeout=10,
        )
        assert posted.status_code == 201, posted.text
        started = time.monotonic()
        event = page.locator(f"article[data-event='{posted.json()['event_id']}']")
        level = event.locator(".level")
        expect(level).to_have_text("IV级 一般", timeout=WITHIN_MS)
        assert time.monotonic() - started < WITHIN_MS / 1000
        expect(level).to_have_css("background-color", IV_BLUE)
        expect(event.locator("h2")).to_have_text("柯桥区大面积停电事件应急指挥部")

        actions = httpx.get(
            f"{base}/api/v1/events/{posted.json()['event_id']}/actions",
            headers=dispatcher,
            timeout=10,
        ).json()["items"]
        late = next(a for a in actions if a["agency"] == "public-security")
        due_now(database_url, late["id"])
        marked = page.locator(f"li.action.overdue[data-action='{late['id']}']")
        expect(marked.locator(".overdue-mark")).to_have_text("已超时", timeout=WITHIN_MS)
        expect(marked.locator(".left")).to_contain_text("超时")
        shot = tmp_path / "board-wall.png"
        page.screenshot(path=str(shot), full_page=True)
        keep(shot, capsys)

        page.click(".sign-out button")
        page.wait_for_url(f"{base}/board/login")
        page.set_viewport_size({"width": 390, "height": 844})
        page.fill("input[name=token]", token_of(tokens["公安 指挥中心"]))
        page.click("button[type=submit]")
        page.wait_for_url(f"{base}/board")
        agencies = page.locator("details.agency")
        expect(agencies.first).to_be_visible()
        shown = {agencies.nth(i).get_attribute("data-agency") for i in range(agencies.count())}
        assert shown == {"public-security"}
        own = {a["id"] for a in actions if a["agency"] == "public-security"}
        listed = page.locator("li.action")
        ids = {listed.nth(i).get_attribute("data-action") for i in range(listed.count())}
        assert ids and ids <= own
        expect(page.locator(".viewer")).to_have_text("市公安局 · 公安 指挥中心")
        phone = tmp_path / "board-phone.png"
        page.screenshot(path=str(phone), full_page=True)
        keep(phone, capsys)


def posted(base: str, headers: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
    answer = httpx.post(f"{base}/api/v1/reports", json=body, headers=headers, timeout=10)
    assert answer.status_code == 201, answer.text
    found: dict[str, Any] = answer.json()
    return found


def page_height(page: Any) -> int:
    height: int = page.evaluate("document.documentElement.scrollHeight")
    return height


def test_one_events_essentials_fit_the_wall_above_the_fold(
    chromium: Path,
    service: tuple[str, dict[str, dict[str, str]], str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from playwright.sync_api import expect

    base, tokens, database_url = service
    dispatcher = tokens["城调 值班"]
    keqiao = county("330603", 200, 100, customers=420000, customers_out=160000)
    first = posted(base, dispatcher, report(keqiao))
    event_id = first["event_id"]
    back = county("330603", 200, 40, customers=420000, customers_out=60000)
    posted(base, dispatcher, report(back, minutes=90) | {"event_id": event_id})
    posted(base, dispatcher, report(county("330604", 180, 80)))
    actions = httpx.get(
        f"{base}/api/v1/events/{event_id}/actions", headers=dispatcher, timeout=10
    ).json()["items"]
    late, far = actions[0], actions[-1]
    due_now(database_url, late["id"], timedelta(minutes=-3))
    due_now(database_url, far["id"], timedelta(days=30, minutes=-2))

    with browser_page(chromium, tmp_path, WALL, timeout_ms=WITHIN_MS) as page:
        page.goto(f"{base}/board/login")
        page.fill("input[name=token]", token_of(tokens["市指挥部 值班"]))
        page.click("button[type=submit]")
        page.wait_for_url(f"{base}/board")
        card = page.locator(f"article[data-event='{event_id}']")
        expect(card.locator(".level")).to_be_visible()

        wall = tmp_path / "board-1920x1080.png"
        page.screenshot(path=str(wall), full_page=True)
        wall_height = page_height(page)
        page.set_viewport_size(PHONE)
        phone = tmp_path / "board-390x844.png"
        page.screenshot(path=str(phone), full_page=True)
        phone_height = page_height(page)
        keep(wall, capsys)
        keep(phone, capsys)
        with capsys.disabled():
            heights = f"{wall_height} px at 1920×1080, {phone_height} px at 390×844"
            print(f"\npage heights: {heights}")
        page.set_viewport_size(WALL)

        rows = page.locator(".summary-row")
        expect(rows).to_have_count(2)
        for selector in ESSENTIALS:
            box = card.locator(selector).first.bounding_box()
            assert box is not None, f"{selector} is not shown"
            assert box["y"] + box["height"] <= WALL["height"], (selector, box)
        expect(card.locator(".mw-lost")).to_contain_text("40")
        expect(card.locator(".customers-out")).to_contain_text("60,000")
        expect(card.locator(".restored").first).to_contain_text("60.0%")
        expect(card.locator(".curve svg polyline")).to_have_count(1)
        # overdue first among the duties, and a month away said in days and hours
        expect(card.locator(".duties li").first).to_have_class("duty overdue")
        far_left = card.locator(f"li.action[data-action='{far['id']}'] .left")
        expect(far_left).to_have_text("剩余 29 天 23 小时")

        with page.expect_popup() as opened:
            card.locator("a.evaluation").click()
        evaluation = opened.value
        evaluation.wait_for_load_state()
        assert evaluation.url.startswith(f"{base}/board/events/{event_id}/evaluation")
        expect(evaluation.locator("h1")).to_contain_text("评估")


@contextmanager
def another_site(base: str, action_id: str) -> Iterator[str]:
    """A page of another origin (another port) whose form posts 完成 to the duty page at once,
    as a forged request would: its address."""
    page = (
        f'<form method="post" action="{base}/board/duties/{action_id}/complete">'
        '<input name="note" value="forged"></form>'
        "<script>document.forms[0].submit()</script>"
    ).encode()

    class Forger(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("content-type", "text/html; charset=utf-8")
            self.send_header("content-length", str(len(page)))
            self.end_headers()
            self.wfile.write(page)

        def log_message(self, *_args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Forger)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def completions(base: str, headers: dict[str, str], event_id: str, action_id: str) -> int:
    timeline = httpx.get(f"{base}/api/v1/events/{event_id}/timeline", headers=headers, timeout=10)
    return sum(
        1
        for entry in timeline.json()["items"]
        if entry["kind"] == "action_completed" and entry["data"].get("action_id") == action_id
    )


def test_a_duty_officer_acts_from_a_phone(
    chromium: Path,
    service: tuple[str, dict[str, dict[str, str]], str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """From a message's link to one duty, signed out, on a 390×844 screen: sign in, land on
    the duty, 确认 it, then 完成 it with the keyboard alone; a second duty double-clicked 完成
    once; a third posted by a page of another site stays as it was."""
    from playwright.sync_api import expect

    base, tokens, _database_url = service
    police = tokens["公安 指挥中心"]
    event = posted(base, tokens["城调 值班"], report(county("330603", 200, 130)))
    actions = httpx.get(
        f"{base}/api/v1/agencies/public-security/actions", headers=police, timeout=10
    ).json()["items"]
    first, second, third = actions[0], actions[1], actions[2]
    # the link the WeCom, DingTalk and standard messages about the duty carry
    link = NoticeText(Playbooks.load(PLAYBOOKS_DIR), base).duty_url(first)
    assert link == f"{base}/board/duties/{first['id']}"
    with (
        browser_page(chromium, tmp_path, PHONE) as page,
        another_site(base, third["id"]) as elsewhere,
    ):
        page.goto(link)
        assert page.url.startswith(f"{base}/board/login?next=")
        page.fill("input[name=token]", token_of(police))
        page.click("button[type=submit]")
        page.wait_for_url(f"{base}/board/duties/{first['id']}")
        card = page.locator(f"#duty-{first['id']}")
        expect(card.locator("h2")).to_have_text(first["title"])
        page.click("button.ack")
        expect(page.locator(".done")).to_have_text("已确认。")
        expect(card.locator(".duty-state")).to_have_text("已接收")

        # the keyboard alone: the note, then Tab to 完成 and Enter
        page.focus(f"#note-{first['id']}")
        page.keyboard.type("已到场处置")
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.className") == "complete"
        page.keyboard.press("Enter")
        expect(page.locator(".done")).to_have_text("已完成。")
        expect(card.locator(".duty-note")).to_have_text("说明：已到场处置")
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"the page scrolls sideways: {width} px"
        shot = tmp_path / "duty-phone.png"
        page.screenshot(path=str(shot), full_page=True)
        keep(shot, capsys)

        page.goto(f"{base}/board/duties")
        page.locator(f"#duty-{second['id']} button.complete").dblclick()
        page.wait_for_url(f"{base}/board/duties/{second['id']}?did=complete")
        expect(page.locator(".done")).to_have_text("已完成。")
        # signed in here, a page of another site posts a form to the duty page
        page.goto(elsewhere)
        expect(page.locator("body")).to_contain_text("请从本站的任务页面提交")
        listing = tmp_path / "duties-phone.png"
        page.goto(f"{base}/board/duties")
        page.screenshot(path=str(listing), full_page=True)
        keep(listing, capsys)
    observer = tokens["市指挥部 值班"]
    assert completions(base, observer, event["event_id"], second["id"]) == 1
    assert completions(base, observer, event["event_id"], third["id"]) == 0
    assert completions(base, observer, event["event_id"], first["id"]) == 1


def test_a_commander_takes_a_iii_event_from_its_warning_to_its_end_on_the_console(
    chromium: Path,
    service: tuple[str, dict[str, dict[str, str]], str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Without the API on the commander's side: the warning a dispatcher proposed is published,
    the III response the reports started gets its three attestations, the termination button
    stays held naming what is unmet until the load is back, then the response ends."""
    from playwright.sync_api import expect

    base, tokens, _database_url = service
    dispatcher, city = tokens["城调 值班"], tokens["市指挥部 值班"]
    warning = httpx.post(
        f"{base}/api/v1/warnings",
        json={"area": ["330603"], "headline": "台风“梅花”", "description": "预计12小时内登陆"},
        headers=dispatcher,
        timeout=10,
    ).json()
    event_id = warning["event_id"]
    with browser_page(chromium, tmp_path, {"width": 1280, "height": 900}) as page:
        page.goto(f"{base}/board/events/{event_id}/console")
        page.fill("input[name=token]", token_of(city))
        page.click("button[type=submit]")
        page.wait_for_url(f"{base}/board/events/{event_id}/console")
        page.click("form[action$='/console/publish'] button")
        expect(page.locator(".done")).to_have_text("预警已发布。")

        posted(base, dispatcher, report(county("330603", 200, 130)) | {"event_id": event_id})
        page.goto(f"{base}/board")
        page.click(f"article[data-event='{event_id}'] a.console-link")
        page.wait_for_url(f"{base}/board/events/{event_id}/console")
        expect(page.locator(".response-level")).to_have_text("III级 较大")
        end = page.locator("form.terminate button")
        expect(end).to_be_disabled()
        expect(page.locator("#unmet")).to_contain_text("停电隐患基本消除")
        for condition, evidence in (
            ("grid_stable", "220千伏主网架已恢复"),
            ("hazard_removed", "倒塔隐患已消除"),
            ("secondary_handled", "次生火灾已扑灭"),
        ):
            page.select_option("#condition", condition)
            page.fill("#evidence", evidence)
            page.click("form.attest button")
            expect(page.locator(".done")).to_have_text("已确认终止条件。")
        expect(page.locator("#unmet")).to_have_text("尚未满足：减供负荷恢复")
        expect(end).to_be_disabled()

        posted(
            base,
            dispatcher,
            report(county("330603", 200, 10), minutes=60) | {"event_id": event_id},
        )
        page.reload()
        expect(page.locator("#unmet")).to_have_count(0)
        page.fill("#end-reason", "负荷恢复95%，隐患消除")
        page.click("form.terminate button")
        expect(page.locator(".done")).to_have_text("已终止应急响应。")
        expect(page.locator(".event-state")).to_have_text("响应已终止")
        shot = tmp_path / "console.png"
        page.screenshot(path=str(shot), full_page=True)
        keep(shot, capsys)
    detail = httpx.get(f"{base}/api/v1/events/{event_id}", headers=city, timeout=10).json()
    assert detail["state"] == "terminated"
