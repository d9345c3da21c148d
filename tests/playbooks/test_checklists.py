"""The agencies and checklists of playbooks/, held against the plan; the checks on broken files."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from service.errors import PlaybookError
from service.plan.clauses import PLAN_CLAUSES
from service.plan.levels import Level
from service.playbooks.agencies import LEADING_HQ, AgencyRegistry, load_agencies
from service.playbooks.checklists import Checklists, load_checklists, playbook_version
from service.playbooks.classification import load_rules
from service.playbooks.grids import load_regions
from tests.helpers import MEMBER_UNITS, PLAN_FILE, PLAYBOOKS_DIR

PLAYBOOKS = PLAYBOOKS_DIR
CHECKLISTS = PLAYBOOKS / "checklists"

AGENCIES = load_agencies(PLAYBOOKS / "agencies.yaml")
ITEMS = load_checklists(PLAYBOOKS, AGENCIES)
LEVELS: list[Level] = ["I", "II", "III", "IV"]


def _keys(items: list[Any]) -> set[str]:
    return {item.key for item in items}


# --- the real files -----------------------------------------------------------------------------


def test_every_playbook_file_loads() -> None:
    grids = load_regions(PLAYBOOKS / "regions.yaml")
    load_rules(PLAYBOOKS / "classification.yaml")
    assert len(AGENCIES) == 36
    assert len(ITEMS) == 108
    assert sorted(p.name for p in CHECKLISTS.glob("*.yaml")) == [
        "first_response.yaml",
        "monitoring.yaml",
        "organisation.yaml",
        "post_event.yaml",
        "reporting.yaml",
        "response_i_ii.yaml",
        "response_iii_iv.yaml",
        "social_release.yaml",
        "warning.yaml",
    ]
    assert len(grids) == 8


def test_every_agency_used_exists() -> None:
    used = {item.agency for item in ITEMS}
    assert used <= {a.code for a in AGENCIES}
    assert LEADING_HQ in used


def test_every_cited_clause_is_in_the_clause_set() -> None:
    cited = {item.clause for item in ITEMS} | {c for a in AGENCIES for c in a.clauses}
    assert cited <= PLAN_CLAUSES


def _plan_text() -> str:
    return PLAN_FILE.read_text(encoding="utf-8")


def test_clause_set_is_the_plans_headings() -> None:
    # A heading is a line starting with a clause number, then "." or a space, then its title:
    # "1.总则", "4. 信息报告", "5.2.2 I级、II级响应". 5.5's "1. 电网主干网架…" yields "1" again;
    # "2018年…" is no heading (no "." or space after the number).
    headings = re.compile(r"^(\d+(?:\.\d+)*)(?:\.\s*|\s+)(?=[^\d\s.])", re.MULTILINE)
    found = set(headings.findall(_plan_text()))
    assert found == PLAN_CLAUSES
    assert {item.clause for item in ITEMS} <= found


# The print's own slips, read as the plan means them (the page header between two pages, a phrase
# printed twice): the checklists quote the plan as read, not as misprinted.
PAGE_HEADER = re.compile(r"绍兴市人民政府公报\(2018\)7")
MISPRINTS = {"生活困难群众、生活困难群众": "生活困难群众"}
# Full-width and half-width punctuation are one (the print mixes them).
WIDTHS = str.maketrans({",": "，", ":": "：", ";": "；", "(": "（", ")": "）"})
HEADING = re.compile(r"^(\d+(?:\.\d+)*)(?:\.\s*|\s+)(?=[^\d\s.])", re.MULTILINE)


def _without_notes(text: str) -> str:
    """``text`` without anything in brackets: a checklist's own notes, and the plan's "(市)"
    alike, so that both sides read the same."""
    while True:
        bare = re.sub(r"（[^（）]*）", "", text)
        if bare == text:
            return bare
        text = bare


def _normal(text: str) -> str:
    text = PAGE_HEADER.sub("", text).translate(WIDTHS)
    text = re.sub(r"\s+", "", text)
    for misprint, meant in MISPRINTS.items():
        text = text.replace(misprint, meant)
    return _without_notes(text)


def _sections(text: str) -> dict[str, str]:
    """Each clause's text, its sub-clauses included, up to the next clause not under it."""
    found = [(m.group(1), m.start()) for m in HEADING.finditer(text)]
    sections: dict[str, str] = {}
    for i, (clause, start) in enumerate(found):
        end = next(
            (pos for other, pos in found[i + 1 :] if not other.startswith(clause + ".")),
            len(text),
        )
        sections.setdefault(clause, text[start:end])
    return sections


