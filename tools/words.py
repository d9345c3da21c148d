"""The message catalogue's upkeep (``make words``): extract every sentence the code and the
templates say (service/words/babel.cfg) and bring ``locale/en/LC_MESSAGES/messages.po`` up to
date with them: new sentences are added untranslated, sentences no longer said are dropped,
the English already written is kept. tests/words/test_catalogue.py fails while one is
untranslated.

    python -m tools.words          # update the English catalogue
"""

from __future__ import annotations

import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po, write_po

REPO = Path(__file__).resolve().parents[1]
WORDS = REPO / "service" / "words"
ENGLISH = WORDS / "locale" / "en" / "LC_MESSAGES" / "messages.po"
# _ and its kin; Said: an error's detail (service.errors), said when it is read
KEYWORDS = {"_": None, "ngettext": (1, 2), "pgettext": ((1, "c"), 2), "Said": None}


def said() -> Catalog:
    """Every sentence the code and the templates say, as a template catalogue."""
    with (WORDS / "babel.cfg").open(encoding="utf-8") as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)
    catalogue = Catalog(domain="messages", project="outage-coordinator")
    for filename, lineno, message, comments, context in extract_from_dir(
        REPO, method_map, options_map, keywords=KEYWORDS, strip_comment_tags=True
    ):
        catalogue.add(message, None, [(filename, lineno)], auto_comments=comments, context=context)
    return catalogue


def english() -> Catalog:
    with ENGLISH.open("rb") as po:
        return read_po(po, locale="en", domain="messages")


def update() -> int:
    """Bring the English catalogue in line with what is said; the number left to translate."""
    template = said()
    catalogue = english() if ENGLISH.exists() else Catalog(locale="en", domain="messages")
    catalogue.update(template, no_fuzzy_matching=True)
    catalogue.obsolete.clear()
    ENGLISH.parent.mkdir(parents=True, exist_ok=True)
    with ENGLISH.open("wb") as po:
        write_po(po, catalogue, width=100, no_location=True, sort_output=True, omit_header=True)
    return sum(1 for message in catalogue if message.id and not message.string)


if __name__ == "__main__":
    left = update()
    print(f"{ENGLISH.relative_to(REPO)}: {left} sentence(s) without English", file=sys.stderr)
