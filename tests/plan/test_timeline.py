"""The timeline's kinds and their Chinese names (service.words.timeline): one name for each
kind, and no name for two."""

from __future__ import annotations

import re

from service.plan.timeline import TIMELINE_KINDS
from service.words.timeline import KIND_NAMES

CHINESE = re.compile(r"^[\u4e00-\u9fff（）]+$")


def test_every_kind_has_a_chinese_name_of_its_own() -> None:
    assert set(KIND_NAMES) == set(TIMELINE_KINDS)
    assert all(CHINESE.match(label) for label in KIND_NAMES.values()), dict(KIND_NAMES)
    assert len(set(KIND_NAMES.values())) == len(TIMELINE_KINDS)
