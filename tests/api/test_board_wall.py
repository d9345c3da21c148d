"""The board as a wall display over plain HTTP, on SQLite and PostgreSQL (design § Board): an
event's figures (MW lost, customers out, restoration), its level history and curve, a summary
row per open event, overdue duties first, the HQ that published a warning, 最近结束 for a day,
and the evaluation report opened with the board's session. In a browser, at 1920×1080 and
390×844: tests/api/test_board_browser.py."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import httpx
import pytest
from sqlalchemy import update

from models import Action, Event
from models.base import utcnow
from service.api.board.curve import curve_svg
from service.api.board.render import megawatts
from service.flows.context import AppContext
from service.flows.events.board import RECENTLY_ENDED
from service.plan.evaluation import CurvePoint
from tests.helpers import (
    MakeToken,
    bearer_token_of,
    board_sign_in,
    county,
    event_actions,
    post,
    report,
)

API = "/api/v1"
CITY_HQ = "绍兴市大面积停电事件应急指挥部"
LEVEL_LABELS = {"I": "I级 特别重大", "II": "II级 重大", "III": "III级 较大", "IV": "IV级 一般"}


def card(page: str, event_id: str) -> str:
    """The event's card on the page: from its article to the next."""
    start = page.index('<article class="event')
    start = page.index(f'data-event="{event_id}"', start)
    end = page.find("</article>", start)
    return page[start:end]


async def set_column(
    context: AppContext, model: type[Action] | type[Event], row_id: str, **values: object
) -> None:
    """Write a row's column as time would have (an action's due time, an event's closing)."""
    async with context.sessions() as session:
        await session.execute(update(model).where(model.id == uuid.UUID(row_id)).values(**values))
        await session.commit()


async def test_an_events_figures_levels_and_curve_are_on_the_board(
    client: httpx.AsyncClient, make_token: MakeToken, context: AppContext
) -> None:
    dispatcher = await make_token("dispatcher")
    keqiao = county("330603", 200, 100, customers=420000, customers_out=160000)
    first = await post(client, dispatcher, report(keqiao))
    event_id = first["event_id"]
    back = county("330603", 200, "40.4", customers=420000, customers_out=60500)
    await post(client, dispatcher, report(back, minutes=90) | {"event_id": event_id})
    late = (await event_actions(client, dispatcher, event_id))[-1]
    await set_column(context, Action, late["id"], due_at=utcnow() - timedelta(minutes=5))
    await board_sign_in(client, bearer_token_of(await make_token("observer")))

    shown = card((await client.get("/board")).text, event_id)
    assert re.search(r'class="mw-lost">40\.4<small> MW</small>', shown)
    assert re.search(r'class="customers-out">60,500<small> 户</small>', shown)
    assert '<dd class="restored">59.6%</dd>' in shown  # 1 − 40.4 ÷ 100
    history = re.findall(r'<span class="step-level">([^<]*)</span>', shown)
    assert history == [LEVEL_LABELS[first["level"]]]  # the response started by the report
    assert re.search(r'<span class="by">据报告</span>', shown)
    (points,) = re.findall(r'<polyline points="([^"]+)"', shown)
    assert len(points.split()) == 2  # one point per report
    duties = re.findall(r'<li class="duty( overdue)?" data-duty="([^"]+)"', shown)
    assert duties[0] == (" overdue", late["id"])  # the overdue first, though due last
    assert [mark for mark, _ in duties[1:]] == [""] * (len(duties) - 1)


async def test_a_summary_row_for_each_open_event_above_the_cards(
    client: httpx.AsyncClient, make_token: MakeToken
) -> None:
    dispatcher = await make_token("dispatcher")
    await board_sign_in(client, bearer_token_of(await make_token("observer")))
    one = (await post(client, dispatcher, report(county("330603", 151, 60.4))))["event_id"]
    alone = (await client.get("/board")).text
    assert 'class="summary-row' not in alone  # one event: its card is the summary

    two = await post(client, dispatcher, report(county("330604", 180, 80), drill=True))
    page = (await client.get("/board")).text
    rows = re.findall(r'<a class="summary-row[^"]*" href="#event-([^"]+)"', page)
    assert rows == [one, two["event_id"]]  # the real event first, the drill after
    assert page.index('class="summary-row') < page.index('<article class="event')
    (row,) = re.findall(rf'href="#event-{one}".*?</a>', page, re.S)
    assert "60.4 MW" in row and "恢复 0.0%" in row and "待办 " in row


async def test_a_warning_names_the_hq_that_published_it(
    client: httpx.AsyncClient, make_token: MakeToken
) -> None:
    dispatcher = await make_token("dispatcher")
    city = await make_token("commander", region="330600")
    body = {"area": ["330602", "330603"], "headline": "台风", "description": "台风登陆"}
    proposed = (await client.post(f"{API}/warnings", json=body, headers=dispatcher)).json()
    published = await client.post(f"{API}/warnings/{proposed['id']}/publish", json={}, headers=city)
    assert published.status_code == 200, published.text
    await board_sign_in(client, bearer_token_of(await make_token("observer")))

    shown = card((await client.get("/board")).text, proposed["event_id"])
    assert "尚无牵头指挥部" not in shown
    assert f'<h2 class="lead">{CITY_HQ}</h2>' in shown
    assert f"发布（{CITY_HQ}）" in shown
    assert "（绍兴市电网）" not in shown


