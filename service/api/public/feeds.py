"""The public view as Atom feeds, written with feedgen.

``/public/feed.atom``: every published warning and release the page shows, the newest first, for
feed readers, media and websites (plan 3.2.2.1: 新闻媒体、网站 … 快速发布绿色通道).

``/public/alerts.atom``: the CAP index alert hubs read (as Google Public Alerts and FEMA IPAWS
consume them): one entry per warning the page shows, its ``id`` the identifier of the warning's
latest CAP message, its link that message (``application/cap+xml``), and the message's own
``cap:`` summary (event, times, status, type, urgency, severity, certainty, area) in the
entry, read from the message itself so that the index never tells another story. A lifted
warning stays listed, its link the ``Cancel``, while its event is on the page: a hub polling the
index sees the cancellation rather than an alert that merely vanished.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, Final
from xml.etree import ElementTree as ET

from feedgen.ext.base import BaseEntryExtension, BaseExtension
from feedgen.feed import FeedGenerator
from feedgen.util import xml_elem

from service.flows.public.view import PublicView, PublicWarning
from service.flows.warnings.cap import CAP_NS, instruction
from service.plan.alerts import AlertMessage
from service.words import _

CAP_TYPE: Final = "application/cap+xml"
# The fields of a CAP message an alert hub's index entry repeats, in the order it gives them.
SUMMARY: Final = (
    ("event", "info/event"),
    ("effective", "sent"),
    ("onset", "info/onset"),
    ("expires", "info/expires"),
    ("status", "status"),
    ("msgType", "msgType"),
    ("urgency", "info/urgency"),
    ("severity", "info/severity"),
    ("certainty", "info/certainty"),
    ("areaDesc", "info/area/areaDesc"),
)
# Entries of /public/feed.atom, the newest first.
FEED_ENTRIES: Final = 100


class EntryLinks(BaseExtension):  # type: ignore[misc]
    """Nothing on the feed itself: its entries carry ``EntryLinksEntry``."""


class EntryLinksEntry(BaseEntryExtension):  # type: ignore[misc]
    """An entry's links written whole. feedgen 1.0.0 writes an entry's ``link`` with its
    ``href`` alone (its loop rebinds the name holding the link's fields to the new element),
    losing ``rel`` and ``type``, and a hub finds a CAP message by its link's type. Each link
    given here is completed where feedgen wrote it (it must hold an alternate one) or added."""

    def __init__(self) -> None:
        self.links: list[dict[str, str]] = []

    def extend_atom(self, entry: Any) -> Any:
        written = {element.get("href"): element for element in entry.iter("{*}link")}
        for link in self.links:
            element = written.get(link["href"])
            if element is None:
                element = xml_elem("link", entry)
            for name, value in link.items():
                element.attrib[name] = value
        return entry


def _links(entry: Any, *links: dict[str, str]) -> None:
    """``links`` on ``entry``, the first its alternate (as feedgen asks of an entry)."""
    entry.link(href=links[0]["href"], rel="alternate")
    entry.links.links = list(links)


class CapIndex(BaseExtension):  # type: ignore[misc]
    """The ``cap:`` namespace on the index's root."""

    def extend_ns(self) -> dict[str, str]:
        return {"cap": CAP_NS}


class CapIndexEntry(BaseEntryExtension):  # type: ignore[misc]
    """An index entry's ``cap:`` summary of its message."""

    def __init__(self) -> None:
        self.fields: list[tuple[str, str]] = []

    def extend_ns(self) -> dict[str, str]:
        return {"cap": CAP_NS}

    def extend_atom(self, entry: Any) -> Any:
        for tag, text in self.fields:
            xml_elem(f"{{{CAP_NS}}}{tag}", entry).text = text
        return entry


def cap_summary(document: bytes) -> list[tuple[str, str]]:
    """The index's ``cap:`` fields of one CAP message, as the message gives them (every
    ``areaDesc``)."""
    root = ET.fromstring(document)
    found: list[tuple[str, str]] = []
    for tag, path in SUMMARY:
        qualified = "/".join(f"{{{CAP_NS}}}{part}" for part in path.split("/"))
        found += [(tag, element.text or "") for element in root.findall(qualified)]
    return found


def _feed(base: str, path: str, title: str, author: str, changed: datetime | None) -> FeedGenerator:
    feed = FeedGenerator()
    feed.id(f"{base}{path}")
    feed.title(title)
    feed.author({"name": author})
    feed.link(href=f"{base}{path}", rel="self")
    feed.link(href=f"{base}/public", rel="alternate", type="text/html")
    feed.language("zh-CN")
    feed.register_extension("links", EntryLinks, EntryLinksEntry)
    if changed is not None:
        feed.updated(changed)
    return feed


def news_feed(
    view: PublicView, base: str, author: str, cap_url: Callable[[PublicWarning, AlertMessage], str]
) -> bytes:
    """``/public/feed.atom``: the warnings (their latest message's time) and the releases."""
    title = _("{author}：停电预警与信息发布", author=author)
    feed = _feed(base, "/public/feed.atom", title, author, view.changed_at)
    items: list[tuple[datetime, Callable[[Any], None]]] = []
    for warning in view.warnings:

        def add_warning(entry: Any, warning: PublicWarning = warning) -> None:
            latest = warning.latest
            lifted = not warning.active
            entry.id(f"urn:uuid:{warning.id}")
            entry.title(
                _("解除预警：{headline}", headline=warning.headline)
                if lifted
                else _("停电预警：{headline}", headline=warning.headline)
            )
            entry.published(warning.published_at)
            entry.updated(latest.sent)
            entry.author({"name": warning.publisher})
            entry.category(term="warning", label=_("预警"))
            entry.summary(f"{warning.description}\n{instruction(lifted)}")
            _links(
                entry,
                {"href": f"{base}/public#warning-{warning.id}", "rel": "alternate"},
                {"href": cap_url(warning, latest), "rel": "related", "type": CAP_TYPE},
            )

        items.append((warning.latest.sent, add_warning))
    for release in view.releases:

        def add_release(entry: Any, release: Any = release) -> None:
            entry.id(f"urn:uuid:{release.id}")
            entry.title(release.headline)
            entry.published(release.published_at)
            entry.updated(release.published_at)
            entry.author({"name": release.publisher})
            entry.category(term="release", label=_("信息发布"))
            entry.content(release.body, type="text")
            _links(entry, {"href": f"{base}/public#release-{release.id}", "rel": "alternate"})

        items.append((release.published_at, add_release))
    # feedgen writes entries in the reverse order of adding them: the oldest is added first.
    for _at, fill in sorted(items, key=lambda item: item[0])[-FEED_ENTRIES:]:
        fill(feed.add_entry())
    written: bytes = feed.atom_str(pretty=False)
    return written


def alerts_index(
    view: PublicView,
    base: str,
    author: str,
    documents: Mapping[tuple[str, str], bytes],
    cap_url: Callable[[PublicWarning, AlertMessage], str],
) -> bytes:
    """``/public/alerts.atom``: each warning's latest CAP message, by ``documents`` (keyed by
    warning id and moment)."""
    title = _("{author}：停电预警（CAP）", author=author)
    feed = _feed(base, "/public/alerts.atom", title, author, view.changed_at)
    feed.register_extension("cap", CapIndex, CapIndexEntry)
    for warning in sorted(view.alerts, key=lambda w: w.latest.sent):
        latest = warning.latest
        entry = feed.add_entry()
        entry.id(latest.identifier)
        entry.title(warning.headline)
        entry.published(latest.sent)
        entry.updated(latest.sent)
        entry.author({"name": warning.publisher})
        entry.summary(warning.description)
        _links(entry, {"href": cap_url(warning, latest), "rel": "alternate", "type": CAP_TYPE})
        entry.cap.fields = cap_summary(documents[(str(warning.id), latest.moment)])
    written: bytes = feed.atom_str(pretty=False)
    return written
