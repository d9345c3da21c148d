"""The board as HTML: Jinja2 templates (``service/api/templates/board/``), Chinese labels, and
the rendered events kept per version, and each event's part kept per version of the event.

The events' part of the page depends only on what is stored and on which open actions are past
due, which is what the board's version names (``service.flows.events.board.board_version``): it
holds no clock reading of its own. How long an action has left is counted down in the browser
from its ``data-due`` time (``static/board/board.js``); the page shows the due time itself. So
one render serves every viewer of the same scope until the version moves: twenty wall displays
and phones polling cost one render per change per worker, not one per poll.

The same holds for one event's card and summary row and the event's own version
(``EventVersion``): ``EventParts`` keeps them, so that a change to one event draws that event's
part alone, and the page around the parts, whatever else is open. Parts and pages are kept as
the UTF-8 they are sent as: a page is the layout's few bytes and its parts' joined, never the
whole text encoded again for each answer.
"""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Final

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from service.api.board.curve import curve_svg
from service.api.board.parts import DrawnEvent, DrawnPages, EventParts
from service.flows.events.board import Board, EventVersion
from service.flows.events.board_events import BoardEvent, is_overdue, still_owed
from service.plan.actor import Actor
from service.plan.levels import Level
from service.plan.local_time import SHANGHAI
from service.plan.percent import NOTHING, percent
from service.playbooks.bundle import Playbooks
from service.words import _, last_day, ngettext
from service.words.timeline import KIND_NAMES, SaidNow, actor_words, condition_words

TEMPLATES: Final = Path(__file__).resolve().parent.parent / "templates"

# Said when read (SaidNow), so that each is in the language of the moment.
STATE_LABELS: Final = SaidNow(
    {
        "monitoring": lambda: _("监测"),
        "warning": lambda: _("预警"),
        "response": lambda: _("应急响应"),
        "terminated": lambda: _("响应已终止"),
        "closed": lambda: _("已关闭"),
    }
)
WARNING_STATE_LABELS: Final = SaidNow(
    {
        "proposed": lambda: _("待发布"),
        "published": lambda: _("已发布"),
        "lifted": lambda: _("已解除"),
    }
)
RELEASE_STATE_LABELS: Final = SaidNow(
    {
        "proposed": lambda: _("送审中"),
        "published": lambda: _("已发布"),
        "rejected": lambda: _("已退回"),
    }
)
ACTION_STATE_LABELS: Final = SaidNow(
    {
        "pending": lambda: _("待接收"),
        "acknowledged": lambda: _("已接收"),
        "done": lambda: _("已完成"),
        "cancelled": lambda: _("已取消"),
        "superseded": lambda: _("已被替代"),
    }
)
PHASE_LABELS: Final = SaidNow(
    {
        "monitoring": lambda: _("监测"),
        "warning": lambda: _("预警"),
        "first_response": lambda: _("先期处置"),
        "response": lambda: _("应急响应"),
        "post_event": lambda: _("后期处置"),
    }
)
ROLE_LABELS: Final = SaidNow(
    {
        "admin": lambda: _("系统管理员"),
        "dispatcher": lambda: _("调度"),
        "commander": lambda: _("指挥部"),
        "observer": lambda: _("观察员"),
        "agency": lambda: _("单位"),
    }
)
# Where each event's part goes in the layout (board/events.html) as drawn: a comment no text
# drawn there can make, since autoescape turns every "<" of the data into "&lt;".
PART_PLACE: Final = re.compile(r"<!--part (\d+)-->")
# Open duties listed in an event's first screen (overdue first); the rest under its agencies.
DUTIES_SHOWN: Final = 6
# Open standing tasks listed under 常备任务 (overdue first); the rest counted.
STANDING_SHOWN: Final = 8


def shanghai(moment: datetime | None, pattern: str = "%m-%d %H:%M") -> str:
    return NOTHING if moment is None else moment.astimezone(SHANGHAI).strftime(pattern)


def megawatts(value: Decimal | None) -> str:
    """MW as a commander reads them across a room: 40, 60.4 (never 40.000)."""
    if value is None:
        return NOTHING
    return f"{value.quantize(Decimal('0.1')).normalize():,f}"


def count(value: int | None) -> str:
    """A count of customers (户) with thousands separated: 160,000."""
    return NOTHING if value is None else f"{value:,}"


def script_words() -> dict[str, str]:
    """The words board.js says: an action's time left (29 天 23 小时 rather than 43198 分钟)
    and whether the page still hears from the service, in the catalogue's language."""
    return {
        "left": _("剩余 {t}"),
        "late": _("超时 {t}"),
        "days": _("{d} 天 {h} 小时"),
        "hours": _("{h} 小时 {m} 分钟"),
        "minutes": _("{m} 分钟"),
        "heard": _("实时 · {time} 已更新"),
        "lost": _("连接中断，正在重试 · 显示的可能不是最新情况"),
    }