async def test_a_closed_event_stays_under_recently_ended_for_a_day(
    client: httpx.AsyncClient, make_token: MakeToken, context: AppContext
) -> None:
    dispatcher = await make_token("dispatcher")
    city = await make_token("commander", region="330600")
    # below every threshold: monitoring, then dismissed (closed at once)
    event_id = (await post(client, dispatcher, report(county("330624", 100, 10))))["event_id"]
    dismissed = await client.post(
        f"{API}/events/{event_id}/dismiss", json={"reason": "误报"}, headers=city
    )
    assert dismissed.status_code == 200, dismissed.text
    await board_sign_in(client, bearer_token_of(await make_token("observer")))

    page = await client.get("/board/updates")
    assert page.text.index('<h2 class="ended-heading">最近结束</h2>') < page.text.index(event_id)
    assert "当前没有进行中" in page.text  # nothing live: the ended one is apart

    almost = utcnow() - RECENTLY_ENDED + timedelta(minutes=5)
    await set_column(context, Event, event_id, closed_at=almost)
    kept = await client.get("/board/updates", headers={"If-None-Match": page.headers["etag"]})
    assert kept.status_code == 304  # still under 最近结束: nothing to send
    assert event_id in (await client.get("/board")).text

    await set_column(context, Event, event_id, closed_at=utcnow() - RECENTLY_ENDED)
    gone = await client.get("/board/updates", headers={"If-None-Match": page.headers["etag"]})
    assert gone.status_code == 200, "leaving 最近结束 moves the board's version"
    assert event_id not in gone.text and "最近结束" not in gone.text


async def test_the_evaluation_opens_with_the_boards_session(
    client: httpx.AsyncClient, make_token: MakeToken
) -> None:
    dispatcher = await make_token("dispatcher")
    event_id = (await post(client, dispatcher, report(county("330603", 151, 60.4))))["event_id"]
    url = f"/board/events/{event_id}/evaluation.html"
    assert (await client.get(url)).headers["location"] == "/board/login"

    await board_sign_in(client, bearer_token_of(await make_token("observer")))
    board = (await client.get("/board")).text
    assert f'href="board/events/{event_id}/evaluation.html"' in board
    page = await client.get(url)
    assert page.status_code == 200, page.text
    assert "处置评估报告" in page.text and "负荷恢复" in page.text
    assert page.headers["cache-control"] == "no-store"
    assert (await client.get(f"/board/events/{uuid.uuid4()}/evaluation.html")).status_code == 404

    # the county's authority investigates this 一般 outage (plan 6.2): its board opens the report
    await board_sign_in(client, bearer_token_of(await make_token("agency", agency="hq-330603")))
    assert f'href="board/events/{event_id}/evaluation.html"' in (await client.get("/board")).text
    assert (await client.get(url)).status_code == 200

    police = await make_token("agency", agency="public-security")
    await board_sign_in(client, bearer_token_of(police))
    # as on the API: an agency that neither evaluates nor investigates reads no evaluation, and
    # its board offers none
    assert (await client.get(url)).status_code == 403
    api = await client.get(f"{API}/events/{event_id}/evaluation.html", headers=police)
    assert api.status_code == 403
    assert "evaluation.html" not in (await client.get("/board")).text


@pytest.mark.parametrize(
    ("value", "shown"),
    [("40", "40"), ("40.000", "40"), ("60.44", "60.4"), ("1234.5", "1,234.5")],
)
def test_megawatts_read_as_a_commander_reads_them(value: str, shown: str) -> None:
    assert megawatts(Decimal(value)) == shown


def test_the_curve_rises_with_restoration_against_the_80_percent_line() -> None:
    """Plan 5.5 (2): the dashed line is 80%; a curve from 0 to 60% ends below it (larger y in
    SVG), one at 90% above; time runs left to right; no reports, no curve."""
    at = datetime(2026, 7, 20, 6, 0, tzinfo=UTC)

    def drawn(*fractions: str) -> tuple[list[tuple[float, float]], float]:
        points = [
            CurvePoint(at + timedelta(minutes=30 * i), Decimal(f)) for i, f in enumerate(fractions)
        ]
        svg = str(curve_svg(points))
        (line,) = re.findall(r'<line [^>]*y1="([\d.]+)"', svg)
        (polyline,) = re.findall(r'<polyline points="([^"]+)"', svg)
        xy = [tuple(float(v) for v in pair.split(",")) for pair in polyline.split()]
        return [(x, y) for x, y in xy], float(line)

    short, line = drawn("0", "0.3", "0.6")
    assert [x for x, _ in short] == sorted(x for x, _ in short) and short[0][0] < short[-1][0]
    assert short[0][1] > short[-1][1] > line
    past, line = drawn("0", "0.9")
    assert past[-1][1] < line
    assert "<polyline" not in str(curve_svg([])) and "<circle" not in str(curve_svg([]))