def test_every_item_quotes_the_clause_it_cites() -> None:
    """The plan-citation test: every `clause:` is a clause of the plan, and every phrase of the
    item's `detail` (its notes in brackets aside) is in that clause's text. A unit's name before
    a colon ("市公安局：") is the plan's too, as 5.2.3 lists the units so."""
    sections = {c: _normal(t) for c, t in _sections(_plan_text()).items()}
    wrong = []
    for item in ITEMS:
        assert item.clause in sections, f"{item.key}: no clause {item.clause} in the plan"
        for phrase in re.split(r"[。，；：、]", _normal(item.detail)):
            if phrase and phrase not in sections[item.clause]:
                wrong.append(f"{item.key} ({item.clause}): {phrase}")
    assert not wrong, "\n".join(wrong)


def test_member_units_are_the_plans() -> None:
    text = _plan_text()
    start = text.index("做好如下工作") + len("做好如下工作")
    duties = text[start : text.index("5.3 社会动员")]
    named = re.findall(r"^(\S+?)[:：]", duties, re.MULTILINE)
    assert named == list(MEMBER_UNITS.values())


# --- what the checklists say --------------------------------------------------------------------


@pytest.mark.parametrize("code", MEMBER_UNITS)
@pytest.mark.parametrize("level", ["III", "IV"])
def test_every_member_unit_has_a_response_duty(code: str, level: Level) -> None:
    assert any(item.agency == code for item in ITEMS.items_for("response", level))


def test_level_iii_brings_duties_level_iv_lacks() -> None:
    """Plan 2.3, 4, 5.2.3: at III the city HQ sets up the on-site HQ, the counties report to
    市经信委 and 市经信委 on to 市政府 and 省发改委, who acknowledge; at IV each county HQ sets up
    its own on-site HQ, and the local authority reports one level up."""
    at_iii = _keys(ITEMS.items_at("started", "III"))
    at_iv = _keys(ITEMS.items_at("started", "IV"))
    assert at_iii - at_iv == {
        "response.hq-city.on-site-hq",
        "reporting.county-hq.report-major",
        "reporting.economy-it.report-city-government-and-provincial-drc",
        "reporting.hq-city.receive-major-report",
        "reporting.provincial-drc.receive-major-report",
        "post-event.economy-it.investigation-group",
    }
    assert at_iv - at_iii == {
        "response.county-hq.on-site-hq",
        "reporting.local-power-authority.report-general",
        "reporting.economy-it.receive-general-report",
        "reporting.provincial-drc.receive-general-report",
        "reporting.hq-city.receive-general-report",
        # 必要时可越级上报: only the 一般 report may skip 市经信委
        "reporting.provincial-drc.receive-skipped-report",
        "reporting.hq-city.receive-skipped-report",
        "post-event.local-power-authority.investigation-group",
    }
    assert {item.key for item in ITEMS.skips["reporting.local-power-authority.report-general"]} == {
        "reporting.provincial-drc.receive-skipped-report",
        "reporting.hq-city.receive-skipped-report",
    }
    assert set(ITEMS.skips) == {"reporting.local-power-authority.report-general"}
    report = ITEMS.by_key["reporting.economy-it.report-city-government-and-provincial-drc"]
    assert "市政府" in report.title and "省发改委" in report.title
    assert (report.agency, report.clause, report.levels) == ("economy-it", "4", ["I", "II", "III"])
    on_site = ITEMS.by_key["response.county-hq.on-site-hq"]
    assert (on_site.agency, on_site.clause, on_site.levels) == ("county-hq", "2.3", ["IV"])


def test_the_hqs_5_2_3_duties_go_to_the_leading_hq_at_iii_and_iv() -> None:
    """Issue 10 item 2: 5.2.3's heading is III级、IV级响应; its HQ duties are the leading HQ's
    at both (the city HQ at III), not the city HQ's at III only."""
    hq_duties = {
        "response.leading-hq.consultation",
        "response.leading-hq.working-group",
        "response.leading-hq.coordinate-requests",
        "response.leading-hq.information-release",
    }
    for key in hq_duties:
        item = ITEMS.by_key[key]
        assert (item.agency, item.clause, item.levels) == (LEADING_HQ, "5.2.3", ["III", "IV"])
    assert hq_duties <= _keys(ITEMS.items_at("started", "IV"))


