"""Citations that cannot rot: the product, its docs and its error bodies cite only what the
repository holds. Pure: reads files, starts nothing.

- No file of the product or of its docs names ``design.md`` (the code cites a section, as
  ``design § Lifecycle``), ``../shared``, ``shared/plan`` or ``plan/README``, but as the target of
  a markdown link, which the last test checks; tests, benchmarks and tools (for maintainers)
  may name docs/design.md, but no path outside the repository either.
- Every ``design § X`` and ``operations § X`` names a heading (``## X``) of docs/design.md or
  docs/operations.md, the heading on the same line as the ``§``.
- Every relative markdown link of the docs and the README reaches a file of the repository, and
  its ``#anchor`` a heading of that file.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import REPO

# What clients and operators get: the code, the schema's history, the playbooks, the docs.
PRODUCT = ("service", "models", "migrations", "playbooks")
DOCS = ("docs", "README.md")
# Maintainers' files cite sections the same way; this file is left out, as it spells citations
# that are not.
MAINTAINERS = ("tests", "benchmarks", "tools")
SELF = Path(__file__).resolve()

FORBIDDEN = ("design.md", "../shared", "shared/plan", "plan/README")
# A markdown link to a file of the repository may name it: [text](design.md#lifecycle).
LINK = re.compile(r"\[(?P<text>[^\]\n]*)\]\((?P<target>[^)\s]+)\)")
CITATION = re.compile(r"\b(?P<doc>design|operations) §(?P<rest>.*)$")
CITED = {"design": REPO / "docs" / "design.md", "operations": REPO / "docs" / "operations.md"}


def text_files(*roots: str) -> Iterator[tuple[Path, str]]:
    """Each text file under ``roots`` (files or folders of the repository), with its text."""
    for root in roots:
        top = REPO / root
        paths = [top] if top.is_file() else sorted(p for p in top.rglob("*") if p.is_file())
        for path in paths:
            if "__pycache__" in path.parts or path.resolve() == SELF:
                continue
            data = path.read_bytes()
            if b"\0" in data:
                continue
            try:
                yield path, data.decode("utf-8")
            except UnicodeDecodeError:
                continue


def headings(path: Path) -> list[str]:
    """The section headings (``## X``) of a markdown file."""
    return [line[3:].strip() for line in path.read_text("utf-8").splitlines() if line[:3] == "## "]


def anchors(path: Path) -> set[str]:
    """GitHub's anchors for the headings of a markdown file."""
    found = set()
    for line in path.read_text("utf-8").splitlines():
        if match := re.match(r"#{1,6} (.+)", line):
            slug = re.sub(r"[^\w\- ]", "", match.group(1).strip().lower()).replace(" ", "-")
            found.add(slug)
    return found


def where(path: Path, text: str, at: int) -> str:
    return f"{path.relative_to(REPO)}:{text.count(chr(10), 0, at) + 1}"


def relative(target: str) -> bool:
    """A link within the repository: not ``https:``, ``mailto:`` …"""
    return re.match(r"[a-z][a-z0-9+.-]*:", target) is None


def unlinked(path: Path, text: str) -> str:
    """``text`` with the relative links of a markdown file blanked, text and target: a link may
    name the file it leads to ([docs/design.md](docs/design.md)), and the last test checks that it
    leads somewhere."""
    if path.suffix != ".md":
        return text
    return LINK.sub(lambda m: " " * len(m.group()) if relative(m["target"]) else m.group(), text)


def forbidden_mentions(path: Path, text: str) -> list[str]:
    bare = unlinked(path, text)
    return [
        f"{where(path, bare, match.start())}: {name}"
        for name in FORBIDDEN
        for match in re.finditer(re.escape(name), bare)
    ]


def test_the_product_and_its_docs_name_no_file_they_do_not_hold() -> None:
    found = [
        m for path, text in text_files(*PRODUCT, *DOCS) for m in forbidden_mentions(path, text)
    ]
    assert not found, (
        "cite docs/design.md by section (design § Lifecycle) and the plan by clause (plan 5.5), "
        "never by a file name or a path outside the repository:\n" + "\n".join(found)
    )


def test_the_maintainers_files_name_no_path_outside_the_repository() -> None:
    found = [
        f"{where(path, text, match.start())}: {match.group()}"
        for path, text in text_files(*MAINTAINERS)
        for match in re.finditer(r"\.\./shared|shared/plan", text)
    ]
    assert not found, "a path outside the repository:\n" + "\n".join(found)


def bad_citations(path: Path, text: str, known: dict[str, list[str]]) -> list[str]:
    bad = []
    for number, line in enumerate(text.splitlines(), 1):
        for match in CITATION.finditer(line):
            doc, rest = match.group("doc"), match.group("rest")
            cited = [h for h in known[doc] if re.match(rf" {re.escape(h)}(?!\w)", rest)]
            if not cited:
                said = rest.strip()[:40] or "(nothing: keep the heading on the line of the §)"
                bad.append(f"{path.relative_to(REPO)}:{number}: {doc} § {said}")
    return bad


@pytest.fixture(scope="module")
def known() -> dict[str, list[str]]:
    return {doc: headings(path) for doc, path in CITED.items()}


def test_the_cited_documents_have_the_headings_the_convention_needs(
    known: dict[str, list[str]],
) -> None:
    assert {"Lifecycle", "Roles", "One outage, one event", "Concurrency"} <= set(known["design"])
    assert "Metrics" in known["operations"]


@pytest.mark.parametrize("roots", [PRODUCT + DOCS, MAINTAINERS], ids=["product", "maintainers"])
def test_every_section_cited_is_a_heading(
    roots: tuple[str, ...], known: dict[str, list[str]]
) -> None:
    bad = [b for path, text in text_files(*roots) for b in bad_citations(path, text, known)]
    assert not bad, (
        "these citations name no `## ` heading of docs/design.md or docs/operations.md "
        "(rename the citation, or give the section back its heading):\n" + "\n".join(bad)
    )


@pytest.mark.parametrize(
    ("line", "ok"),
    [
        ('rule="design § One outage, one event",', True),
        ("(design § Lifecycle, the who column)", True),
        ("# design § Who leads; plan 5.1", True),
        ("Prometheus text (operations § Metrics).", True),
        ('rule="design § Event lifecycle",', False),
        ("(design § Leads)", False),
        ("(design § Metrics)", False),
        ("overdue (design §", False),
        ("(design § Lifecycles)", False),
    ],
)
def test_a_citation_is_judged_by_its_heading(
    line: str, ok: bool, known: dict[str, list[str]]
) -> None:
    assert (not bad_citations(REPO / "x.py", line, known)) is ok


@pytest.mark.parametrize(
    ("text", "ok"),
    [
        ("see [design.md § Drills](design.md#drills)", True),
        ("- [docs/design.md](docs/design.md): the contract", True),
        ("the rules (design.md)", False),
        ('"design.md one outage, one event"', False),
        ("../shared/plan/README.md", False),
        ("[the plan](https://example.org/shared/plan/README.md)", False),
        ("the rules (design.md), as [design.md](design.md) says", False),
    ],
)
def test_a_mention_is_judged_by_whether_it_is_a_link(text: str, ok: bool) -> None:
    assert (not forbidden_mentions(REPO / "docs" / "x.md", text)) is ok


def test_every_relative_link_of_the_docs_reaches_a_file_and_a_heading() -> None:
    broken = []
    for path, text in text_files(*DOCS):
        if path.suffix != ".md":
            continue
        for match in LINK.finditer(text):
            target = match.group("target")
            if not relative(target):
                continue
            file, _, anchor = target.partition("#")
            linked = (path.parent / file).resolve() if file else path
            if not linked.is_relative_to(REPO) or not linked.exists():
                broken.append(f"{where(path, text, match.start())}: {target} (no such file)")
            elif anchor and linked.suffix == ".md" and anchor not in anchors(linked):
                broken.append(f"{where(path, text, match.start())}: {target} (no such heading)")
    assert not broken, "links that lead nowhere:\n" + "\n".join(broken)
