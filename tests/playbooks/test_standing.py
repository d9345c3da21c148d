"""playbooks/standing.yaml (service.playbooks.standing): the standing duties of plan chapters 7 and
8.1, and the checks on a broken file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from service.errors import PlaybookError
from service.playbooks.agencies import load_agencies
from service.playbooks.bundle import Playbooks
from service.playbooks.standing import STANDING_FILE, load_standing
from tests.helpers import PLAYBOOKS_DIR

AGENCIES = load_agencies(PLAYBOOKS_DIR / "agencies.yaml")
DUTIES = load_standing(PLAYBOOKS_DIR / STANDING_FILE, AGENCIES)


def test_every_clause_of_chapter_7_and_8_1_gives_duties() -> None:
    """Each of 7.1–7.6 and 8.1 names units with duties; 8.2 (in force from publication) none."""
    assert {duty.clause for duty in DUTIES} == {"7.1", "7.2", "7.3", "7.4", "7.5", "7.6", "8.1"}


def test_the_revision_of_plan_8_1_recurs_after_findings_and_the_counties_follow() -> None:
    revisions = DUTIES.recurring("after_findings")
    assert [d.agencies for d in revisions] == [["economy-it"]]
    counties = DUTIES.recurring("after_revision")
    assert [d.clause for d in counties] == ["8.1"]
    assert sorted(counties[0].agencies) == sorted(
        a.code for a in AGENCIES if a.kind == "hq" and a.region not in ("330000", "330600")
    )


def test_the_service_loads_them_with_the_other_playbooks() -> None:
    assert len(Playbooks.load(PLAYBOOKS_DIR).standing) == len(DUTIES) > 0


GOOD: dict[str, Any] = {
    "key": "standing.test.duty",
    "agencies": ["finance"],
    "clause": "7.6",
    "recurrence": "yearly",
    "title": "资金保障",
    "detail": "做好资金保障工作。",
}
REVISION: dict[str, Any] = {
    "key": "standing.test.revision",
    "agencies": ["economy-it"],
    "clause": "8.1",
    "recurrence": "after_findings",
    "due_days": 90,
    "title": "修订预案",
    "detail": "及时进行修订完善。",
}


def _file(*changes: dict[str, Any], revision: bool = True) -> str:
    duties = [{**GOOD, **change} for change in changes]
    return yaml.safe_dump({"duties": [*duties, *([REVISION] if revision else [])]})


KEY = GOOD["key"]
BROKEN = [
    pytest.param(_file({"agencies": ["mayor"]}), KEY, "'mayor' is no unit", id="unknown-unit"),
    pytest.param(
        _file({"agencies": ["leading-hq"]}), KEY, "'leading-hq' is no unit", id="symbolic-unit"
    ),
    pytest.param(_file({"agencies": []}), KEY, "agencies: List should have", id="no-unit"),
    pytest.param(
        _file({"agencies": ["finance", "finance"]}), KEY, "finance is listed twice", id="twice"
    ),
    pytest.param(_file({"clause": "9.9"}), KEY, "'9.9' is not a clause", id="clause"),
    pytest.param(_file({"recurrence": "monthly"}), KEY, "recurrence: Input should be", id="rec"),
    pytest.param(
        _file({"due_days": 30}), KEY, "a yearly duty is due by the end of its year", id="yearly"
    ),
    pytest.param(
        _file({"recurrence": "after_revision"}),
        KEY,
        "due_days: a duty raised after_revision needs the days",
        id="raised-without-days",
    ),
    pytest.param(_file({"due_days": 0}), KEY, "due_days: Input should be greater", id="days-0"),
    pytest.param(
        _file({"escalate_to": "finance"}), KEY, "escalate_to: a unit that owes", id="escalate-own"
    ),
    pytest.param(
        _file({"escalate_to": "county-hq"}), KEY, "'county-hq' is no unit", id="escalate-symbol"
    ),
    pytest.param(_file({"title": " "}), KEY, "title: must not be empty", id="title"),
    pytest.param(_file({"owner": "x"}), KEY, "owner: Extra inputs", id="unknown-field"),
    pytest.param(_file({}, {}), KEY, "duplicate key", id="duplicate"),
    pytest.param(
        _file({}, revision=False), "duties", "no duty recurs after_findings", id="no-revision"
    ),
    pytest.param("items: []\n", "(file)", "expected a mapping with an 'duties' list", id="shape"),
]


@pytest.mark.parametrize(("text", "entry", "reason"), BROKEN)
def test_a_broken_standing_file_is_refused_naming_entry_and_reason(
    tmp_path: Path, text: str, entry: str, reason: str
) -> None:
    path = tmp_path / STANDING_FILE
    path.write_text(text, encoding="utf-8")

    with pytest.raises(PlaybookError) as caught:
        load_standing(path, AGENCIES)

    assert (caught.value.file, caught.value.entry) == (str(path), entry)
    assert reason in caught.value.reason


def test_a_good_file_loads_in_order(tmp_path: Path) -> None:
    path = tmp_path / STANDING_FILE
    path.write_text(_file({"escalate_to": "emergency-office"}), encoding="utf-8")
    loaded = load_standing(path, AGENCIES)
    assert [d.key for d in loaded] == [KEY, REVISION["key"]]
    assert loaded.by_key[KEY].escalate_to == "emergency-office"
    assert [d.key for d in loaded.recurring("yearly")] == [KEY]