def test_the_plans_organisation_is_dispatched() -> None:
    """Issue 10 items 1, 3, 4, 8: the county HQs at every level (2.2), their cooperation across
    counties (2.2), the on-site HQ at IV by the counties (2.3), the power company's own command
    (2.4) and the expert group (2.5)."""
    by_key = ITEMS.by_key
    assert by_key["response.county-hq.command"].levels == LEVELS
    cooperation = by_key["response.county-hq.cross-region-cooperation"]
    assert (cooperation.agency, cooperation.when, cooperation.clause) == (
        "county-hq",
        "several_counties",
        "2.2",
    )
    own = by_key["response.power-company.own-command"]
    assert (own.agency, own.clause, own.levels) == ("power-company", "2.4", LEVELS)
    experts = by_key["response.commanding-hq.expert-group"]
    assert (experts.agency, experts.clause, experts.levels) == ("commanding-hq", "2.5", LEVELS)
    formation = by_key["response.hq-city.formation"]
    assert (formation.agency, formation.clause, formation.when) == (
        "hq-city",
        "2.1",
        "city_hq_stands",
    )
    assert "response.leading-hq.command" not in by_key
    assert "response.leading-hq.on-site-hq" not in by_key


def test_the_timing_follows_the_plan() -> None:
    """Issue 10 item 9: plan 6.2's investigation group is set up when the event happens, not at
    termination; 市应急办's standing duties are no incident tasks; plan 6.4 waits for a need."""
    for key in (
        "post-event.economy-it.investigation-group",
        "post-event.local-power-authority.investigation-group",
    ):
        assert ITEMS.by_key[key].dispatched_at == "started"
    for key in (
        "post-event.emergency-office.plan-implementation",
        "post-event.emergency-office.command-platform",
    ):
        item = ITEMS.by_key[key]
        assert (item.phase, item.dispatched_at) == ("post_event", "terminated")
        assert item.due_minutes >= 14 * 24 * 60
    rebuilding = [item for item in ITEMS if item.clause == "6.4"]
    assert rebuilding and all(item.when == "reconstruction" for item in rebuilding)


def test_the_reporting_chain_links() -> None:
    """Issue 10 item 7: every link after the first waits for the one before it; the chain ends
    with the receivers acknowledging what they received."""
    chain = [item for item in ITEMS if item.key.startswith("reporting.")]
    first = ITEMS.by_key["reporting.power-company.report-local-authority"]
    assert first.after is None
    assert all(item.after is not None for item in chain if item is not first)
    assert {item.agency for item in chain if ".receive-" in item.key} == {
        "hq-city",
        "provincial-drc",
        "economy-it",
    }
    # no unit reports to itself: 市经信委 no longer reports "向市经信委"
    assert "reporting.economy-it.verify-and-report-major" not in ITEMS.by_key
    assert ITEMS.by_key["reporting.county-hq.report-major"].agency == "county-hq"


# design § Deadlines: the duties due on their completion, each where the plan's time word falls
# on an act over once done (the choices, argued in each checklist's header).
DUE_ON_COMPLETION = {
    # plan 4: 应立即…报告, 应当立即进行核实…作出初步认定, 要按照规定的时限…报告
    "reporting.power-company.report-local-authority",
    "reporting.local-power-authority.verify",
    "reporting.county-hq.report-major",
    "reporting.economy-it.report-city-government-and-provincial-drc",
    "reporting.local-power-authority.report-general",
    "first-response.grid-dispatch.isolate-fault",  # 5.2.1 先行…隔离故障点
    "monitoring.power-company.assess-impact",  # 3.2.1 及时分析…预估
    "warning.local-power-authority.assess-proposal",  # 3.2.2.1 应及时组织研判
    "warning.power-company.notify-important-users",  # 3.2.2.1 要及时…并视情通知
    "warning.grid-dispatch.report-upper-dispatch",  # 3.2.2.2 同时向上级调度机构报送
    "response.important-users.start-backup-power",  # 5.2.2 迅速启动自备应急电源
    "response.power-company.notify-affected",  # 5.2.3 第一时间…告知
    "post-event.economy-it.evaluation",  # 6.1 要及时…形成处置评估报告
    "post-event.local-power-authority.evaluation",
}
TIME_WORDS = ("立即", "第一时间", "迅速", "及时", "先行", "同时", "规定的时限")


