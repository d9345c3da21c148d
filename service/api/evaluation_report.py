"""The evaluation report (plan 6.1) as a page and as a PDF, with its restoration curve drawn.

The page is a Jinja2 template (``templates/evaluation/``); the curve is drawn by pygal as SVG,
inline in the page, its text in the page's font; the PDF is that page printed by WeasyPrint.
Chinese renders on any machine because the service ships its font: "Outage Sans SC", a
subset of Noto Sans CJK SC under the SIL Open Font License (``static/fonts/``, cut by
``tools/subset_font.py``). The page loads it from ``/fonts/``; the PDF embeds the glyphs it
uses.

WeasyPrint needs the Pango library of the system (Debian: ``libpango-1.0-0``,
``libpangoft2-1.0-0``); without it the PDF is refused (503) and the page still served.

Drawing takes a CPU for a while (a tenth of a second for the page of a 2,000-entry event, seconds
for its PDF): the routes run ``evaluation_page`` and ``evaluation_pdf`` in the worker's render
processes (``service.api.render_pool``), given the report as the flow read it and the language
to say it in.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from service.errors import Said, Unavailable
from service.flows.events.schemas import EvaluationRead, RestorationPoint
from service.plan.levels import Level
from service.plan.local_time import SHANGHAI
from service.plan.percent import NOTHING, exact_percent, percent
from service.plan.termination import OVERALL_RESTORED, PLAN_WORDS
from service.words import Locale, _, ngettext, use, when
from service.words.timeline import KIND_NAMES, level_words

if TYPE_CHECKING:
    from jinja2 import Environment

FONT_FAMILY: Final = "Outage Sans SC"
FONT_FILE: Final = "OutageSansSC-Regular.woff2"
FONTS_PATH: Final = "/fonts"  # where the page finds the font (service.app mounts it)
PANGO: Final = "apt-get install libpango-1.0-0 libpangoft2-1.0-0"

STATE_NAMES: Final[Mapping[str, Callable[[], str]]] = {
    "monitoring": lambda: _("监测"),
    "warning": lambda: _("预警"),
    "response": lambda: _("应急响应中"),
    "terminated": lambda: _("响应已终止"),
    "closed": lambda: _("已关闭"),
}
# Plan 1.3 and 3.1.1's causes as the plan words them.
CAUSE_NAMES: Final[Mapping[str, Callable[[], str]]] = {
    "typhoon": lambda: _("台风"),
    "rainstorm": lambda: _("暴雨"),
    "flood": lambda: _("洪涝"),
    "thunderstorm": lambda: _("雷电"),
    "tornado": lambda: _("龙卷风"),
    "hail": lambda: _("冰雹"),
    "snow_ice": lambda: _("雨雪冰冻"),
    "fog": lambda: _("大雾"),
    "landslide": lambda: _("山体滑坡"),
    "other_natural": lambda: _("其他自然灾害"),
    "equipment_failure": lambda: _("电网设备故障"),
    "hvdc_block": lambda: _("直流闭锁"),
    "operation_error": lambda: _("运行操作失误"),
    "protection_misoperation": lambda: _("继电保护误动"),
    "generation_shortfall": lambda: _("电源供应不足"),
    "external_damage": lambda: _("外力破坏"),
    "cyber_attack": lambda: _("网络攻击"),
    "other": lambda: _("其他原因"),
}
RELEASE_STATES: Final[Mapping[str, Callable[[], str]]] = {
    "proposed": lambda: _("待审核"),
    "published": lambda: _("已发布"),
    "rejected": lambda: _("未予发布"),
}
FINDING_KINDS: Final[Mapping[str, Callable[[], str]]] = {
    "finding": lambda: _("发现的问题"),
    "lesson": lambda: _("经验教训"),
}
# Plan 5.3 车辆和物资、人员, plan 6.3 人力、物资、财力 (service.plan.requisitions).
REQUISITION_KINDS: Final[Mapping[str, Callable[[], str]]] = {
    "vehicles": lambda: _("车辆"),
    "supplies": lambda: _("物资"),
    "personnel": lambda: _("人员"),
    "funds": lambda: _("财力"),
}
# The chart's series, each its own colour: the curve, the reports' dots, the plan's threshold.
CURVE, DOTS, THRESHOLD = "#1f5fa8", "#e07b00", "#c0392b"
# Chart steps between labelled times: the first that leaves at most MAX_TICKS labels.
TICK_STEPS: Final = tuple(
    timedelta(minutes=m) for m in (10, 15, 30, 60, 120, 180, 360, 720, 1440, 2880, 10080)
)
MAX_TICKS: Final = 8
# The restoration axis's marks, 0 to 100 %.
Y_MARKS: Final = tuple(Decimal(m) / 10 for m in range(0, 11, 2))


def font_path() -> Path:
    """The shipped font file (a real file: the package is installed unzipped)."""
    path = resources.files("service.api") / "static" / "fonts" / FONT_FILE
    if not isinstance(path, Path):
        raise RuntimeError(f"the font {FONT_FILE} is not a file on disk ({path!r})")
    return path


def fonts_dir() -> Path:
    return font_path().parent


def local(moment: datetime | None) -> str:
    """A time as people in Shaoxing read it."""
    return NOTHING if moment is None else when(moment)


def duration(minutes: Decimal | None) -> str:
    if minutes is None:
        return NOTHING
    hours, rest = divmod(int(minutes), 60)
    if hours:
        return _(
            "{hours} 小时 {rest} 分钟（共 {total} 分钟）", hours=hours, rest=rest, total=minutes
        )
    return _("{rest} 分钟（共 {total} 分钟）", rest=rest, total=minutes)


def minutes_figure(minutes: Decimal | None) -> str:
    """Minutes to a tenth as a table shows them ("180"; "12.5"), a dash for none."""
    return NOTHING if minutes is None else f"{minutes.normalize():f}"


def megawatts(value: Decimal | None) -> str:
    if value is None:
        return NOTHING
    figure = f"{value.normalize():f}"
    return _("{mw} MW", mw=figure)


def amount(value: Decimal) -> str:
    """A quantity as written, without the stored trailing zeros: 2, 1.5."""
    return f"{value.normalize():f}"


def _ticks(start: datetime, end: datetime) -> list[datetime]:
    span = max(end - start, timedelta(minutes=1))
    step = next((s for s in TICK_STEPS if span / s <= MAX_TICKS), TICK_STEPS[-1])
    local_start = start.astimezone(SHANGHAI)
    midnight = local_start.replace(hour=0, minute=0, second=0, microsecond=0)
    tick = midnight + step * ((local_start - midnight) // step)
    ticks = []
    while tick <= end + step:
        ticks.append(tick)
        tick += step
    return ticks


def _tick_label(moment: datetime, long_span: bool) -> str:
    """ "14:30" on the curve's time axis; "07-21 06:00" when it spans days."""
    shown = moment.astimezone(SHANGHAI)
    return shown.strftime("%m-%d %H:%M" if long_span else "%H:%M")


