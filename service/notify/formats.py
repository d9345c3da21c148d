"""What one delivery posts, in each subscription format, and what its answer means
(design § Notifications).

- ``standard``: the Standard Webhooks convention, body ``{type, timestamp, data}``, signed by the
  ``standardwebhooks`` package; ``webhook-id`` is the delivery's id, the same on every attempt.
  A public channel's (and ``cap``) are written by service.notify.public, signed the same way.
- ``wecom``: a WeCom group robot's markdown message (企业微信群机器人).
- ``dingtalk``: a DingTalk group robot's markdown message (钉钉自定义机器人), signed with its
  ``timestamp`` and ``sign`` query parameters when the subscription has a secret.

The robots' text is Chinese, for a duty officer's phone: the event, its level, the action, its
agency and due time in Beijing time, a link to the duty's own page where its unit acknowledges
and completes it, and a link to the board.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, Final

from standardwebhooks.webhooks import Webhook

from service.plan.notifications import Format
from service.plan.timeline import TimelineKind
from service.playbooks.bundle import Playbooks
from service.words import _, last_day, when
from service.words.timeline import SaidNow, kind_label, level_words

# The timeline entry each notice tells of: the group chat calls it what the board calls it.
NOTICE_KINDS: Final[Mapping[str, TimelineKind]] = {
    "event.opened": "event_opened",
    "warning.published": "warning_published",
    "warning.lifted": "warning_lifted",
    "release.published": "release_published",
    "action.dispatched": "actions_dispatched",
    "action.overdue": "action_overdue",
    "action.reminder": "action_reminder",
    "response.terminated": "response_terminated",
    "event.closed": "event_closed",
}


# A standing task's notices (design § Standing duties) tell of no event, nor of its timeline.
STANDING_HEADINGS: Final = SaidNow(
    {
        "standing.raised": lambda: _("常备任务下达"),
        "standing.overdue": lambda: _("常备任务超时"),
        "standing.reminder": lambda: _("常备任务超时提醒"),
    }
)


def heading(notice_type: str) -> str:
    """What a notice is called in the group chat: its timeline entry's name. A change of the
    event's level or its response level comes of a report's classification as much as of a
    commander's start, raise or lower: no one entry's name."""
    if notice_type == "event.level_changed":
        return _("事件级别调整")
    if notice_type == "warning.updated":
        return _("预警更新")  # the response level moved while the warning stands
    if notice_type in STANDING_HEADINGS:
        return STANDING_HEADINGS[notice_type]
    kind = NOTICE_KINDS.get(notice_type)
    return kind_label(kind) if kind else notice_type


# The formats whose receivers are group robots, answering 200 with an ``errcode``.
ROBOTS: Final = frozenset({"wecom", "dingtalk"})

# A 4xx answer other than these says the request itself is wrong: trying again cannot help.
RETRYABLE_4XX: Final = frozenset({408, 429})


@dataclass(frozen=True, slots=True)
class Notice:
    """One outbox message as the deliverer reads it."""

    type: str
    drill: bool
    data: Mapping[str, Any]
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One attempt's request: a POST of ``content`` to ``url`` with ``params`` and ``headers``."""

    url: str
    params: Mapping[str, str]
    headers: Mapping[str, str]
    content: bytes


@dataclass(frozen=True, slots=True)
class Answer:
    """A receiver's answer as the deliverer keeps it: its status, its headers and at most the
    first few KB of its body (the deliverer never reads more, whatever the receiver sends)."""

    status: int
    headers: Mapping[str, str]  # names in lower case
    body: bytes = b""


@dataclass(frozen=True, slots=True)
class Outcome:
    """What an attempt came to: ``delivered``; otherwise whether trying again may help
    (``retry``), and after how long at least the receiver asked (``retry_after``, seconds)."""

    delivered: bool
    status: int | None = None
    error: str | None = None
    retry: bool = True
    retry_after: float | None = None