def test_what_each_due_time_asks_for() -> None:
    """Issue 18 item 3: plan 4's reports are due on their completion, a receipt on its
    acknowledgement; every other item due on completion is one whose words in the plan put a
    time word on the act, and every item that says nothing is due on its acknowledgement."""
    assert {item.key for item in ITEMS if item.due_on == "completion"} == DUE_ON_COMPLETION
    for item in ITEMS:
        if item.key in DUE_ON_COMPLETION:
            assert any(word in item.detail for word in TIME_WORDS), item.key
        else:
            assert item.due_on == "acknowledgement", item.key
    receipts = [
        item for item in ITEMS if item.key.startswith("reporting.") and ".receive-" in item.key
    ]
    assert receipts and {item.due_on for item in receipts} == {"acknowledgement"}


def test_an_item_that_says_nothing_is_due_on_its_acknowledgement(tmp_path: Path) -> None:
    folder = _copy(tmp_path)
    (folder / "checklists" / "zz_new.yaml").write_text(_items({}), encoding="utf-8")
    assert load_checklists(folder, AGENCIES).by_key[KEY].due_on == "acknowledgement"
    (folder / "checklists" / "zz_new.yaml").write_text(
        _items({"due_on": "completion"}), encoding="utf-8"
    )
    assert load_checklists(folder, AGENCIES).by_key[KEY].due_on == "completion"


def test_levels_i_and_ii_bring_the_5_2_2_duties() -> None:
    only_i_ii = _keys(ITEMS.items_for("response", "II")) - _keys(ITEMS.items_for("response", "III"))
    assert {ITEMS.by_key[key].clause for key in only_i_ii} == {"5.2.2", "5.4"}
    assert {ITEMS.by_key[key].agency for key in only_i_ii} == {
        "hq-city",
        "important-users",
        "hq-province",
    }


def test_phases_follow_the_plan_parts() -> None:
    for item in ITEMS:
        if item.clause == "3.2.1":
            assert (item.phase, item.levels) == ("monitoring", LEVELS)
        if item.clause in {"3.2.2.1", "3.2.2.2"}:
            assert (item.phase, item.levels) == ("warning", LEVELS)
        if item.clause in {"4", "5.2.1"}:
            assert item.phase == "first_response"
        if item.clause in {"5.2.2", "5.3", "5.4"}:
            assert item.phase == "response"
        if item.clause.startswith("6"):
            assert item.phase == "post_event"


def test_items_at() -> None:
    """Each item goes out at one moment: its phase's, or the one it names."""
    assert _keys(ITEMS.items_at("opened")) == _keys(ITEMS.items_for("monitoring", None))
    proposed = _keys(ITEMS.items_at("proposed"))
    assert proposed == {
        "warning.local-power-authority.assess-proposal",
        "warning.power-company.notify-important-users",
    }
    assert proposed | _keys(ITEMS.items_at("published")) == _keys(ITEMS.items_for("warning", None))
    with pytest.raises(ValueError, match="needs a level"):
        ITEMS.items_at("started")
    for level in LEVELS:
        started, ended = (
            _keys(ITEMS.items_at("started", level)),
            _keys(ITEMS.items_at("terminated", level)),
        )
        levelled = [
            i for i in ITEMS if level in i.levels and i.phase not in ("monitoring", "warning")
        ]
        assert not started & ended and started | ended == _keys(levelled)


def test_items_for() -> None:
    warning = ITEMS.items_for("warning", None)
    assert warning == [item for item in ITEMS if item.phase == "warning"]
    assert len(warning) == 12
    assert ITEMS.items_for("warning", "IV") == warning
    with pytest.raises(ValueError, match="needs a level"):
        ITEMS.items_for("response", None)
    assert [len(ITEMS.items_for("response", level)) for level in LEVELS] == [56, 56, 54, 54]
    assert ITEMS.by_key["response.public-security.social-order"].agency == "public-security"


def _header(path: Path) -> str:
    lines = path.read_text(encoding="utf-8").splitlines()
    return "\n".join(line for line in lines[: lines.index("items:")] if line.startswith("#"))


