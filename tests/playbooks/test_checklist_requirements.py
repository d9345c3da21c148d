"""``requires: approval`` in a checklist (plan 5.3 报经当地政府批准): the bundled emergency
control carries it, and the loader takes it only on a duty an HQ owes, and no other value."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from service.errors import PlaybookError
from service.playbooks.agencies import load_agencies
from service.playbooks.checklists import load_checklists
from tests.helpers import PLAYBOOKS_DIR

AGENCIES = load_agencies(PLAYBOOKS_DIR / "agencies.yaml")
ITEM: dict[str, Any] = {
    "key": "response.test.control",
    "agency": "leading-hq",
    "phase": "response",
    "levels": ["III", "IV"],
    "clause": "5.3",
    "title": "报经当地政府批准后实施紧急控制",
    "detail": "报经当地政府批准，对重点部位实施紧急控制。",
    "due_minutes": 60,
    "requires": "approval",
}


def _with(tmp_path: Path, **change: Any) -> tuple[Path, Path]:
    """The bundled playbooks with one more checklist file holding ``ITEM`` changed."""
    folder = tmp_path / "playbooks"
    shutil.copytree(PLAYBOOKS_DIR, folder)
    path = folder / "checklists" / "zz_requires.yaml"
    text = yaml.safe_dump({"items": [{**ITEM, **change}]}, allow_unicode=True)
    path.write_text(text, encoding="utf-8")
    return folder, path


def test_the_emergency_control_of_plan_5_3_requires_the_governments_approval() -> None:
    items = load_checklists(PLAYBOOKS_DIR, AGENCIES)
    required = {item.key for item in items if item.requires == "approval"}
    assert required == {"response.social.emergency-control"}
    assert "报经当地政府批准" in items.by_key["response.social.emergency-control"].title


@pytest.mark.parametrize("agency", ["leading-hq", "county-hq", "commanding-hq", "hq-330603"])
def test_an_hq_duty_may_require_an_approval(tmp_path: Path, agency: str) -> None:
    folder, _path = _with(tmp_path, agency=agency)
    assert load_checklists(folder, AGENCIES).by_key[ITEM["key"]].requires == "approval"


@pytest.mark.parametrize("agency", ["finance", "local-power-authority", "local-government"])
def test_only_an_hq_asks_a_government(tmp_path: Path, agency: str) -> None:
    folder, path = _with(tmp_path, agency=agency)

    with pytest.raises(PlaybookError) as caught:
        load_checklists(folder, AGENCIES)

    assert (caught.value.file, caught.value.entry) == (str(path), ITEM["key"])
    assert "requires: approval is an HQ's to ask of its government" in caught.value.reason
    assert repr(agency) in caught.value.reason


def test_an_unknown_requirement_is_refused(tmp_path: Path) -> None:
    folder, _path = _with(tmp_path, requires="signature")

    with pytest.raises(PlaybookError) as caught:
        load_checklists(folder, AGENCIES)

    assert caught.value.entry == ITEM["key"]
    assert "requires: Input should be 'approval'" in caught.value.reason
