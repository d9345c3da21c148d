"""An event's timeline as people read it: each entry's sentence, from its kind and its data.

The stored ``summary`` of an entry is the record as it was written (hash-chained, never
rewritten, in the terms of the code); what the board, the evaluation report and the API's
``text`` show is said here, in the current language, with names for codes: the unit (市公安局,
not ``police``), the HQ (绍兴市大面积停电事件应急指挥部, not ``330600``), the duty by its title.
Entries written before a field was recorded say what they can without it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any, Final, Protocol

from service.plan.timeline import TimelineKind
from service.words import _, ngettext, when

log = logging.getLogger(__name__)


class Names(Protocol):
    """Names for the codes a timeline holds (service.playbooks.names.PlaybookNames)."""

    def unit(self, code: str) -> str:
        """A unit of the plan by its name (the code where none is known)."""
        ...

    def hq(self, region: str) -> str:
        """The HQ of a region: 绍兴市大面积停电事件应急指挥部."""
        ...

    def place(self, region: str) -> str:
        """A region by its name: 柯桥区."""
        ...

    def duty(self, key: str) -> str:
        """A duty of the playbooks by its title."""
        ...


def kind_label(kind: str) -> str:
    """What a kind of entry is called (the plan's phrasing: 5.1 启动、提升、降低响应级别; 5.5
    终止应急响应; 3.2.2 发布、解除预警; 4 信息报告)."""
    label = KIND_LABELS.get(kind)
    return label() if label else kind


# Built on call, so that each is said in the language of the moment.
KIND_LABELS: Final[Mapping[TimelineKind | str, Callable[[], str]]] = {
    "event_opened": lambda: _("事件开启"),
    "report": lambda: _("信息报告"),
    "leading_hq_changed": lambda: _("牵头指挥部变更"),
    "warning_proposed": lambda: _("提出预警建议"),
    "warning_published": lambda: _("发布预警"),
    "warning_lifted": lambda: _("解除预警"),
    "response_started": lambda: _("启动应急响应"),
    "response_raised": lambda: _("提升响应级别"),
    "response_lowered": lambda: _("降低响应级别"),
    "report_run_started": lambda: _("信息报告启动"),
    "actions_dispatched": lambda: _("任务下达"),
    "actions_cancelled": lambda: _("任务批量取消"),
    "actions_handed_over": lambda: _("任务移交"),
    "actions_superseded": lambda: _("任务替代"),
    "action_acknowledged": lambda: _("任务接收"),
    "action_noted": lambda: _("任务备注"),
    "action_approved": lambda: _("任务获政府批准"),
    "action_completed": lambda: _("任务完成"),
    "action_cancelled": lambda: _("任务取消"),
    "action_overdue": lambda: _("任务超时"),
    "action_reminder": lambda: _("任务催办"),
    "release_proposed": lambda: _("信息发布送审"),
    "release_published": lambda: _("信息发布"),
    "release_rejected": lambda: _("信息发布退回"),
    "requisition_recorded": lambda: _("征用登记"),
    "requisition_returned": lambda: _("征用归还"),
    "attestation": lambda: _("终止条件确认"),
    "attestation_withdrawn": lambda: _("终止条件确认撤回"),
    "attestations_voided": lambda: _("终止条件确认作废"),
    "transition_refused": lambda: _("操作被拒绝"),
    "response_terminated": lambda: _("终止应急响应"),
    "event_dismissed": lambda: _("事件撤销"),
    "event_closed": lambda: _("事件关闭"),
}


class SaidNow(Mapping[str, str]):
    """A table of words said in the language of the moment each is read (for templates)."""

    def __init__(self, words: Mapping[str, Callable[[], str]]) -> None:
        self._words = words

    def __getitem__(self, key: str) -> str:
        return self._words[key]()

    def __iter__(self) -> Iterator[str]:
        return iter(self._words)

    def __len__(self) -> int:
        return len(self._words)


def level_words(level: str | None) -> str:
    """``IV级 一般``; below every threshold: 未达分级标准."""
    names = LEVEL_NAMES.get(level or "")
    if names is None:
        return _("未达分级标准")
    return _("{level}级 {name}", level=level, name=names())


LEVEL_NAMES: Final[Mapping[str, Callable[[], str]]] = {
    "I": lambda: _("特别重大"),
    "II": lambda: _("重大"),
    "III": lambda: _("较大"),
    "IV": lambda: _("一般"),
}


def condition_words(condition: str) -> str:
    """A condition of plan 5.5 in short."""
    words = CONDITION_WORDS.get(condition)
    return words() if words else condition


CONDITION_WORDS: Final[Mapping[str, Callable[[], str]]] = {
    "grid_stable": lambda: _("电网主干网架基本恢复、运行参数在稳定限额内"),
    "load_restored": lambda: _("减供负荷恢复"),
    "hazard_removed": lambda: _("停电隐患基本消除"),
    "secondary_handled": lambda: _("次生衍生事件基本处置完成"),
}


def actor_words(actor: str) -> str:
    """Who acted, by name: a token's name without its role and region (``commander:市指挥部
    指挥长@330600`` → 市指挥部 指挥长); the service itself: 系统. A drill's actors keep their
    name and say so."""
    if actor in ("", "system"):
        return _("系统")
    _role, sep, rest = actor.partition(":")
    name = (rest if sep else actor).strip()
    name, _at, _region = name.partition("@")
    if name.startswith("drill:"):
        return _("{name}（演练）", name=name.removeprefix("drill:").strip())
    return name.strip() or _("系统")


def _units(codes: Sequence[str] | None, names: Names) -> str:
    return _("、").join(names.unit(code) for code in codes or ())


# The reasons the service itself gives when it cancels duties in bulk, by the clause it acts on.
CANCELLED_BY_CLAUSE: Final[Mapping[str, Callable[[], str]]] = {
    "3.2.2.3": lambda: _("预警解除"),
    "5.1": lambda: _("响应级别调整"),
    "5.5": lambda: _("应急响应终止"),
    "1.5": lambda: _("事件撤销"),
}

PHASE_WORDS: Final[Mapping[str, Callable[[], str]]] = {
    "monitoring": lambda: _("监测"),
    "warning": lambda: _("预警"),
    "first_response": lambda: _("先期处置与首报"),
    "response": lambda: _("应急响应"),
    "post_event": lambda: _("后期处置"),
}


def entry_text(
    kind: str,
    data: Mapping[str, Any],
    actor: str,
    names: Names,
    *,
    clause: str | None = None,
) -> str:
    """The sentence of one timeline entry, in the current language, with names for codes."""
    who = actor_words(actor)
    phrase = PHRASES.get(kind)
    if phrase is None:
        return kind_label(kind)
    try:
        return phrase(data, who, names, clause)
    except (AttributeError, KeyError, TypeError, ValueError):
        # A record is read long after it is written: data of a shape these phrases no longer
        # expect still reads as what it is, never as a failed page.
        log.warning("timeline entry of kind %s not phrased: %r", kind, dict(data), exc_info=True)
        return _("{who}：{kind}", who=who, kind=kind_label(kind))


Phrase = Callable[[Mapping[str, Any], str, Names, "str | None"], str]


def _reason(data: Mapping[str, Any]) -> str:
    reason = data.get("reason")
    return _("（{reason}）", reason=reason) if reason else ""


def _duty(data: Mapping[str, Any], names: Names) -> str:
    key = data.get("key")
    return names.duty(key) if isinstance(key, str) else _("一项任务")


def _dispatched(d: Mapping[str, Any], who: str, names: Names, clause: str | None) -> str:
    count = len(d.get("keys") or ())
    phase = PHASE_WORDS.get(str(d.get("phase")))
    said = ngettext(
        "向{units}下达{phase}任务 {n} 项",
        "向{units}下达{phase}任务 {n} 项",
        count,
        units=_units(d.get("agencies"), names),
        phase=phase() if phase else "",
    )
    run = d.get("run")
    return said + (_("（第 {run} 轮信息报告）", run=run) if isinstance(run, int) else "")


# Why a run of plan 4's chain started (service.flows.actions.dispatch.RunReason).
RUN_REASONS: Final[Mapping[str, Callable[[Mapping[str, Any]], str]]] = {
    "start": lambda d: _("首报"),
    "county": lambda d: _("首报，新增受影响区域"),
    "level": lambda d: _("续报，响应级别调整为{level}", level=level_words(d.get("level"))),
    "end": lambda d: _("终报，应急响应终止"),
}


def _run_started(d: Mapping[str, Any], who: str, names: Names, clause: str | None) -> str:
    why = RUN_REASONS.get(str(d.get("reason")))
    area = d.get("regarding")
    return _(
        "启动第 {run} 轮信息报告（{why}）：{place}",
        run=d.get("run"),
        why=why(d) if why else _("信息报告"),
        place=names.place(area) if isinstance(area, str) else _("全部受影响区域"),
    )


def _cancelled(d: Mapping[str, Any], who: str, names: Names, clause: str | None) -> str:
    count = len(d.get("keys") or ())
    why = CANCELLED_BY_CLAUSE.get(clause or "")
    return ngettext(
        "{why}，取消未完成任务 {n} 项",
        "{why}，取消未完成任务 {n} 项",
        count,
        why=why() if why else _("任务调整"),
    )


def _handed_over(d: Mapping[str, Any], who: str, names: Names, clause: str | None) -> str:
    count = len(d.get("keys") or ())
    unit = d.get("agency")
    return ngettext(
        "原牵头指挥部未接收的任务 {n} 项移交{unit}",
        "原牵头指挥部未接收的任务 {n} 项移交{unit}",
        count,
        unit=names.unit(unit) if isinstance(unit, str) else "",
    )


def _superseded(d: Mapping[str, Any], who: str, names: Names, clause: str | None) -> str:
    held = d.get("held") or {}
    if "runs" in d:
        # plan 4: a new run of the chain takes over the open links of the earlier ones
        reason = RUN_REASONS.get(str(d.get("why")))
        links = _("、").join(
            _("{units}的“{duty}”", units=_units(held.get(key), names), duty=names.duty(key))
            for key in d.get("keys") or ()
        )
        return _(
            "{why}：此前各轮信息报告未完成的环节由新一轮接替：{links}",
            why=reason(d) if reason else _("信息报告"),
            links=links,
        )
    # Plan 6.2 goes by the event's grade, everything else by the response's level.
    if clause == "6.2":
        why = _("事件定级为{level}", level=level_words(d.get("grade")))
    else:
        why = _("响应级别调整为{level}", level=level_words(d.get("level")))
    replaced = d.get("replaced_by") or {}
    duties = []
    for key in d.get("keys") or ():
        old = _(
            "{units}的“{duty}”",
            units=_units(held.get(key), names),
            duty=names.duty(key),
        )
        by = replaced.get(key)
        if isinstance(by, Mapping):
            duties.append(
                _(
                    "{old}改由{units}的“{duty}”承担",
                    old=old,
                    units=_units(by.get("agencies"), names),
                    duty=names.duty(str(by.get("key"))),
                )
            )
        else:
            duties.append(_("{old}在此级别不再需要", old=old))
    return _("{why}：{duties}", why=why, duties=_("；").join(duties))


def _progress(verb: Callable[[], str]) -> Phrase:
    def phrase(d: Mapping[str, Any], who: str, names: Names, clause: str | None) -> str:
        unit = d.get("agency")
        said = _(
            "{unit}{verb}：{duty}",
            unit=names.unit(unit) if isinstance(unit, str) else who,
            verb=verb(),
            duty=_duty(d, names),
        )
        note = d.get("note")
        said += _("（备注：{note}）", note=note) if note else ""
        if d.get("skip_to"):
            # plan 4 必要时可越级上报: straight to the receivers above the links it skipped
            said += _(
                "，越过{passed}越级上报至{units}：{reason}",
                passed=_units(d.get("skipped"), names) or _("下一级"),
                units=_units(d.get("skip_to"), names),
                reason=d.get("skip_reason") or "",
            )
        return said

    return phrase


def _action_cancelled(d: Mapping[str, Any], who: str, names: Names, clause: str | None) -> str:
    unit = d.get("agency")
    return _(
        "{who}取消{unit}的任务：{duty}",
        who=who,
        unit=names.unit(unit) if isinstance(unit, str) else "",
        duty=_duty(d, names),
    ) + _reason(d)


def _overdue(first: bool) -> Phrase:
    def phrase(d: Mapping[str, Any], who: str, names: Names, clause: str | None) -> str:
        unit = d.get("agency")
        said = {
            "unit": names.unit(unit) if isinstance(unit, str) else "",
            "duty": _duty(d, names),
            "told": _units(d.get("notified"), names),
        }
        # what its due time asked for (design § Deadlines); an entry written before actions
        # said so asked for an acknowledgement
        if d.get("due_on") == "completion":
            if first:
                return _("{unit}未在时限内完成任务：{duty}，已通知{told}", **said)
            return _("{unit}仍未完成任务：{duty}，再次催办{told}", **said)
        if first:
            return _("{unit}未在时限内确认任务：{duty}，已通知{told}", **said)
        return _("{unit}仍未确认任务：{duty}，再次催办{told}", **said)

    return phrase


def _opened(d: Mapping[str, Any], who: str, names: Names, clause: str | None) -> str:
    return _("{who}开启事件", who=who)


def _report(d: Mapping[str, Any], who: str, names: Names, clause: str | None) -> str:
    if d.get("level") not in LEVEL_NAMES:
        return _("{who}报送停电信息，未达分级标准", who=who)
    return _("{who}报送停电信息，达到{level}", who=who, level=level_words(d.get("level")))


def _lead(d: Mapping[str, Any], who: str, names: Names, clause: str | None) -> str:
    hq = d.get("leading_hq")
    previous = d.get("previous")
    said = _(
        "{hq}牵头处置",
        hq=names.hq(hq) if isinstance(hq, str) else "",
    )
    if isinstance(previous, str) and previous != hq:
        said = _("由{previous}改为{current}", previous=names.hq(previous), current=said)
    return said + _reason(d)


def _warning(verb: Callable[[], str]) -> Phrase:
    def phrase(d: Mapping[str, Any], who: str, names: Names, clause: str | None) -> str:
        area = d.get("area")
        where = _("（{places}）", places=_("、").join(names.place(a) for a in area)) if area else ""
        headline = d.get("headline")
        said = _("{who}{verb}", who=who, verb=verb())
        if headline:
            said = _("{said}：{headline}", said=said, headline=headline)
        return said + where + _reason(d)

    return phrase


def _started(d: Mapping[str, Any], who: str, names: Names, clause: str | None) -> str:
    hq = d.get("leading_hq")
    level = level_words(d.get("level"))
    lead = names.hq(hq) if isinstance(hq, str) else ""
    # Who decided: a commander at discretion, or the service on a report's figures (entries
    # from before the record said so: discretionary ones were a commander's).
    if d.get("decided_by") == "commander" or d.get("discretionary"):
        return _("{who}决定启动{level}应急响应，{hq}牵头", who=who, level=level, hq=lead)
    return _("信息报告达到{level}，系统按预案启动{level}应急响应，{hq}牵头", level=level, hq=lead)


def _level_changed(verb: Callable[[], str]) -> Phrase:
    def phrase(d: Mapping[str, Any], who: str, names: Names, clause: str | None) -> str:
        if d.get("by_report"):
            return _(
                "信息报告达到{level}，响应级别由{previous}{verb}为{level}",
                previous=level_words(d.get("previous")),
                verb=verb(),
                level=level_words(d.get("level")),
            )
        return _(
            "{who}将响应级别由{previous}{verb}为{level}",
            who=who,
            previous=level_words(d.get("previous")),
            verb=verb(),
            level=level_words(d.get("level")),
        ) + _reason(d)

    return phrase


def _release(verb: Callable[[], str]) -> Phrase:
    def phrase(d: Mapping[str, Any], who: str, names: Names, clause: str | None) -> str:
        reviewer = d.get("reviewer")
        return _(
            "{who}{verb}（审核：{hq}）",
            who=who,
            verb=verb(),
            hq=names.hq(reviewer) if isinstance(reviewer, str) else "",
        ) + _reason(d)

    return phrase


def government_words(region: str, names: Names) -> str:
    """The government of a region (plan 5.3 当地政府, 6.3 所在地政府): 柯桥区人民政府."""
    return _("{place}人民政府", place=names.place(region))


def _approved(d: Mapping[str, Any], who: str, names: Names, clause: str | None) -> str:
    unit = d.get("agency")
    return _(
        "{government}于{at}批准{unit}的任务：{duty}（批准人：{approver}；批准文号：{reference}）",
        government=government_words(str(d["government"]), names),
        at=when(datetime.fromisoformat(str(d["approved_at"]))),
        unit=names.unit(unit) if isinstance(unit, str) else who,
        duty=_duty(d, names),
        approver=d.get("approver") or "",
        reference=d.get("reference") or "",
    )


def _requisitioned(d: Mapping[str, Any], who: str, names: Names, clause: str | None) -> str:
    return _(
        "{unit}征用{owner}的{what} {quantity}{measure}（{place}）",
        unit=names.unit(str(d["agency"])),
        owner=d["owner"],
        what=d["what"],
        quantity=d["quantity"],
        measure=d["unit"],
        place=names.place(str(d["region"])),
    )


def _returned(d: Mapping[str, Any], who: str, names: Names, clause: str | None) -> str:
    said = _("{who}登记：{what}已归还{owner}", who=who, what=d["what"], owner=d["owner"])
    note = d.get("note")
    return said + (_("（备注：{note}）", note=note) if note else "")


def _attestation(d: Mapping[str, Any], who: str, names: Names, clause: str | None) -> str:
    return _(
        "{who}确认终止条件：{condition}",
        who=who,
        condition=condition_words(str(d.get("condition"))),
    )


def _withdrawn(d: Mapping[str, Any], who: str, names: Names, clause: str | None) -> str:
    return _(
        "{who}撤回终止条件确认：{condition}",
        who=who,
        condition=condition_words(str(d.get("condition"))),
    ) + _reason(d)


def _voided(d: Mapping[str, Any], who: str, names: Names, clause: str | None) -> str:
    # a later report showed the situation worse in ``grids`` than the statements knew it
    conditions = [condition_words(str(c)) for c in d.get("conditions") or ()]
    return ngettext(
        "信息报告显示{places}停电态势恶化，此前的终止条件确认 {n} 项作废：{conditions}",
        "信息报告显示{places}停电态势恶化，此前的终止条件确认 {n} 项作废：{conditions}",
        len(conditions),
        places=_("、").join(names.place(str(g)) for g in d.get("grids") or ()),
        conditions=_("、").join(conditions),
    )


def _refused(d: Mapping[str, Any], who: str, names: Names, clause: str | None) -> str:
    # the conditions of plan 5.5 not met, as the check gave them ({"key": …, "evidence": …})
    unmet = [c.get("key") if isinstance(c, Mapping) else c for c in d.get("unmet") or ()]
    said = _("{who}的操作未被接受", who=who)
    if unmet:
        conditions = _("、").join(condition_words(str(c)) for c in unmet)
        said += _("：尚未满足{conditions}", conditions=conditions)
    return said


def _terminated(d: Mapping[str, Any], who: str, names: Names, clause: str | None) -> str:
    hq = d.get("leading_hq")
    ended = _(
        "{hq}终止{level}应急响应",
        hq=names.hq(hq) if isinstance(hq, str) else who,
        level=level_words(d.get("level")),
    )
    dissolved = [names.hq(region) for region in d.get("dissolved") or () if isinstance(region, str)]
    if not dissolved:
        return ended
    return ended + _("；{hqs}随即撤销", hqs=_("、").join(dissolved))


def _dismissed(d: Mapping[str, Any], who: str, names: Names, clause: str | None) -> str:
    return _("{who}撤销事件", who=who) + _reason(d)


def _closed(d: Mapping[str, Any], who: str, names: Names, clause: str | None) -> str:
    return _("{who}关闭事件", who=who) + _reason(d)


PHRASES: Final[Mapping[str, Phrase]] = {
    "event_opened": _opened,
    "report": _report,
    "leading_hq_changed": _lead,
    "warning_proposed": _warning(lambda: _("提出预警建议")),
    "warning_published": _warning(lambda: _("发布预警")),
    "warning_lifted": _warning(lambda: _("解除预警")),
    "response_started": _started,
    "response_raised": _level_changed(lambda: _("提升")),
    "response_lowered": _level_changed(lambda: _("降低")),
    "report_run_started": _run_started,
    "actions_dispatched": _dispatched,
    "actions_cancelled": _cancelled,
    "actions_handed_over": _handed_over,
    "actions_superseded": _superseded,
    "action_acknowledged": _progress(lambda: _("确认接收任务")),
    "action_noted": _progress(lambda: _("备注任务")),
    "action_approved": _approved,
    "action_completed": _progress(lambda: _("完成任务")),
    "action_cancelled": _action_cancelled,
    "action_overdue": _overdue(first=True),
    "action_reminder": _overdue(first=False),
    "release_proposed": _release(lambda: _("提交信息发布送审")),
    "release_published": _release(lambda: _("信息发布获批")),
    "release_rejected": _release(lambda: _("信息发布被退回")),
    "requisition_recorded": _requisitioned,
    "requisition_returned": _returned,
    "attestation": _attestation,
    "attestation_withdrawn": _withdrawn,
    "attestations_voided": _voided,
    "transition_refused": _refused,
    "response_terminated": _terminated,
    "event_dismissed": _dismissed,
    "event_closed": _closed,
}

KIND_NAMES: Final[Mapping[str, str]] = SaidNow(KIND_LABELS)

__all__ = ["Names", "actor_words", "entry_text", "government_words", "kind_label", "level_words"]
