"""The catalogue holds every sentence the code says, each with its English, and the timeline is
told in names, never codes."""

from __future__ import annotations

import re
import string

import pytest

from service.plan.timeline import TIMELINE_KINDS
from service.words import _, negotiate, ngettext, use, when
from service.words.timeline import KIND_LABELS, PHRASES, entry_text, kind_label
from tests.helpers import PLAYBOOKS_DIR, T0
from tools.words import english, said

CJK = re.compile(r"[\u4e00-\u9fff]")
# A word of code: lower-case ASCII letters, as agency codes, duty keys and English are written.
CODE = re.compile(r"[A-Za-z][a-z_.-]{2,}")


def fields(message: str) -> set[str]:
    return {name for _text, name, _spec, _conv in string.Formatter().parse(message) if name}


def test_every_sentence_said_has_its_english_and_no_other() -> None:
    spoken = {m.id for m in said() if m.id}
    catalogue = {m.id: m for m in english() if m.id}
    missing = [m for m in spoken if m not in catalogue or not catalogue[m].string]
    assert not missing, f"untranslated (run `make words`, then write their English): {missing}"
    stale = [m for m in catalogue if m not in spoken]
    assert not stale, f"no longer said (run `make words`): {stale}"
    assert not [m.id for m in catalogue.values() if m.fuzzy]


def test_a_translation_fills_the_same_fields() -> None:
    for message in english():
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        for source in ids:
            for translated in strings:
                # an English singular may say "1 minute" where Chinese keeps {n}
                assert fields(translated) <= fields(source) | {"n"}, (source, translated)
                assert fields(source) - {"n"} <= fields(translated), (source, translated)


def test_chinese_by_default_english_on_request() -> None:
    assert _("事件开启") == "事件开启"
    held = "{n} 个事件，{entries} 条时间线记录：哈希链全部完整"  # audit verify's verdict
    with use("en"):
        assert _("事件开启") == "Event opened"
        assert ngettext(held, held, 1, entries=7) == (
            "1 event, 7 timeline entries: every hash chain holds"
        )
        assert ngettext(held, held, 3, entries=7).startswith("3 events, 7 ")
    assert ngettext(held, held, 3, entries=7) == "3 个事件，7 条时间线记录：哈希链全部完整"


@pytest.mark.parametrize(
    ("header", "default", "chosen"),
    [
        (None, "zh", "zh"),
        ("en", "zh", "en"),
        ("en-US,en;q=0.9", "zh", "en"),
        ("zh-CN", "en", "zh"),
        ("zh-Hans-CN;q=0.8, en;q=0.7", "en", "zh"),
        ("fr, en;q=0.5", "zh", "en"),
        ("fr", "en", "en"),
        ("en;q=0", "zh", "zh"),
        ("*", "en", "en"),
        ("not a tag;q=x", "zh", "zh"),
    ],
)
def test_accept_language_chooses_among_ours(header: str | None, default: str, chosen: str) -> None:
    assert negotiate(header, default) == chosen  # type: ignore[arg-type]


def test_times_are_beijing_time_to_the_minute() -> None:
    assert when(T0) == "2026-07-20 14:00"


def test_every_kind_has_a_label_and_a_sentence() -> None:
    assert set(KIND_LABELS) == set(TIMELINE_KINDS) == set(PHRASES)
    for kind in TIMELINE_KINDS:
        assert CJK.search(kind_label(kind))
        with use("en"):
            assert not CJK.search(kind_label(kind))


