"""Reading a playbook file: YAML, encodings and what a PlaybookError names."""

from __future__ import annotations

from pathlib import Path

import pytest

from service.errors import PlaybookError
from service.playbooks.files import read_yaml


def test_read_yaml(tmp_path: Path) -> None:
    good = tmp_path / "good.yaml"
    good.write_text("a: [1, 2]\n", encoding="utf-8")
    assert read_yaml(good) == {"a": [1, 2]}

    bad = tmp_path / "bad.yaml"
    bad.write_text("a: 1\nb: [\n", encoding="utf-8")
    with pytest.raises(PlaybookError) as caught:
        read_yaml(bad)
    assert caught.value.entry.startswith("line ")
    assert caught.value.reason.startswith("malformed YAML: ")

    latin = tmp_path / "latin.yaml"
    latin.write_bytes("a: 绍兴".encode("gbk"))
    with pytest.raises(PlaybookError, match="not UTF-8"):
        read_yaml(latin)

    with pytest.raises(PlaybookError, match="cannot read") as missing:
        read_yaml(tmp_path / "nope.yaml")
    assert missing.value.entry == "(file)"