class NoticeText:
    """A notice's markdown for people (Chinese unless told otherwise, service.words), with the
    playbooks' names for levels, agencies and HQs, and times in Beijing time."""

    def __init__(self, playbooks: Playbooks, public_url: str) -> None:
        self.playbooks = playbooks
        self.board_url = public_url.rstrip("/") + "/board"

    def title(self, notice: Notice) -> str:
        if notice.type == "event.closed" and notice.data.get("dismissed") is True:
            said = kind_label("event_dismissed")  # a dismissal closes the event, saying so
        else:
            said = heading(notice.type)
        return (_("【演练】") if notice.drill else "") + said

    def markdown(self, notice: Notice) -> str:
        data = notice.data
        lines = [f"### {self.title(notice)}"]
        if isinstance(task := data.get("task"), Mapping):
            # a standing task: no event, no level
            lines += self._task_lines(task)
            lines.append("\n" + _("[查看指挥看板]({url})", url=self.board_url))
            return "\n".join(lines)
        if regions := data.get("regions"):
            places = _("、").join(self.playbooks.names.place(str(r)) for r in regions)
            lines.append(_("- 停电地区：{places}", places=places))
        lines.append(_("- 事件级别：{level}", level=level_words(data.get("level"))))
        if data.get("response_level") is not None:
            lines.append(_("- 响应级别：{level}", level=level_words(data["response_level"])))
        if notice.type in ("event.level_changed", "warning.updated"):
            before = data.get("previous_response_level") or data.get("previous_level")
            lines.append(_("- 调整前：{level}", level=level_words(before)))
        if (hq := data.get("leading_hq")) is not None:
            lines.append(_("- 牵头指挥部：{hq}", hq=self._hq_name(str(hq))))
        if isinstance(warning := data.get("warning"), Mapping):
            lines.append(_("- 预警：{headline}", headline=warning.get("headline", "")))
        if isinstance(release := data.get("release"), Mapping):
            lines.append(_("- 信息发布：{headline}", headline=release.get("headline", "")))
        if isinstance(action := data.get("action"), Mapping):
            lines += self._action_lines(action)
            if url := self.duty_url(action):
                # the duty itself, where its unit acknowledges and completes it (no token in
                # the link: one signed out is asked to sign in, and lands back on it)
                lines.append("\n" + _("[处理此任务]({url})", url=url))
        lines.append("\n" + _("[查看指挥看板]({url})", url=self.board_url))
        return "\n".join(lines)

    def links(self, notice: Notice) -> dict[str, str]:
        """Where a person acts on the notice: the board, and a duty's own page (``duty``)."""
        found = {"board": self.board_url}
        action = notice.data.get("action")
        if isinstance(action, Mapping) and (url := self.duty_url(action)):
            found["duty"] = url
        return found

    def duty_url(self, action: Mapping[str, Any]) -> str | None:
        """The duty's page on the board (/board/duties/{id}), where its unit acts on it."""
        action_id = action.get("id")
        return f"{self.board_url}/duties/{action_id}" if action_id else None

    def _action_lines(self, action: Mapping[str, Any]) -> list[str]:
        agency = self.playbooks.agencies.get(str(action.get("agency", "")))
        lines = [
            _("- 任务：{title}", title=action.get("title", "")),
            _("- 承办单位：{unit}", unit=agency.name if agency else action.get("agency", "")),
        ]
        if due := action.get("due_at"):
            moment = when(datetime.fromisoformat(str(due)))
            # what the due time asks for (design § Deadlines)
            if action.get("due_on") == "completion":
                lines.append(_("- 完成时限：{moment}（北京时间）", moment=moment))
            else:
                lines.append(_("- 确认时限：{moment}（北京时间）", moment=moment))
        return lines

    def _task_lines(self, task: Mapping[str, Any]) -> list[str]:
        agency = self.playbooks.agencies.get(str(task.get("agency", "")))
        lines = [
            _("- 常备任务：{title}", title=task.get("title", "")),
            _("- 承办单位：{unit}", unit=agency.name if agency else task.get("agency", "")),
            _("- 依据：预案 {clause}", clause=task.get("clause", "")),
        ]
        if due := task.get("due_at"):
            lines.append(_("- 完成时限：{day}", day=last_day(datetime.fromisoformat(str(due)))))
        if task.get("from_drill"):
            lines.append(_("- 来源：演练评估发现的问题"))
        elif task.get("finding_id"):
            lines.append(_("- 来源：处置评估发现的问题"))
        return lines

    def _hq_name(self, region: str) -> str:
        hq = self.playbooks.agencies.get(self.playbooks.agencies.hq_for_region(region))
        return hq.name if hq is not None else region


