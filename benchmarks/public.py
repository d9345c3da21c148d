"""The public page under a flood of citizens: ``GET /public`` and its revalidation, each against
the bare app's ``GET /static/{size}`` at the page's own size (the same bytes from memory, no
database: the floor for a page served from a cache), over ``CITIZENS`` connections.

=====================================================  ==========================  ====
service                                                bare app                    goal
=====================================================  ==========================  ====
GET /public (the whole page)                           GET /static/{page size}     0.8×
GET /public with If-None-Match → 304                   GET /static/… → 304         0.8×
=====================================================  ==========================  ====

The page shows the level-IV event the preparation opened (柯桥区's figures) and a release about
it, approved by the city HQ, made here before the board's preparation: nothing else, so that
the board and the agency's poll measure what they measured before (a published warning would
open an event of its own or dispatch actions to the agencies). The pairs run before the report
pairs, while the page holds still; each connection asks again as soon as it is answered, so the
req/s is what one worker gives a flood.
"""

from __future__ import annotations

from typing import Any, Final

from benchmarks.cases import Pair
from benchmarks.load import BenchError, Target, check

CITIZENS: Final = 20
GOAL: Final = 0.8


def _post(base: str, path: str, headers: dict[str, str], body: dict[str, Any], status: int) -> Any:
    return check(base, Target("POST", path, status, body, headers)).json()


def _open_event(base: str, headers: dict[str, str]) -> str:
    """The one event the preparation opened."""
    events = check(base, Target("GET", "/api/v1/events", 200, headers=headers)).json()["items"]
    if len(events) != 1:
        raise BenchError(f"the preparation left {len(events)} events, not one")
    found: str = events[0]["id"]
    return found


def prepare_public(
    base: dict[str, str], tokens: dict[str, str]
) -> tuple[list[Pair], dict[str, Any]]:
    """Publish a release about the open event (``tokens``: a dispatcher's and the city
    commander's); the public page's pairs, and what the page holds."""
    service = base["service"]
    dispatcher = {"Authorization": f"Bearer {tokens['dispatcher']}"}
    city = {"Authorization": f"Bearer {tokens['commander']}"}
    event_id = _open_event(service, dispatcher)
    release = {
        "headline": "柯桥区停电情况通报",
        "body": "今日14时起柯桥区部分区域停电，国网绍兴供电公司已组织抢修。",
        "topics": ["situation"],
    }
    made = _post(service, f"/api/v1/events/{event_id}/releases", dispatcher, release, 201)
    _post(service, f"/api/v1/releases/{made['id']}/approve", city, {}, 200)
    page = check(service, Target("GET", "/public", 200))
    etag = page.headers.get("etag")
    if not etag or "public" not in page.headers.get("cache-control", ""):
        raise BenchError("GET /public answered no ETag or no public Cache-Control")
    if release["headline"] not in page.text or "柯桥区" not in page.text:
        raise BenchError("GET /public does not show the event's area and its release")
    bare_page = f"/static/{len(page.content)}"
    bare_tag = check(base["bare"], Target("GET", bare_page, 200)).headers["etag"]
    sides = [
        (
            "public_page",
            "GET /public (page, 200)",
            Target("GET", "/public", 200),
            Target("GET", bare_page, 200),
        ),
        (
            "public_revalidate",
            "GET /public (304)",
            Target("GET", "/public", 304, headers={"If-None-Match": etag}),
            Target("GET", bare_page, 304, headers={"If-None-Match": bare_tag}),
        ),
    ]
    pairs = [
        Pair(name, label, service_side, bare, GOAL, before_writes=True, connections=CITIZENS)
        for name, label, service_side, bare in sides
    ]
    return pairs, {"citizens": CITIZENS, "page_bytes": len(page.content)}
