"""Aligned columns under a header, for the ``list`` commands, as a terminal shows them."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence

GAP = "  "


def width(text: str) -> int:
    """How many terminal columns ``text`` takes: two for a wide character (汉字, full-width
    punctuation), none for a combining mark, one for the rest."""
    return sum(
        2 if unicodedata.east_asian_width(char) in "WF" else 0 if unicodedata.combining(char) else 1
        for char in text
    )


def table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """The header and the rows, each column as wide as its widest cell, two spaces apart; the
    last column is not padded, so no line ends in spaces."""
    lines = [list(header), *(list(row) for row in rows)]
    widths = [max(width(line[column]) for line in lines) for column in range(len(header))]
    return "\n".join(
        GAP.join(
            cell if column == len(line) - 1 else cell + " " * (widths[column] - width(cell))
            for column, cell in enumerate(line)
        )
        for line in lines
    )