def outgoing(
    fmt: Format,
    url: str,
    secret: str | None,
    webhook_id: str,
    notice: Notice,
    text: NoticeText,
    now: datetime,
) -> Outgoing:
    """The request of one attempt at ``now`` in format ``fmt``."""
    json_headers = {"content-type": "application/json"}
    if fmt == "standard":
        # ``title`` and ``text``: the words the group-chat robots get, for a receiver that
        # shows the notice to people; ``data`` is for programs
        body = {
            "type": notice.type,
            "timestamp": notice.created_at.isoformat(),
            "title": text.title(notice),
            "text": text.markdown(notice),
            "links": text.links(notice),
            "data": notice.data,
        }
        return signed(url, secret, webhook_id, _json(body), "application/json", now)
    if fmt == "wecom":
        message = {"msgtype": "markdown", "markdown": {"content": text.markdown(notice)}}
        return Outgoing(url, {}, json_headers, _json(message))
    markdown = {"title": text.title(notice), "text": text.markdown(notice)}
    params = dingtalk_signature(secret, now) if secret else {}
    return Outgoing(url, params, json_headers, _json({"msgtype": "markdown", "markdown": markdown}))


def signed(
    url: str, secret: str | None, webhook_id: str, body: bytes, content_type: str, now: datetime
) -> Outgoing:
    """A Standard Webhooks request: ``webhook-id``, ``webhook-timestamp`` (the attempt's) and,
    with a secret, ``webhook-signature`` over ``id.timestamp.body``, whatever the body's type."""
    headers = {
        "content-type": content_type,
        "webhook-id": webhook_id,
        "webhook-timestamp": str(int(now.timestamp())),
    }
    if secret:
        headers["webhook-signature"] = Webhook(secret).sign(webhook_id, now, body.decode())
    return Outgoing(url, {}, headers, body)


def dingtalk_signature(secret: str, now: datetime) -> dict[str, str]:
    """DingTalk's 加签: ``timestamp`` in milliseconds and ``sign``, the base64 HMAC-SHA256 of
    ``f"{timestamp}\\n{secret}"`` keyed by the secret (httpx URL-encodes it as a parameter)."""
    timestamp = str(int(now.timestamp() * 1000))
    digest = hmac.new(secret.encode(), f"{timestamp}\n{secret}".encode(), hashlib.sha256)
    return {"timestamp": timestamp, "sign": base64.b64encode(digest.digest()).decode()}


def judge(fmt: Format, answer: Answer, now: datetime) -> Outcome:
    """What an answer means. 2xx delivers, except a robot's nonzero ``errcode`` (they answer
    200 with it); a 4xx other than 408 and 429 is final; the rest is tried again, no sooner than
    a ``Retry-After`` says."""
    status = answer.status
    if 200 <= status < 300:
        if fmt in ROBOTS and (refusal := _robot_refusal(answer.body)) is not None:
            return Outcome(False, status, refusal)
        return Outcome(True, status)
    error = f"HTTP {status}: {answer.body.decode('utf-8', 'replace')[:200]}"
    if 400 <= status < 500 and status not in RETRYABLE_4XX:
        return Outcome(False, status, error, retry=False)
    return Outcome(False, status, error, retry_after=retry_after(answer.headers, now))


def failed(error: Exception) -> Outcome:
    """An attempt that got no answer: refused, reset, timed out."""
    return Outcome(False, None, f"{type(error).__name__}: {error}"[:500])


_SECONDS = re.compile(r"[0-9]+")


def retry_after(headers: Mapping[str, str], now: datetime) -> float | None:
    """``Retry-After`` in seconds: given as seconds (ASCII digits, of any length: a number too
    large for a float is infinity, for the deliverer to cap), or as an HTTP date."""
    value = headers.get("retry-after")
    if value is None:
        return None
    value = value.strip()
    if _SECONDS.fullmatch(value):
        return float(value)
    try:
        date = parsedate_to_datetime(value)
    except (TypeError, ValueError, OverflowError):
        return None
    if date.tzinfo is None:
        date = date.replace(tzinfo=UTC)
    return max((date - now).total_seconds(), 0.0)


def _robot_refusal(body: bytes) -> str | None:
    try:
        answer = json.loads(body)
    except (ValueError, RecursionError):  # not JSON, cut short, or nested past reason
        return None
    if isinstance(answer, dict) and answer.get("errcode", 0) != 0:
        # design § Notifications: the errmsg is kept as last_error (the code, when it says nothing)
        return str(answer.get("errmsg") or f"errcode {answer['errcode']}")[:500]
    return None


def _json(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()
