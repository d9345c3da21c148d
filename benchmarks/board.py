"""The situation board under polling viewers: its page and its update endpoint, each against the
bare app's ``GET /page/{size}`` at the board's own size (one indexed SELECT, then the page or a
304), over ``VIEWERS`` connections.

=====================================================  ==========================  ====
service                                                bare app                    goal
=====================================================  ==========================  ====
GET /board (the whole page, signed in)                 GET /page/{page size}       0.5×
GET /board/updates with If-None-Match → 304            GET /page/… → 304           0.5×
GET /board/updates (the events' part anew)             GET /page/{its size}        0.5×
=====================================================  ==========================  ====

An observer signs in with the form; the board then shows the one level-IV event the preparation
opened (its whole checklist: every agency's actions and the timeline). The pairs run before the
report pairs add to that event, while the board's version holds still (no action falls due
within the run: the shortest due time is 15 minutes). Each connection asks again as soon as it
is answered, so the req/s is what one worker can give; a viewer asks every ``POLL_SECONDS``,
so ``viewers_served`` says how many viewers that keeps up with.
"""

from __future__ import annotations

from typing import Any, Final

import httpx

from benchmarks.cases import Pair
from benchmarks.load import BenchError, Target, check

VIEWERS: Final = 20
POLL_SECONDS: Final = 2.0  # board.js's poll (service.api.board.routes.POLL_MS)
COOKIE: Final = "outage_board"
GOAL: Final = 0.5


def viewers_served(rps: float, poll_seconds: float = POLL_SECONDS) -> int:
    """How many viewers polling every ``poll_seconds`` ``rps`` answers a second keep up with."""
    return int(rps * poll_seconds)


def sign_in(url: str, token: str) -> str:
    """The board's cookie for ``token``, from its sign-in form."""
    answer = httpx.post(f"{url}/board/login", data={"token": token}, timeout=30, trust_env=False)
    cookie = answer.cookies.get(COOKIE)
    if answer.status_code != 303 or not cookie:
        raise BenchError(f"POST /board/login: {answer.status_code} {answer.text[:300]}")
    return cookie


def prepare_board(base: dict[str, str], token: str) -> tuple[list[Pair], dict[str, Any]]:
    """Sign ``token`` in to the board; the board's pairs, and what they serve (sizes)."""
    cookie = {"Cookie": f"{COOKIE}={sign_in(base['service'], token)}"}
    page = check(base["service"], Target("GET", "/board", 200, headers=cookie))
    updates = check(base["service"], Target("GET", "/board/updates", 200, headers=cookie))
    etag = updates.headers.get("etag")
    if not etag:
        raise BenchError("GET /board/updates answered no ETag")
    row_id = check(base["bare"], Target("POST", "/insert", 201, {"board": True})).json()["id"]
    bare_page = f"/page/{len(page.content)}?row={row_id}"
    bare_part = f"/page/{len(updates.content)}?row={row_id}"
    bare_tag = check(base["bare"], Target("GET", bare_page, 200)).headers["etag"]
    unchanged = {**cookie, "If-None-Match": etag}
    sides = [
        (
            "board_page",
            "GET /board (page, 200)",
            Target("GET", "/board", 200, headers=cookie),
            Target("GET", bare_page, 200),
        ),
        (
            "board_poll",
            "GET /board/updates (304)",
            Target("GET", "/board/updates", 304, headers=unchanged),
            Target("GET", bare_page, 304, headers={"If-None-Match": bare_tag}),
        ),
        (
            "board_update",
            "GET /board/updates (200)",
            Target("GET", "/board/updates", 200, headers=cookie),
            Target("GET", bare_part, 200),
        ),
    ]
    pairs = [
        Pair(name, label, service, bare, GOAL, before_writes=True, connections=VIEWERS)
        for name, label, service, bare in sides
    ]
    facts = {
        "viewers": VIEWERS,
        "poll_seconds": POLL_SECONDS,
        "page_bytes": len(page.content),
        "updates_bytes": len(updates.content),
        "actions_shown": updates.text.count('<li class="action'),
    }
    return pairs, facts
