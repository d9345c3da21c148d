"""The public page and feeds, rendered once per change and served from memory.

Citizens open an outage page all at once: the answer to a flood must cost the service little.
Each worker keeps one ``Edition``: the page, both feeds and every CAP message they link, as
bytes with their ETags, for the view's version (``service.flows.public.view.public_version``).
A request within ``check_seconds`` of the last check is answered from it with no database work
at all; the first one after asks the version (one statement) while the others are still
answered from the edition they have, and only a version that moved reads and renders the view
again. So a change reaches the page within a second, plus the ``max-age`` a browser or proxy
keeps it (``public_max_age_seconds``).
"""

from __future__ import annotations

import asyncio
import hashlib
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from jinja2 import Environment, FileSystemLoader, select_autoescape

from service.api.board.pages import SECURITY_HEADERS
from service.api.board.render import count, shanghai
from service.api.public.feeds import alerts_index, news_feed
from service.config import Settings
from service.flows.context import AppContext
from service.flows.public.view import PublicView, PublicWarning, public_version, read_public
from service.flows.warnings.cap import CapSource, cap_alert, instruction
from service.plan.alerts import AlertMessage
from service.plan.percent import percent
from service.playbooks.bundle import Playbooks
from service.words import _, use

TEMPLATES: Final = Path(__file__).resolve().parent.parent / "templates"
CHECK_SECONDS: Final = 1.0
HTML: Final = "text/html; charset=utf-8"
ATOM: Final = "application/atom+xml; charset=utf-8"
CAP: Final = "application/cap+xml"


@dataclass(frozen=True, slots=True)
class Rendered:
    """Bytes as served, and their ETag (a strong one: the exact bytes)."""

    body: bytes
    etag: str

    @classmethod
    def of(cls, body: bytes) -> Rendered:
        return cls(body, f'"{hashlib.sha256(body).hexdigest()[:32]}"')


@dataclass(frozen=True, slots=True)
class Edition:
    """One version of the public view, rendered: the page for the path the service is
    mounted at (``root``), the feeds, and the CAP messages by (warning id, moment)."""

    tag: str
    root: str
    page: Rendered
    feed: Rendered
    alerts: Rendered
    cap: dict[tuple[str, str], Rendered] = field(default_factory=dict)
    latest: dict[str, str] = field(default_factory=dict)  # warning id → its latest moment


def answer_headers(rendered: Rendered, max_age: int) -> dict[str, str]:
    """What every public answer carries: the board's security headers, its ETag, and how long
    any cache may keep it."""
    return {
        **SECURITY_HEADERS,
        "ETag": rendered.etag,
        "Cache-Control": f"public, max-age={max_age}",
    }


def held_already(if_none_match: str | None, etag: str) -> bool:
    """Whether ``If-None-Match`` names ``etag`` (weak comparison, as RFC 9110 asks of it)."""
    if if_none_match is None:
        return False
    tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
    return etag in tags or "*" in tags


def cap_path(warning: PublicWarning, message: AlertMessage) -> str:
    return f"/public/warnings/{warning.id}/cap/{message.moment}"


class PublicEditions:
    """The worker's current ``Edition``, checked at most every ``check_seconds``."""

    def __init__(self, playbooks: Playbooks, settings: Settings) -> None:
        self.playbooks = playbooks
        self.source = CapSource.of(settings)
        self.base = settings.public_url.rstrip("/")
        self.contact = settings.cap_contact
        self.max_age = settings.public_max_age_seconds
        self.check_seconds = CHECK_SECONDS
        city = next((g for g in playbooks.grids if g.scope == "city"), None)
        self.author = playbooks.grids.hq_name(city.code) if city else ""
        self.place = city.place if city else ""
        self.environment = Environment(
            loader=FileSystemLoader(TEMPLATES),
            autoescape=select_autoescape(["html"]),
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.environment.filters.update(shanghai=shanghai, percent=percent, count=count)
        self.environment.globals.update(_=_, instruction=instruction)
        self._edition: Edition | None = None
        self._checked = -math.inf  # never checked
        self._lock = asyncio.Lock()

    def fresh(self, root: str) -> Edition | None:
        """The edition, while its last check is within ``check_seconds``: what the front
        (``service.api.public.front``) answers from without awaiting anything."""
        edition = self._edition
        if edition is None or edition.root != root:
            return None
        return edition if time.monotonic() - self._checked < self.check_seconds else None

    async def current(self, context: AppContext, root: str) -> Edition:
        """The edition to serve now."""
        edition = self._edition
        fresh = time.monotonic() - self._checked < self.check_seconds
        if edition is not None and edition.root == root and (fresh or self._lock.locked()):
            return edition
        async with self._lock:
            edition = self._edition
            checked = time.monotonic() - self._checked < self.check_seconds
            if edition is not None and edition.root == root and checked:
                return edition  # checked by the request this one waited for
            tag = await public_version(context)
            if edition is None or edition.tag != tag or edition.root != root:
                # Read after the version: a change in between is shown under the older
                # version, and read again at the next check; never the reverse.
                view = await read_public(context)
                edition = self._edition = self.render(tag, root, view)
            self._checked = time.monotonic()
            return edition

    def render(self, tag: str, root: str, view: PublicView) -> Edition:
        """Everything public of ``view``, in Chinese."""
        with use("zh"):
            documents = {
                (str(w.id), m.moment): cap_alert(w.read, m, self.playbooks.grids, self.source)
                for w in view.warnings
                for m in w.messages
            }

            def url(warning: PublicWarning, message: AlertMessage) -> str:
                return self.base + cap_path(warning, message)

            page = self.environment.get_template("public/page.html").render(
                root=root,
                view=view,
                place=self.place,
                contact=self.contact,
                cap_path=cap_path,
            )
            return Edition(
                tag=tag,
                root=root,
                page=Rendered.of(page.encode()),
                feed=Rendered.of(news_feed(view, self.base, self.author, url)),
                alerts=Rendered.of(alerts_index(view, self.base, self.author, documents, url)),
                cap={key: Rendered.of(body) for key, body in documents.items()},
                latest={str(w.id): w.latest.moment for w in view.warnings},
            )