@pytest.mark.parametrize("path", sorted(CHECKLISTS.glob("*.yaml")), ids=lambda p: p.name)
def test_each_file_documents_its_choices(path: Path) -> None:
    header = _header(path)
    items = yaml.safe_load(path.read_text(encoding="utf-8"))["items"]
    assert "due_minutes" in header
    for minutes in {item["due_minutes"] for item in items}:
        assert re.search(rf"(?<!\d){minutes}(?!\d)", header), f"{minutes} not explained"
    symbolic = {a.code for a in AGENCIES if a.kind == "symbolic"}
    for code in {item["agency"] for item in items} & symbolic:
        assert code in header, f"{code} is used and not explained"
    for key in ("after", "when", "moment", "escalate_to", "due_on"):
        if any(key in item for item in items):
            assert f"{key}:" in header or f"`{key}:`" in header, f"{key} is used and not explained"


def test_member_units_duties_escalate_to_the_emergency_office() -> None:
    """Plan 5.2.3: 市应急办 coordinates the handling and checks that the plan is carried out, so a
    member unit's overdue duty is told to it; no other item names a unit to escalate to."""
    for item in ITEMS:
        agency = AGENCIES.get(item.agency)
        chased = agency is not None and agency.kind == "member-unit"
        expected = "emergency-office" if chased and item.agency != "emergency-office" else None
        assert item.escalate_to == expected, item.key


# --- the version --------------------------------------------------------------------------------


def _copy(tmp_path: Path) -> Path:
    folder = tmp_path / "playbooks"
    shutil.copytree(PLAYBOOKS, folder)
    return folder


def test_version_is_a_content_hash(tmp_path: Path) -> None:
    folder = _copy(tmp_path)
    assert re.fullmatch(r"[0-9a-f]{16}", ITEMS.version)
    # the same files in another folder: the same version (the folder's path is not hashed)
    assert playbook_version(folder) == ITEMS.version
    assert load_checklists(folder, AGENCIES).version == ITEMS.version


PLAYBOOK_FILES = sorted(
    p.relative_to(PLAYBOOKS).as_posix()
    for pattern in ("*.yaml", "checklists/*.yaml")
    for p in PLAYBOOKS.glob(pattern)
)


@pytest.mark.parametrize("relative", PLAYBOOK_FILES)
def test_version_changes_with_any_file(tmp_path: Path, relative: str) -> None:
    folder = _copy(tmp_path)
    with (folder / relative).open("a", encoding="utf-8") as file:
        file.write("# edited\n")
    assert playbook_version(folder) != ITEMS.version


def test_version_changes_on_rename_and_addition(tmp_path: Path) -> None:
    folder = _copy(tmp_path)
    (folder / "checklists/warning.yaml").rename(folder / "checklists/warnings.yaml")
    renamed = playbook_version(folder)
    assert renamed != ITEMS.version
    (folder / "checklists/extra.yaml").write_text("items: []\n", encoding="utf-8")
    assert playbook_version(folder) not in {renamed, ITEMS.version}


def test_regions_feed_the_version_too() -> None:
    assert {"regions.yaml", "classification.yaml", "agencies.yaml"} <= set(PLAYBOOK_FILES)


# --- broken checklist files ---------------------------------------------------------------------

GOOD_ITEM: dict[str, Any] = {
    "key": "response.test.item",
    "agency": "finance",
    "phase": "response",
    "levels": ["III", "IV"],
    "clause": "5.2.3",
    "title": "经费保障",
    "detail": "负责经费保障。",
    "due_minutes": 60,
}


def _items(*changes: dict[str, Any], drop: str | None = None) -> str:
    items = []
    for change in changes or ({},):
        item = {**GOOD_ITEM, **change}
        if drop is not None:
            item.pop(drop)
        items.append(item)
    return yaml.safe_dump({"items": items}, allow_unicode=True)


