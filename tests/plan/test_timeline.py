"""The timeline's kinds and their Chinese names (service.plan.timeline): one name for each kind,
and no name for two."""

from __future__ import annotations

import re

from service.plan.timeline import KIND_LABELS, TIMELINE_KINDS

CHINESE = re.compile(r"^[\u4e00-\u9fff（）]+$")


def test_every_kind_has_a_chinese_name_of_its_own() -> None:
    assert set(KIND_LABELS) == set(TIMELINE_KINDS)
    assert all(CHINESE.match(label) for label in KIND_LABELS.values()), KIND_LABELS
    assert len(set(KIND_LABELS.values())) == len(TIMELINE_KINDS)