@cache
def _pygal() -> Any:
    """pygal, imported on the first chart (it and Jinja2 would add a tenth to every start).

    pygal puts a finder for its map plugins (pygal.maps.*) on sys.meta_path as it is imported,
    of the old kind (find_module) that Python 3.11 warns about at every import asked of it
    after; the service draws no maps, so the finder goes.
    """
    import pygal
    import pygal.style

    sys.meta_path[:] = [f for f in sys.meta_path if not isinstance(f, pygal.PluginImportFixer)]
    return pygal


def restoration_chart(points: list[RestorationPoint], until: datetime) -> str | None:
    """The restoration curve as inline SVG: the overall figure holds from one report to the next
    (a step, not a slope: nothing is known between reports), a dot at each report, and the 80%
    that plan 5.5 condition 2 asks. None when no report gave figures."""
    if not points:
        return None
    end = max(until, points[-1].at)
    steps: list[tuple[datetime, float]] = []
    for point in points:
        if steps:
            steps.append((point.at, steps[-1][1]))
        steps.append((point.at, float(point.overall)))
    steps.append((end, steps[-1][1]))
    ticks = _ticks(points[0].at, end)
    long_span = end - points[0].at > timedelta(hours=20)
    pygal = _pygal()
    chart = pygal.DateTimeLine(
        js=[],
        width=760,
        height=260,
        style=pygal.style.Style(
            font_family=f"'{FONT_FAMILY}', sans-serif",
            background="white",
            plot_background="white",
            colors=(CURVE, DOTS, THRESHOLD),
            foreground="#333",
            foreground_subtle="#555",
            guide_stroke_color="#c8d0d8",
            major_guide_stroke_color="#c8d0d8",
            guide_stroke_dasharray="2,3",
            major_guide_stroke_dasharray="2,3",
            label_font_size=11,
            major_label_font_size=11,
            legend_font_size=12,
        ),
        legend_at_bottom=True,
        legend_at_bottom_columns=3,
        range=(0, 1),
        # The axis's marks are round numbers, shown as such; a report's figure is rounded down.
        y_labels=[{"value": float(m), "label": exact_percent(m)} for m in Y_MARKS],
        value_formatter=percent,
        x_labels=ticks,
        x_label_rotation=0,
        x_title=_("北京时间"),
        # pygal hands the formatter naive UTC times
        x_value_formatter=lambda moment: _tick_label(moment.replace(tzinfo=UTC), long_span),
        show_x_guides=False,
        show_y_guides=True,
        truncate_legend=-1,
    )
    chart.add(_("整体负荷恢复率"), steps, show_dots=False, stroke_style={"width": 2})
    chart.add(_("调度报告"), [(p.at, float(p.overall)) for p in points], stroke=False, dots_size=3)
    threshold = float(OVERALL_RESTORED)
    chart.add(
        _("终止条件（预案5.5：恢复{share}以上）", share=exact_percent(OVERALL_RESTORED)),
        [(ticks[0], threshold), (ticks[-1], threshold)],
        show_dots=False,
        stroke_style={"width": 1, "dasharray": "6, 4"},
    )
    svg: str = chart.render(is_unicode=True, disable_xml_declaration=True)
    return svg