KEY = GOOD_ITEM["key"]
BROKEN_CHECKLISTS = [
    pytest.param("items:\n  - key: a: b\n", "line 2", "malformed YAML", id="malformed"),
    pytest.param("- key: x\n", "(file)", "expected a mapping with an 'items' list", id="list"),
    pytest.param("", "(file)", "expected a mapping with an 'items' list", id="empty-file"),
    pytest.param("checklist: []\n", "(file)", "with an 'items' list", id="no-items"),
    pytest.param(_items({}) + "version: 2\n", "version", "unknown key", id="extra-top-key"),
    pytest.param("items: {}\n", "items", "non-empty list of items", id="items-not-list"),
    pytest.param("items: []\n", "items", "non-empty list of items", id="items-empty"),
    pytest.param("items:\n  - just text\n", "items[0]", "expected a mapping", id="not-mapping"),
    pytest.param(_items({"owner": "x"}), KEY, "owner: Extra inputs are not permitted", id="extra"),
    pytest.param(_items(drop="due_minutes"), KEY, "due_minutes: Field required", id="missing"),
    pytest.param(_items({"key": "Bad Key"}), "Bad Key", "key: String should match", id="key"),
    pytest.param(_items({"key": 5}), "items[0]", "key: Input should be a valid string", id="int"),
    pytest.param(_items({"agency": "mayor"}), KEY, "unknown agency 'mayor'", id="agency"),
    pytest.param(
        _items({"phase": "recovery"}),
        KEY,
        "phase: Input should be 'monitoring', 'warning', 'first_response', 'response' or "
        "'post_event'",
        id="phase",
    ),
    pytest.param(
        _items({"levels": ["III", "V"]}),
        KEY,
        "levels.1: Input should be 'I', 'II', 'III' or 'IV'",
        id="level",
    ),
    pytest.param(
        _items({"levels": ["III", "IV", "III"]}),
        KEY,
        "levels: level III is listed twice",
        id="level-twice",
    ),
    pytest.param(_items({"levels": []}), KEY, "levels: List should have at least 1", id="levels"),
    pytest.param(
        _items({"clause": "5.2.4"}), KEY, "clause: '5.2.4' is not a clause of the plan", id="clause"
    ),
    pytest.param(
        _items({"clause": 6.1}), KEY, "clause: Input should be a valid string", id="clause-float"
    ),
    pytest.param(
        _items({"due_minutes": 0}),
        KEY,
        "due_minutes: Input should be greater than 0",
        id="due-zero",
    ),
    pytest.param(
        _items({"due_minutes": -30}), KEY, "due_minutes: Input should be greater than 0", id="neg"
    ),
    pytest.param(
        _items({"due_minutes": "30"}), KEY, "due_minutes: Input should be a valid integer", id="s"
    ),
    pytest.param(
        _items({"due_minutes": True}), KEY, "due_minutes: Input should be a valid integer", id="b"
    ),
    pytest.param(
        _items({"moment": "terminated"}),
        KEY,
        "moment: a response item goes out at started, not terminated",
        id="moment-of-another-phase",
    ),
    pytest.param(_items({"moment": "later"}), KEY, "moment: Input should be 'opened'", id="moment"),
    pytest.param(
        _items({"when": "raining"}), KEY, "when: Input should be 'county_named'", id="when"
    ),
    pytest.param(_items({"after": KEY}), KEY, "an item cannot follow itself", id="after-self"),
    pytest.param(_items({"after": "no.such.item"}), KEY, "after: no item 'no.such.item'", id="a"),
    pytest.param(
        _items({"after": "post-event.economy-it.evaluation"}),
        KEY,
        "after: post-event.economy-it.evaluation goes out at terminated, this item at started",
        id="after-another-moment",
    ),
    pytest.param(
        _items(
            {"key": "response.test.a", "after": "response.test.b"},
            {"key": "response.test.b", "after": "response.test.a"},
        ),
        "response.test.a",
        "after: a loop (response.test.a → response.test.b → response.test.a)",
        id="after-loop",
    ),
    pytest.param(
        _items({"escalate_to": "mayor"}),
        KEY,
        "escalate_to: 'mayor' is no unit of agencies.yaml",
        id="escalate-to-unknown",
    ),
    pytest.param(
        _items({"escalate_to": "leading-hq"}),
        KEY,
        "escalate_to: 'leading-hq' is no unit of agencies.yaml that can be told",
        id="escalate-to-symbolic",
    ),
    pytest.param(
        _items({"escalate_to": "finance"}),
        KEY,
        "escalate_to: the item's own agency",
        id="escalate-to-itself",
    ),
    pytest.param(
        _items({"escalate_to": ""}),
        KEY,
        "escalate_to: String should have at least 1 character",
        id="escalate-to-empty",
    ),
    pytest.param(
        _items({"due_on": "receipt"}),
        KEY,
        "due_on: Input should be 'acknowledgement' or 'completion'",
        id="due-on",
    ),
    pytest.param(
        _items({"job": "on-site-hq"}),
        KEY,
        "job: on-site-hq at level III is already response.hq-city.on-site-hq's (one item per job "
        "per level)",
        id="job-twice-at-a-level",
    ),
    pytest.param(
        _items({"job": "investigation-group", "levels": ["I"]}),
        KEY,
        "job: investigation-group is done by post-event.economy-it.investigation-group, a "
        "post_event item going out at started; this one is response at started",
        id="job-of-another-phase",
    ),
    pytest.param(_items({"job": "On Site"}), KEY, "job: String should match", id="job-pattern"),
    pytest.param(
        _items({"skip_from": "reporting.local-power-authority.report-general"}),
        KEY,
        "skip_from: a receipt of a report sent straight to it follows that report",
        id="skip-from-another-than-after",
    ),
    pytest.param(
        _items(
            {
                "key": "response.test.a",
                "after": "reporting.local-power-authority.report-general",
                "skip_from": "reporting.local-power-authority.report-general",
            },
            {"key": "response.test.b", "after": "response.test.a"},
        ),
        "response.test.a",
        "skip_from: a report sent straight to a receipt ends the chain",
        id="skip-to-a-link-followed",
    ),
    pytest.param(_items({"title": ""}), KEY, "title: must not be empty", id="title-empty"),
    pytest.param(_items({"title": "  "}), KEY, "title: must not be empty", id="title-blank"),
    pytest.param(_items({"detail": ""}), KEY, "detail: must not be empty", id="detail-empty"),
]


