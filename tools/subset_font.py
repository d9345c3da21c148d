"""Cut the CJK font the service ships (service/api/static/fonts/) out of Noto Sans CJK SC.

The evaluation report (plan 6.1) is read as a page and printed as a PDF, in Chinese, on
machines that may have no Chinese font at all (the image is python:3.11-slim): the service
brings its own. The whole Noto Sans CJK SC is 16 MB; this keeps what the service shows:

- every character of the service's own text: its templates and code (service/) and the
  playbooks (names of agencies, HQs, regions, duties);
- the 3,755 characters of GB 2312's first level (一级汉字, the common ones), so that text people
  type (evidence, reasons, a warning's headline) renders too, nearly always;
- ASCII, Latin-1, the punctuation and symbols the pages use, CJK punctuation and full-width
  forms.

The result is renamed "Outage Sans SC" (a Modified Version under the SIL Open Font License
1.1 carries a name of its own) and saved as WOFF2, which browsers and WeasyPrint both read.
``tests/api/test_evaluation_font.py`` fails when the service's text uses a character the font
lacks; then refresh it:

    apt-get install fonts-noto-cjk          # Debian's Noto Sans CJK (OFL), the source
    .venv/bin/python tools/subset_font.py   # rewrites the font; commit it

Run from the checkout; ``--source`` names another copy of NotoSansCJK-Regular.ttc (or an
.otf of Noto Sans CJK SC / Source Han Sans SC).
"""

from __future__ import annotations

import argparse
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Final

REPO: Final = Path(__file__).resolve().parent.parent
SOURCE: Final = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")
SOURCE_FAMILY: Final = "Noto Sans CJK SC"
TARGET: Final = REPO / "service" / "api" / "static" / "fonts" / "OutageSansSC-Regular.woff2"
FAMILY: Final = "Outage Sans SC"
POSTSCRIPT: Final = "OutageSansSC-Regular"
# Where the service's own text lives, and the kinds of file that hold it.
TEXT_DIRS: Final = ("service", "playbooks")
TEXT_SUFFIXES: Final = (".py", ".yaml", ".html", ".css", ".txt")
RANGES: Final = (
    (0x0020, 0x007E),  # ASCII
    (0x00A0, 0x00FF),  # Latin-1: ·, ×, ÷, °
    (0x2010, 0x2030),  # dashes, quotes, …, ‰
    (0x2160, 0x216B),  # Ⅰ … Ⅻ
    (0x2190, 0x2193),  # arrows
    (0x2212, 0x2212),  # minus
    (0x2264, 0x2265),  # ≤ ≥
    (0x3000, 0x303F),  # CJK punctuation: 、。〈〉《》「」【】〔〕
    (0xFF01, 0xFF5E),  # full-width forms: ，：；（）％
)


def gb2312_level_one() -> Iterator[str]:
    """GB 2312's 3,755 first-level characters (rows 16–55), from Python's own codec."""
    for row in range(0xB0, 0xD8):
        for cell in range(0xA1, 0xFF):
            try:
                yield bytes((row, cell)).decode("gb2312")
            except UnicodeDecodeError:  # 55/90–94 are empty
                continue


def service_text(root: Path = REPO) -> set[str]:
    """Every character the service's own files hold (templates, code, playbooks)."""
    found: set[str] = set()
    for folder in TEXT_DIRS:
        for path in sorted((root / folder).rglob("*")):
            if path.suffix in TEXT_SUFFIXES and path.is_file():
                found.update(path.read_text(encoding="utf-8"))
    return {c for c in found if c.isprintable()}


def characters(root: Path = REPO) -> set[str]:
    """What the shipped font covers."""
    wanted = service_text(root) | set(gb2312_level_one())
    for first, last in RANGES:
        wanted.update(map(chr, range(first, last + 1)))
    return wanted


def subset(source: Path, target: Path, wanted: Iterable[str]) -> int:
    """Write the subset of ``source``'s SC face covering ``wanted`` to ``target``; its size."""
    from fontTools import subset as fontsubset
    from fontTools.ttLib import TTCollection, TTFont

    if source.suffix == ".ttc":
        faces = TTCollection(source).fonts
        font = next(f for f in faces if f["name"].getDebugName(1) == SOURCE_FAMILY)
    else:
        font = TTFont(source)
    options = fontsubset.Options()
    options.flavor = "woff2"
    options.hinting = False  # screens and PDFs of this size render well without
    options.name_IDs = [0, 7, 8, 9, 11, 12, 13, 14]  # copyright, authors, licence; names below
    subsetter = fontsubset.Subsetter(options)
    subsetter.populate(unicodes=sorted(ord(c) for c in wanted))
    subsetter.subset(font)
    names = font["name"]
    for name_id, value in (
        (1, FAMILY),
        (2, "Regular"),
        (3, f"{POSTSCRIPT};subset of {SOURCE_FAMILY}"),
        (4, f"{FAMILY} Regular"),
        (6, POSTSCRIPT),
        (10, f"A subset of {SOURCE_FAMILY} for outage-coordinator (tools/subset_font.py)"),
    ):
        names.setName(value, name_id, 3, 1, 0x409)
    if "CFF " in font:
        cff = font["CFF "].cff
        cff.fontNames = [POSTSCRIPT]
        cff[POSTSCRIPT].FullName = f"{FAMILY} Regular"
        cff[POSTSCRIPT].FamilyName = FAMILY
    font.flavor = "woff2"
    font.recalcTimestamp = False  # the same source and characters give the same file
    target.parent.mkdir(parents=True, exist_ok=True)
    font.save(target)
    return target.stat().st_size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", type=Path, default=SOURCE)
    parser.add_argument("--target", type=Path, default=TARGET)
    args = parser.parse_args()
    wanted = characters()
    size = subset(args.source, args.target, wanted)
    print(f"{args.target}: {len(wanted)} characters, {size:,} bytes")


if __name__ == "__main__":
    main()