@cache
def _templates() -> Environment:
    """The templates, Jinja2 imported on first use."""
    from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

    environment = Environment(
        loader=PackageLoader("service.api", "templates"),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters.update(
        local=local,
        duration=duration,
        percent=percent,
        minutes=minutes_figure,
        mw=megawatts,
        amount=amount,
    )
    # the words for people (service.words): {{ _("处置经过") }}, extracted by `make words`
    environment.globals.update(_=_, ngettext=ngettext)
    return environment


def render_html(report: EvaluationRead, level_names: Mapping[Level, str], font_url: str) -> str:
    """The report as one HTML page; ``font_url`` is where the page's reader finds the font."""
    template = _templates().get_template("evaluation/report.html")
    until = report.response_ended_at or report.generated_at
    return template.render(
        report=report,
        chart=restoration_chart(report.restoration, until),
        level_names=level_names,
        level_words=level_words,
        kind_names=KIND_NAMES,
        state_name=lambda state: STATE_NAMES[state](),
        cause_name=lambda cause: CAUSE_NAMES[cause]() if cause in CAUSE_NAMES else cause,
        release_state=lambda state: RELEASE_STATES[state]() if state in RELEASE_STATES else state,
        finding_kind=lambda kind: FINDING_KINDS[kind](),
        requisition_kind=lambda kind: (
            REQUISITION_KINDS[kind]() if kind in REQUISITION_KINDS else kind
        ),
        plan_words=PLAN_WORDS,
        font_family=FONT_FAMILY,
        font_url=font_url,
        threshold=exact_percent(OVERALL_RESTORED),
    )


def render_pdf(html: str) -> bytes:
    """The page printed by WeasyPrint, the font's glyphs embedded. Fetches nothing but the
    font: the page's text is escaped, yet a renderer that follows any URL is one to close."""
    try:
        import weasyprint
    except OSError as missing:  # cffi could not load Pango
        raise Unavailable(
            Said("生成 PDF 需要 Pango 库（{pango}）：{missing}", pango=PANGO, missing=str(missing))
        ) from None

    font = font_path().as_uri()

    class OnlyTheFont(weasyprint.urls.URLFetcher):  # type: ignore[misc]
        def fetch(self, url: str, headers: Any = None) -> Any:
            if url != font:
                raise ValueError(f"the report loads nothing but its font, not {url}")
            return super().fetch(url, headers)

    document = weasyprint.HTML(string=html, url_fetcher=OnlyTheFont(fail_on_errors=True))
    pdf: bytes = document.write_pdf()
    return pdf


def evaluation_page(
    report: EvaluationRead, level_names: Mapping[Level, str], font_url: str, locale: Locale
) -> str:
    """The page in ``locale``: what a render process runs (service.api.render_pool)."""
    with use(locale):
        return render_html(report, level_names, font_url)


def evaluation_pdf(
    report: EvaluationRead, level_names: Mapping[Level, str], locale: Locale
) -> bytes:
    """The PDF in ``locale``, the page loading its font from the file: what a render process
    runs (service.api.render_pool)."""
    with use(locale):
        return render_pdf(render_html(report, level_names, font_path().as_uri()))


def load_renderers() -> None:
    """Import and set up what drawing needs (pygal, the templates compiled, WeasyPrint where
    Pango is found), once, in the fork server the render processes are forked from."""
    _pygal()
    _templates().get_template("evaluation/report.html")
    with contextlib.suppress(OSError):  # no Pango: the PDF says so when asked (503)
        import weasyprint  # noqa: F401