class BoardPages:
    """The board's templates with the playbooks' names (levels, agencies, grids) at hand."""

    def __init__(self, playbooks: Playbooks) -> None:
        self.playbooks = playbooks
        self.environment = Environment(
            loader=FileSystemLoader(TEMPLATES),
            autoescape=select_autoescape(["html"]),
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.environment.filters.update(
            shanghai=shanghai,
            percent=percent,
            megawatts=megawatts,
            count=count,
            last_day=last_day,
            condition_words=condition_words,
        )
        self.environment.filters["grid_name"] = self.grid_name
        # the words for people (service.words): {{ _("事件时间线") }}, extracted by `make words`
        self.environment.globals.update(_=_, ngettext=ngettext)
        self.environment.globals.update(
            level_label=self.level_label,
            agency_name=self.agency_name,
            grid_name=self.grid_name,
            hq_name=self.hq_name,
            lead=self.lead,
            curve_svg=curve_svg,
            script_words=script_words,
            duties_shown=DUTIES_SHOWN,
            standing_shown=STANDING_SHOWN,
            viewer_label=self.viewer_label,
            states=STATE_LABELS,
            action_states=ACTION_STATE_LABELS,
            warning_states=WARNING_STATE_LABELS,
            release_states=RELEASE_STATE_LABELS,
            phases=PHASE_LABELS,
            timeline_kinds=KIND_NAMES,
            time_zone=SHANGHAI.key,
            condition_words=condition_words,
            actor_words=actor_words,
        )
        self.pages = DrawnPages()
        self.parts = EventParts()

    def level_label(self, level: Level | None) -> str:
        """ "IV级 一般" … "I级 特别重大" (the names are classification.yaml's); "未达分级" below
        every threshold."""
        return self.playbooks.rules.label(level)

    def agency_name(self, code: str) -> str:
        agency = self.playbooks.agencies.get(code)
        return agency.name if agency is not None else code

    def grid_name(self, code: str) -> str:
        grid = self.playbooks.grids.get(code)
        return grid.name if grid is not None else code

    def hq_name(self, code: str) -> str:
        """An HQ by the region it commands: 330600 → 绍兴市大面积停电事件应急指挥部."""
        return self.playbooks.grids.hq_name(code) if code in self.playbooks.grids else code

    def lead(self, shown: BoardEvent) -> tuple[str, str]:
        """Who the event's heading names, and as what: the leading HQ (plan 2.2); before a
        response, the HQ that published its warning (plan 3.2.2.1, 谁发布、谁解除)."""
        if shown.event.leading_hq is not None:
            return _("牵头"), shown.event.leading_hq.name
        if (published := shown.published_by) is not None:
            return _("预警发布"), self.hq_name(published)
        return "", _("尚无牵头指挥部")

    def viewer_label(self, actor: Actor) -> str:
        """Who is signed in, as the masthead shows it: "绍兴电力局 · 值班", say."""
        if actor.role == "agency" and actor.agency:
            who = self.agency_name(actor.agency)
        elif actor.role == "commander" and actor.region:
            who = self.playbooks.grids.hq_name(actor.region)
        else:
            who = ROLE_LABELS[actor.role]
        return _("{who} · {name}", who=who, name=actor.name)

    def events(self, tag: str, board: Board[DrawnEvent]) -> bytes:
        """The events' part of the page for ``board`` at version ``tag``, rendered once: each
        event read anew drawn and kept in ``parts``, the others' parts placed as drawn."""
        drawn: dict[EventVersion, DrawnEvent] = {}
        fresh: list[tuple[EventVersion, BoardEvent]] = []
        for entry in (*board.live, *board.ended):
            if isinstance(entry.shown, BoardEvent):
                fresh.append((entry.version, entry.shown))
            else:
                drawn[entry.version] = entry.shown
        if fresh:
            macros: Any = self.environment.get_template("board/event.html").make_module(
                {
                    "board": board,
                    "overdue": lambda action: is_overdue(action, board.at),
                    "owed": still_owed,
                }
            )
            for version, shown in fresh:
                card, row = macros.event_card(shown), macros.summary_row(shown)
                part = DrawnEvent(card.encode(), row.encode())
                self.parts.keep(version, part)
                drawn[version] = part
        placed: list[bytes] = []

        def place(held: bytes) -> Markup:
            placed.append(held)
            return Markup(f"<!--part {len(placed) - 1}-->")

        layout = self.environment.get_template("board/events.html").render(
            board=board,
            card=lambda entry: place(drawn[entry.version].card),
            summary_row=lambda entry: place(drawn[entry.version].summary_row),
        )
        pieces = PART_PLACE.split(layout)  # the layout's text, then a part's number, in turn
        html = b"".join(
            placed[int(piece)] if n % 2 else piece.encode() for n, piece in enumerate(pieces)
        )
        self.pages.keep(tag, html)
        return html

    def cached_events(self, tag: str) -> bytes | None:
        return self.pages.get(tag)

    def drawn_part(self, version: EventVersion) -> DrawnEvent | None:
        return self.parts.get(version)

    def page(self, name: str, **values: Any) -> str:
        return self.environment.get_template(f"board/{name}").render(**values)
