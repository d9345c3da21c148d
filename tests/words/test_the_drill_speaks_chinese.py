"""Played through the shipped typhoon drill, what a commander reads is Chinese, with names:
the board, the evaluation report (its page and its PDF's text), the timeline's text and one
message of each notice type hold no English sentence and no internal code (a unit's code, a
duty's key, an id, a region's code where the region has a name)."""

from __future__ import annotations

import asyncio
import html
import re
import shutil
import subprocess
from pathlib import Path

import httpx
import pytest

from service.drill.runner import RealTime, run_drill
from service.flows.context import AppContext
from service.notify.formats import Notice, NoticeText
from service.playbooks.bundle import Playbooks
from service.playbooks.drills import load_scenario
from tests.helpers import PLAYBOOKS_DIR, MakeToken, bearer_token_of, board_sign_in, outbox_rows

pytestmark = pytest.mark.process  # poppler reads the PDF

API = "/api/v1"
PLAYBOOKS = Playbooks.load(PLAYBOOKS_DIR)
TYPHOON = load_scenario(
    PLAYBOOKS_DIR / "drills" / "typhoon.yaml", PLAYBOOKS.grids, PLAYBOOKS.agencies
)

# Two English words or more in a row: a sentence, a phrase, a label left in English.
ENGLISH = re.compile(r"\b[A-Za-z][a-z]+(?:[ _-]+[A-Za-z][a-z]+)+\b")
UUID = re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b")
AGENCY_CODES = {agency.code for agency in PLAYBOOKS.agencies}
DUTY_KEYS = {item.key for item in PLAYBOOKS.checklists}
REGION_CODES = {grid.code for grid in PLAYBOOKS.grids}
WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*[A-Za-z0-9]")
LINK_TARGET = re.compile(r"\]\([^)]*\)")


def visible_text(page: str) -> str:
    """What a reader sees of an HTML page: no scripts, styles, tags or attributes."""
    page = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S | re.I)
    page = re.sub(r"<!--.*?-->", " ", page, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", " ", page))


def unreadable(text: str) -> list[str]:
    """The English phrases and internal codes in ``text``."""
    found = [m.group() for m in ENGLISH.finditer(text)]
    found += UUID.findall(text)
    for word in WORD.findall(text):
        if word in AGENCY_CODES or word in DUTY_KEYS or word in REGION_CODES:
            found.append(word)
    return found


async def test_a_commander_reads_chinese_with_names_everywhere(
    client: httpx.AsyncClient, make_token: MakeToken, context: AppContext, tmp_path: Path
) -> None:
    pdftotext = shutil.which("pdftotext")
    if pdftotext is None:
        pytest.fail("pdftotext is missing: apt-get install poppler-utils")
    admin = await make_token("admin")
    done = await run_drill(
        TYPHOON, client, bearer_token_of(admin), speed=1e6, out=tmp_path, pace=RealTime()
    )
    event_id = str(done.event_id)
    city = await make_token("commander", region="330600")

    said: dict[str, str] = {}
    timeline = await client.get(f"{API}/events/{event_id}/timeline?limit=200", headers=city)
    said["timeline"] = "\n".join(entry["text"] for entry in timeline.json()["items"])
    evaluation = await client.get(f"{API}/events/{event_id}/evaluation.html", headers=city)
    assert evaluation.status_code == 200, evaluation.text
    said["evaluation"] = visible_text(evaluation.text)
    pdf = tmp_path / event_id / "evaluation.pdf"
    read = await asyncio.to_thread(
        subprocess.run,
        [pdftotext, "-layout", str(pdf), "-"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    said["pdf"] = read.stdout
    await board_sign_in(client, bearer_token_of(city))
    board = await client.get("/board")
    assert board.status_code == 200
    said["board"] = visible_text(board.text)
    text = NoticeText(PLAYBOOKS, "https://board.example")
    kinds = {}
    for row in await outbox_rows(context, event_id):
        kinds.setdefault(row.type, row)
    assert len(kinds) >= 6, sorted(kinds)
    for notice_type, row in kinds.items():
        notice = Notice(row.type, row.drill, row.data, row.created_at)
        # what a reader sees of a markdown link is its text, not where it leads
        said[f"message {notice_type}"] = LINK_TARGET.sub("]", text.markdown(notice))

    problems = {where: found for where, words in said.items() if (found := unreadable(words))}
    assert not problems, "\n".join(
        f"{where}: {sorted(set(found))}" for where, found in problems.items()
    )