@pytest.mark.parametrize(("text", "entry", "reason"), BROKEN_CHECKLISTS)
def test_broken_checklist_file(tmp_path: Path, text: str, entry: str, reason: str) -> None:
    folder = _copy(tmp_path)
    path = folder / "checklists" / "zz_broken.yaml"
    path.write_text(text, encoding="utf-8")

    with pytest.raises(PlaybookError) as caught:
        load_checklists(folder, AGENCIES)

    assert (caught.value.file, caught.value.entry) == (str(path), entry)
    assert reason in caught.value.reason


def test_duplicate_key_in_one_file(tmp_path: Path) -> None:
    folder = _copy(tmp_path)
    path = folder / "checklists" / "zz_broken.yaml"
    path.write_text(_items({}, {"title": "另一项"}), encoding="utf-8")

    with pytest.raises(PlaybookError) as caught:
        load_checklists(folder, AGENCIES)

    assert (caught.value.file, caught.value.entry) == (str(path), KEY)
    assert caught.value.reason == f"duplicate key (also in {path} items[0])"


def test_duplicate_key_across_files_names_both(tmp_path: Path) -> None:
    folder = _copy(tmp_path)
    path = folder / "checklists" / "zz_broken.yaml"
    path.write_text(_items({"key": "warning.grid-dispatch.operation-mode"}), encoding="utf-8")

    with pytest.raises(PlaybookError) as caught:
        load_checklists(folder, AGENCIES)

    first = folder / "checklists" / "warning.yaml"
    assert (caught.value.file, caught.value.entry) == (
        str(path),
        "warning.grid-dispatch.operation-mode",
    )
    assert caught.value.reason == f"duplicate key (also in {first} items[3])"


def test_agency_missing_from_registry(tmp_path: Path) -> None:
    folder = _copy(tmp_path)
    without_lead = AgencyRegistry(a for a in AGENCIES if a.code != LEADING_HQ)
    with pytest.raises(PlaybookError, match="unknown agency 'leading-hq'"):
        load_checklists(folder, without_lead)


def test_no_checklist_files(tmp_path: Path) -> None:
    folder = _copy(tmp_path)
    shutil.rmtree(folder / "checklists")
    with pytest.raises(PlaybookError) as caught:
        load_checklists(folder, AGENCIES)
    assert (caught.value.file, caught.value.entry) == (str(folder / "checklists"), "(file)")
    assert "no checklist files" in caught.value.reason


# --- broken agencies files ----------------------------------------------------------------------


# --- reading a file -----------------------------------------------------------------------------


def test_checklists_from_items() -> None:
    checklists = Checklists(list(ITEMS)[:2], "0123456789abcdef")
    assert len(checklists) == 2
    assert list(checklists.by_key) == [item.key for item in list(ITEMS)[:2]]
