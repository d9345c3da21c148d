"""What a public channel receives (plan 3.2.2.1's green channel: 新闻媒体、网站、应急广播、
电信运营企业 publish warnings to the public at once): only what is public, in words the public
reads.

- ``standard``: the Standard Webhooks envelope (signed as every standard delivery is), whose
  ``title``, ``text`` and ``data`` carry the warning or the release and nothing of the command
  centre: its headline and description (a release's body), the area by county name, the
  response level while one is declared, the HQ that published or approved it, and times in
  Beijing time. No event id, no duty, no unit, no person, no link to the board.
- ``cap``: the warning's OASIS CAP 1.2 message of that moment (``Alert``, ``Update``,
  ``Cancel``; service.flows.warnings.cap), as ``application/cap+xml``.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, Final

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from service.flows.warnings.alerts import notice_alert
from service.flows.warnings.cap import CapSource, cap_alert
from service.notify.formats import Notice, Outgoing, heading, signed
from service.plan.grids import GridRegistry
from service.plan.local_time import SHANGHAI
from service.playbooks.bundle import Playbooks
from service.words import _, when
from service.words.timeline import level_words

# The media type of CAP (registered with IANA for CAP documents).
CAP_CONTENT_TYPE: Final = "application/cap+xml"


def public_outgoing(
    url: str,
    secret: str | None,
    webhook_id: str,
    notice: Notice,
    text: PublicText,
    now: datetime,
    cap: bytes | None,
) -> Outgoing:
    """The request of one attempt at a public channel: the CAP document ``cap`` when the
    subscription takes CAP, else the standard envelope of public content; signed either way."""
    if cap is not None:
        return signed(url, secret, webhook_id, cap, CAP_CONTENT_TYPE, now)
    body = json.dumps(text.body(notice), ensure_ascii=False, separators=(",", ":")).encode()
    return signed(url, secret, webhook_id, body, "application/json", now)


async def cap_document(
    sessions: async_sessionmaker[AsyncSession],
    grids: GridRegistry,
    source: CapSource,
    notice: Notice,
) -> bytes | None:
    """The CAP 1.2 message a warning's notice tells of (its Alert, an Update, its Cancel), as
    ``GET /warnings/{id}/cap`` writes messages; None when there is none (the warning gone with
    its event)."""
    warning = notice.data.get("warning")
    if not isinstance(warning, Mapping) or "id" not in warning:
        return None
    found = await notice_alert(
        sessions, uuid.UUID(str(warning["id"])), notice.type, notice.created_at
    )
    if found is None:
        return None
    return cap_alert(found.warning, found.message, grids, source)


class PublicText:
    """A public notice's envelope and words (Chinese unless told otherwise), with the
    playbooks' names for places and HQs."""

    def __init__(self, playbooks: Playbooks, page_url: str) -> None:
        self.playbooks = playbooks
        self.page_url = page_url

    def body(self, notice: Notice) -> dict[str, Any]:
        """The standard envelope: ``{type, timestamp, title, text, links, data}``."""
        return {
            "type": notice.type,
            "timestamp": shanghai(notice.created_at),
            "title": self.title(notice),
            "text": self.markdown(notice),
            "links": self.links(notice),
            "data": self.data(notice),
        }

    def links(self, notice: Notice) -> dict[str, str]:
        """Where the public reads it: the public page, at the warning or the release (``page``);
        none for a drill, which the page never shows."""
        if notice.drill:
            return {}
        for kind in ("warning", "release"):
            subject = notice.data.get(kind)
            if isinstance(subject, Mapping) and subject.get("id"):
                return {"page": f"{self.page_url}#{kind}-{subject['id']}"}
        return {"page": self.page_url}

    def data(self, notice: Notice) -> dict[str, Any]:
        """For programs: ``drill``, the response ``level`` (its code and name, None before any),
        and the ``warning`` or the ``release`` as the public reads it."""
        level = notice.data.get("response_level")
        data: dict[str, Any] = {
            "drill": notice.drill,
            "level": {"code": level, "name": level_words(level)} if level else None,
        }
        if isinstance(warning := notice.data.get("warning"), Mapping):
            data["warning"] = {
                "id": warning.get("id"),
                "headline": warning.get("headline"),
                "description": warning.get("description"),
                "area": self._area(warning.get("area") or ()),
                "state": warning.get("state"),
                "onset": shanghai(warning.get("onset")),
                "expires": shanghai(warning.get("expires")),
                "publisher": self._hq(warning.get("published_hq")),
                "published_at": shanghai(warning.get("published_at")),
                "lifted_at": shanghai(warning.get("lifted_at")),
            }
        if isinstance(release := notice.data.get("release"), Mapping):
            data["release"] = {
                "id": release.get("id"),
                "headline": release.get("headline"),
                "body": release.get("body"),
                "area": self._area(notice.data.get("regions") or ()),
                "approver": self._hq(release.get("approved_hq")),
                "published_at": shanghai(release.get("published_at")),
            }
        return data

    def title(self, notice: Notice) -> str:
        said = (_("【演练】") if notice.drill else "") + heading(notice.type)
        subject = notice.data.get("warning") or notice.data.get("release")
        if isinstance(subject, Mapping) and subject.get("headline"):
            return _("{heading}：{headline}", heading=said, headline=subject["headline"])
        return said

    def markdown(self, notice: Notice) -> str:
        data = self.data(notice)
        lines = [f"### {self.title(notice)}"]
        if (warning := data.get("warning")) is not None:
            lines += ["", str(warning["description"] or ""), ""]
            lines.append(_("- 影响地区：{places}", places=_names(warning["area"])))
            if data["level"] is not None:
                lines.append(_("- 应急响应：{level}", level=data["level"]["name"]))
            lines += self._moments(warning)
            if warning["publisher"]:
                lines.append(_("- 发布单位：{hq}", hq=warning["publisher"]))
        if (release := data.get("release")) is not None:
            lines += ["", str(release["body"] or ""), ""]
            if release["area"]:
                lines.append(_("- 涉及地区：{places}", places=_names(release["area"])))
            if release["approver"]:
                lines.append(_("- 审核发布：{hq}", hq=release["approver"]))
            if release["published_at"]:
                moment = _when(release["published_at"])
                lines.append(_("- 发布时间：{moment}（北京时间）", moment=moment))
        if page := self.links(notice).get("page"):
            lines.append("\n" + _("[查看公众信息页]({url})", url=page))
        return "\n".join(lines)

    def _moments(self, warning: Mapping[str, Any]) -> list[str]:
        said: tuple[tuple[str, Callable[[str], str]], ...] = (
            ("onset", lambda moment: _("- 预计开始：{moment}（北京时间）", moment=moment)),
            ("expires", lambda moment: _("- 预计结束：{moment}（北京时间）", moment=moment)),
            ("published_at", lambda moment: _("- 发布时间：{moment}（北京时间）", moment=moment)),
            ("lifted_at", lambda moment: _("- 解除时间：{moment}（北京时间）", moment=moment)),
        )
        return [words(_when(warning[key])) for key, words in said if warning.get(key)]

    def _area(self, codes: Any) -> list[dict[str, str]]:
        return [{"code": str(c), "name": self.playbooks.names.place(str(c))} for c in codes]

    def _hq(self, region: Any) -> str | None:
        if not region:
            return None
        try:
            return self.playbooks.grids.hq_name(str(region))
        except KeyError:  # a grid the playbooks no longer hold: its code, never nothing
            return str(region)


def shanghai(moment: Any) -> str | None:
    """An ISO time (as a notice stores it, or a datetime) in Beijing time, the offset shown."""
    if moment is None:
        return None
    value = moment if isinstance(moment, datetime) else datetime.fromisoformat(str(moment))
    return value.astimezone(SHANGHAI).isoformat()


def _when(iso: str) -> str:
    return when(datetime.fromisoformat(iso))


def _names(area: list[dict[str, str]]) -> str:
    return _("、").join(place["name"] for place in area)
