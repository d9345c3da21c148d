"""The public page in a real browser at a phone's size (390×844): Debian's headless Chromium,
driven by Playwright, against the service running as a subprocess (``serve``, SQLite; the HTTP
tests in tests/api/test_public.py cover both databases).

A warning published by the city HQ, a release approved by 柯桥区's HQ and 柯桥区's figures show,
in one column that never scrolls sideways; a release still under review, a drill's warning, the
people who acted and their notes never do. The screenshot stays as an artifact, in the test's
tmp dir and copied to ``var/test-artifacts/`` in the checkout (both printed).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from service.config import Settings
from service.store.migrate import upgrade
from tests.helpers import (
    REPO,
    T0,
    browser_page,
    cli_tokens,
    county,
    report,
    require_chromium,
    serve,
    service_env,
)

pytestmark = pytest.mark.process

PHONE = {"width": 390, "height": 844}
ARTIFACTS = REPO / "var" / "test-artifacts"
KEQIAO, XINCHANG = "330603", "330624"
# What only the command centre reads: never on the public page.
INTERNAL = ("城调 值班", "柯桥 指挥", "市指挥 值班", "内容核实无误", "尚未审核的通报", "演练")


@pytest.fixture(scope="module")
def chromium() -> Path:
    return require_chromium()


@pytest.fixture
def service(tmp_path: Path) -> Iterator[tuple[str, dict[str, dict[str, str]]]]:
    """The service on a fresh SQLite file: its URL and tokens by name."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'public.db'}"
    upgrade(Settings(database_url=url))
    env = service_env(url, tmp_path / "var", escalation_interval_seconds="0")
    tokens = cli_tokens(
        env,
        {
            "城调 值班": ["--role", "dispatcher"],
            "市指挥 值班": ["--role", "commander", "--region", "330600"],
            "柯桥 指挥": ["--role", "commander", "--region", KEQIAO],
            "新昌 指挥": ["--role", "commander", "--region", XINCHANG],
        },
    )
    with serve(env, 1, tmp_path / "server.log", upgrade=False) as server:
        yield server.url, tokens


def call(base: str, path: str, headers: dict[str, str], body: dict[str, Any]) -> Any:
    answer = httpx.post(f"{base}/api/v1{path}", json=body, headers=headers, timeout=10)
    assert answer.status_code in (200, 201), answer.text
    return answer.json()


def test_a_phone_shows_the_published_warning_and_release_and_nothing_internal(
    chromium: Path,
    service: tuple[str, dict[str, dict[str, str]]],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from playwright.sync_api import expect

    base, tokens = service
    dispatcher = tokens["城调 值班"]
    warning = call(
        base,
        "/warnings",
        dispatcher,
        {"area": [KEQIAO], "headline": "柯桥区大面积停电预警", "description": "台风将至。"},
    )
    call(base, f"/warnings/{warning['id']}/publish", tokens["市指挥 值班"], {})
    lost = county(KEQIAO, 151.0, 60.4, customers=200_000, customers_out=52_000)
    event = warning["event_id"]
    etr = (T0 + timedelta(hours=8)).isoformat()  # 22:00 in Shaoxing
    call(base, "/reports", dispatcher, report(lost) | {"etr": etr, "event_id": event})
    body = {"headline": "柯桥区停电情况通报", "body": "抢修正在进行。", "topics": ["situation"]}
    release = call(base, f"/events/{event}/releases", dispatcher, body)
    note = {"reason": "内容核实无误"}
    call(base, f"/releases/{release['id']}/approve", tokens["柯桥 指挥"], note)
    waiting = body | {"headline": "尚未审核的通报"}
    call(base, f"/events/{event}/releases", dispatcher, waiting)
    drill = {"area": [XINCHANG], "headline": "演练：新昌县预警", "description": "演练"}
    drill["drill"] = True
    drilled = call(base, "/warnings", dispatcher, drill)
    call(base, f"/warnings/{drilled['id']}/publish", tokens["新昌 指挥"], {})

    with browser_page(chromium, tmp_path, PHONE, timeout_ms=10_000) as page:
        page.goto(f"{base}/public")
        shown = page.locator(f"#warning-{warning['id']}")
        expect(shown.locator("h3")).to_have_text("柯桥区大面积停电预警")
        expect(shown).to_contain_text("绍兴市大面积停电事件应急指挥部 发布")
        expect(page.locator(f"#release-{release['id']} h3")).to_have_text("柯桥区停电情况通报")
        area = page.locator("tr.area").first
        expect(area.locator("th")).to_have_text("柯桥区")
        expect(area.locator(".customers-out")).to_have_text("52,000")
        expect(area.locator(".restored")).to_have_text("0.0%")
        expect(area.locator(".etr")).to_have_text("07-20 22:00")
        text = page.inner_text("body")
        for internal in INTERNAL:
            assert internal not in text, internal
        # one column on a phone: nothing wider than the screen, the warning in the first screen
        width: int = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"]
        box = shown.bounding_box()
        assert box is not None and box["y"] < PHONE["height"]
        shot = tmp_path / "public-phone.png"
        page.screenshot(path=str(shot), full_page=True)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    kept = ARTIFACTS / shot.name
    shutil.copyfile(shot, kept)
    with capsys.disabled():
        print(f"\npublic page screenshot: {shot}\n                        {kept}")
