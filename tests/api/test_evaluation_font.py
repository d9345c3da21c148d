"""The CJK font the service ships for its evaluation report: it holds every character of the
service's own text, under its own name and licence (tools/subset_font.py cuts it)."""

from __future__ import annotations

from fontTools.ttLib import TTFont

from service.api.evaluation_report import FONT_FAMILY, font_path
from tools.subset_font import gb2312_level_one, service_text


def test_the_font_holds_every_character_the_service_shows() -> None:
    covered = TTFont(font_path()).getBestCmap()
    shown = {c for c in service_text() if not c.isspace()}
    missing = sorted(c for c in shown if ord(c) not in covered)
    assert not missing, (
        f"the shipped font lacks {''.join(missing)!r}: run tools/subset_font.py "
        "(its docstring says how) and commit the font"
    )
    # text people type: the common characters (GB 2312 level one) are there too
    assert all(ord(c) in covered for c in gb2312_level_one())


def test_the_font_is_renamed_and_licensed() -> None:
    names = TTFont(font_path())["name"]
    assert names.getDebugName(1) == FONT_FAMILY  # a Modified Version names itself (OFL 3)
    assert "SIL Open Font License" in (names.getDebugName(13) or "")
    licence = (font_path().parent / "OFL.txt").read_text()
    assert "SIL OPEN FONT LICENSE Version 1.1" in licence and "Noto Sans CJK SC" in licence


def test_gb2312_level_one_is_its_3755_characters() -> None:
    level_one = list(gb2312_level_one())
    assert len(level_one) == len(set(level_one)) == 3755
    assert (level_one[0], level_one[-1]) == ("啊", "座")