# One entry of each kind as the flows write them, with real codes from the playbooks.
ENTRIES: list[tuple[str, dict[str, object], str | None]] = [
    ("event_opened", {}, "1.5"),
    ("report", {"level": "IV", "cause": "typhoon"}, "1.5"),
    ("report", {"level": None}, "1.5"),
    ("leading_hq_changed", {"leading_hq": "330600", "previous": "330603"}, "5.1"),
    ("warning_proposed", {"area": ["330603", "330604"]}, "3.2.2.1"),
    ("warning_published", {"headline": "台风"}, "3.2.2.1"),
    ("warning_lifted", {"reason": "台风减弱"}, "3.2.2.3"),
    ("response_started", {"level": "III", "leading_hq": "330600"}, "5.1"),
    ("response_raised", {"level": "II", "previous": "III", "reason": "负荷继续下降"}, "5.1"),
    ("response_lowered", {"level": "IV", "previous": "III", "reason": "负荷恢复"}, "5.1"),
    (
        "actions_dispatched",
        {"keys": ["a", "b"], "agencies": ["public-security"], "phase": "response"},
        "5",
    ),
    ("actions_cancelled", {"keys": ["a"] * 62, "reason": "response terminated"}, "5.5"),
    ("actions_handed_over", {"keys": ["a"], "agency": "hq-city"}, "5.1"),
    ("action_acknowledged", {"agency": "public-security", "key": "__first_duty__"}, "5.3"),
    (
        "action_noted",
        {"agency": "public-security", "key": "__first_duty__", "note": "已到场"},
        "5.3",
    ),
    ("action_completed", {"agency": "public-security", "key": "__first_duty__"}, "5.3"),
    (
        "action_cancelled",
        {"agency": "public-security", "key": "__first_duty__", "reason": "不需要"},
        None,
    ),
    (
        "action_overdue",
        {"agency": "public-security", "key": "__first_duty__", "notified": ["public-security"]},
        None,
    ),
    (
        "action_reminder",
        {"agency": "public-security", "key": "__first_duty__", "notified": ["public-security"]},
        None,
    ),
    (
        "action_overdue",
        {
            "agency": "power-company",
            "key": "__first_duty__",
            "notified": ["power-company"],
            "due_on": "completion",
        },
        None,
    ),
    (
        "action_reminder",
        {
            "agency": "power-company",
            "key": "__first_duty__",
            "notified": ["power-company"],
            "due_on": "completion",
        },
        None,
    ),
    ("release_proposed", {"reviewer": "330600"}, "5.4"),
    ("release_published", {"reviewer": "330600"}, "5.4"),
    ("release_rejected", {"reviewer": "330600", "reason": "措辞不准确"}, "5.4"),
    ("attestation", {"condition": "grid_stable"}, "5.5"),
    (
        "attestation_withdrawn",
        {"condition": "grid_stable", "reason": "母线再次跳闸", "attestation_id": "a"},
        "5.5",
    ),
    (
        "attestations_voided",
        {"conditions": ["grid_stable", "hazard_removed"], "grids": ["330603"], "report_id": "r"},
        "5.5",
    ),
    ("transition_refused", {"unmet": [{"key": "load_restored", "evidence": "79.9%"}]}, "5.5"),
    ("response_terminated", {"level": "IV", "leading_hq": "330600"}, "5.5"),
    ("event_dismissed", {"reason": "误报"}, "1.5"),
    ("event_closed", {}, "6"),
]


@pytest.mark.parametrize(("kind", "data", "clause"), ENTRIES, ids=[e[0] for e in ENTRIES])
def test_an_entry_is_told_in_names_in_either_language(
    kind: str, data: dict[str, object], clause: str | None
) -> None:
    from service.playbooks.bundle import Playbooks

    playbooks = Playbooks.load(PLAYBOOKS_DIR)
    first = next(iter(playbooks.checklists))
    data = {k: first.key if v == "__first_duty__" else v for k, v in data.items()}
    actor = "commander:市指挥部 指挥长@330600"
    chinese = entry_text(kind, data, actor, playbooks.names, clause=clause)
    assert not CODE.search(chinese), chinese
    assert "330600" not in chinese and "330603" not in chinese
    with use("en"):
        english_text = entry_text(kind, data, actor, playbooks.names, clause=clause)
    # English: the sentence is English, the names stay the playbooks' (Chinese)
    without_names = CJK.sub("", english_text)
    assert re.search(r"[a-z]{3,}", without_names), english_text
    assert english_text != chinese


@pytest.mark.parametrize(
    ("due_on", "verb"), [(None, "确认"), ("acknowledgement", "确认"), ("completion", "完成")]
)
def test_an_overdue_entry_says_what_its_due_time_asked_for(due_on: str | None, verb: str) -> None:
    """design § Deadlines: a report of plan 4 is overdue for want of its completion; an entry
    written before actions said what they were due on asked for an acknowledgement."""
    from service.playbooks.bundle import Playbooks

    names = Playbooks.load(PLAYBOOKS_DIR).names
    data = {
        "agency": "power-company",
        "key": "reporting.power-company.report-local-authority",
        "notified": ["power-company", "hq-330603"],
        **({"due_on": due_on} if due_on else {}),
    }
    overdue = entry_text("action_overdue", data, "system", names)
    assert overdue.startswith(
        f"绍兴电力局未在时限内{verb}任务：立即向受影响区域电力运行主管部门报告"
    )
    assert f"绍兴电力局仍未{verb}任务" in entry_text("action_reminder", data, "system", names)


def test_an_entry_of_an_unexpected_shape_still_reads() -> None:
    from service.playbooks.bundle import Playbooks

    names = Playbooks.load(PLAYBOOKS_DIR).names
    odd = {"keys": 3, "agencies": 5, "unmet": [[1]], "level": {"x": 1}}
    for kind in TIMELINE_KINDS:
        assert CJK.search(entry_text(kind, odd, "system", names)), kind


ERRORS = {"Conflict", "NotFound", "Forbidden", "InvalidInput", "Unauthenticated", "Unavailable"}


def test_no_error_is_raised_with_plain_text() -> None:
    """Every error the service raises holds its detail as the catalogue's sentence (``Said``),
    so that it is said in the reader's language: a string or an f-string as the detail fails."""
    import ast

    from tests.helpers import REPO

    plain = []
    for path in sorted((REPO / "service").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call)):
                continue
            func = node.exc.func
            name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
            if name not in ERRORS:
                continue
            args = node.exc.args
            detail = args[1] if name == "InvalidInput" and len(args) > 1 else args[0]
            if isinstance(detail, ast.Constant | ast.JoinedStr | ast.BinOp):
                plain.append(f"{path.relative_to(REPO)}:{node.lineno}")
    assert not plain, plain
