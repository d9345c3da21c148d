"""docs/tutorial.md and the README run as written: their shell blocks, in order, against a fresh
server, printing what their ``# →`` lines say.

Every ```sh block of a document runs, top to bottom, in one bash process with ``set -euo
pipefail``, and curl fails on any status of 400 or more (``--fail-with-body``), so a command that
stops working fails the test with the server's answer. A block right after the comment
``<!-- doc-test: skip -->`` is left out (``make run`` itself: this test starts the server). The
server is the real one, a subprocess on a free port over a new SQLite file, started the way
``make run`` starts it (``db upgrade``, then ``serve``); ``BASE`` is its address, which the
documents use for every URL.

A line ``# → TEXT`` promises that the commands before it print a line reading TEXT, where ``…``
stands for anything and spaces do not count (JSON is printed compact or spaced); the promised
lines must appear in the output in the order the document gives them. The tutorial's answers
are checked field by field as well.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import pytest

from tests.helpers import REPO, serve, service_env

TUTORIAL = REPO / "docs" / "tutorial.md"
README = REPO / "README.md"
SKIP_MARKER = "<!-- doc-test: skip -->"
FENCE = re.compile(r"^```sh\n(?P<body>.*?)^```$", re.MULTILINE | re.DOTALL)
PROMISE = re.compile(r"# → (?P<text>.*)$", re.MULTILINE)
# The only place a document names an address: the default of BASE, make run's.
BASE_DEFAULT = "BASE=${BASE:-http://127.0.0.1:8000}"
# The tutorial's variables whose answers are checked after the blocks ran.
ANSWERS = (
    "FIRST",
    "SECOND",
    "WARNING",
    "POLLED",
    "RELEASE",
    "PUBLISHED",
    "ONCE",
    "AGAIN",
    "CHECK",
    "TERMINATED",
    "EVALUATION",
    "EVENTS",
    "DRILLED",
    "SUBSCRIPTION",
)
# curl as the blocks call it: silent but for errors, failing on 4xx and 5xx with the body shown.
PRELUDE = """set -euo pipefail
curl() { command curl --show-error --fail-with-body "$@"; }
"""
CLI = ".venv/bin/outage-coordinator"
SCRIPT_SECONDS = 300  # the drill, the PDFs and some 60 requests, on a machine running the suite


def sh_blocks(markdown: str) -> tuple[list[str], list[str]]:
    """The ```sh blocks to run, in order, and the ones marked to skip."""
    run: list[str] = []
    skipped: list[str] = []
    for match in FENCE.finditer(markdown):
        before = markdown[: match.start()].rstrip("\n").rsplit("\n", 1)[-1]
        (skipped if before.strip() == SKIP_MARKER else run).append(match["body"])
    return run, skipped


def promises(script: str) -> list[str]:
    """The lines the ``# →`` comments of ``script`` promise, in order."""
    return [match["text"].strip() for match in PROMISE.finditer(script)]


def _compact(text: str) -> str:
    return "".join(text.split())


def pattern(promised: str) -> re.Pattern[str]:
    """A promised line as a pattern over a printed line, both without spaces; … is anything."""
    parts = [re.escape(part) for part in _compact(promised).split("…")]
    return re.compile(".*?".join(parts))


def unkept(promised: list[str], printed: list[str]) -> list[str]:
    """The promised lines that the printed lines do not hold in order: the first one missed and
    all after it (empty when every promise holds)."""
    lines = iter(_compact(line) for line in printed)
    for index, text in enumerate(promised):
        wanted = pattern(text)
        if not any(wanted.fullmatch(line) for line in lines):
            return promised[index:]
    return []


def test_sh_blocks_skip_only_the_marked_block() -> None:
    markdown = "\n".join(
        [
            *("```sh", "echo one", "```", ""),
            *(SKIP_MARKER, "```sh", "make run", "```"),
            *("```python", "print()", "```"),
            *("```sh", "echo two", "```", ""),
        ]
    )
    assert sh_blocks(markdown) == (["echo one\n", "echo two\n"], ["make run\n"])


def test_promises_hold_in_order_with_ellipses_for_anything() -> None:
    script = 'echo "$A"    # → {"id": "…", "level": "IV"}\n# → done\n# → … terminated IV 330600\n'
    promised = promises(script)
    assert promised == ['{"id": "…", "level": "IV"}', "done", "… terminated IV 330600"]
    printed = ["noise", '{"id":"3f2a","level":"IV"}', "done", "ab12 terminated IV 330600"]
    assert unkept(promised, printed) == []
    assert unkept(promised, ['{"id":"3f2a","level":"III"}', "done"]) == promised
    # in order: a promise kept only before the one before it was kept is not kept
    assert unkept(["done", '{"id": "…", "level": "IV"}'], printed) == ['{"id": "…", "level": "IV"}']


@pytest.mark.parametrize("document", [TUTORIAL, README], ids=["tutorial", "readme"])
def test_every_address_is_base(document: Path) -> None:
    script = "\n".join(sh_blocks(document.read_text(encoding="utf-8"))[0])
    assert script.count(BASE_DEFAULT) == 1
    addresses = re.findall(r"(?:localhost|127\.0\.0\.1):\d+", script.replace(BASE_DEFAULT, ""))
    assert not addresses, f"use $BASE, not {addresses}"


def test_every_variable_the_tutorial_sets_is_used() -> None:
    script = "\n".join(sh_blocks(TUTORIAL.read_text(encoding="utf-8"))[0])
    assigned = set(re.findall(r"^\s*([A-Z][A-Z0-9_]*)=", script, re.MULTILINE))
    assert {"EVENT_ID", *ANSWERS} <= assigned
    unused = {name for name in assigned if not re.search(rf"\$\{{?{name}\b", script)}
    assert not unused, f"set and never used: {sorted(unused)}"


class Server(NamedTuple):
    base: str
    env: dict[str, str]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    """A fresh server on a free port, started as make run starts it; its address and the
    environment the CLI needs."""
    env = service_env(f"sqlite+aiosqlite:///{tmp_path / 'tutorial.db'}", tmp_path / "var")
    with serve(env, 1, tmp_path / "server.log", cwd=tmp_path) as service:
        yield Server(service.url, {**env, "BASE": service.url})


class Ran(NamedTuple):
    stdout: str
    answers: dict[str, str]


def run_document(document: Path, server: Server, tmp_path: Path, answers: tuple[str, ...]) -> Ran:
    """Run ``document``'s blocks in ``tmp_path`` (a checkout's folder: playbooks/, var/) and check
    their promises; what they printed, and the values of ``answers`` at the end."""
    blocks, skipped = sh_blocks(document.read_text(encoding="utf-8"))
    assert any("make run" in block for block in skipped)
    dump = tmp_path / "answers"
    script = PRELUDE + "\n".join(blocks)
    if answers:
        script += (
            f"for name in {' '.join(answers)}; do "
            f'printf "%s\\0%s\\0" "$name" "${{!name}}"; done > {shlex.quote(str(dump))}\n'
        )
    script = script.replace(CLI, f"{shlex.quote(sys.executable)} -m service.cli")
    (tmp_path / "document.sh").write_text(script, encoding="utf-8")
    if not (tmp_path / "playbooks").exists():
        (tmp_path / "playbooks").symlink_to(REPO / "playbooks")  # the drill's scenario
    ran = subprocess.run(
        ["bash", "document.sh"],
        cwd=tmp_path,
        env=server.env,
        capture_output=True,
        text=True,
        timeout=SCRIPT_SECONDS,
    )
    said = f"{ran.stdout[-4000:]}\n--- stderr ---\n{ran.stderr[-4000:]}"
    assert ran.returncode == 0, said
    missed = unkept(promises(script), ran.stdout.splitlines())
    assert not missed, f"not printed (in this order): {missed}\n--- stdout ---\n{ran.stdout}"
    fields = dump.read_text(encoding="utf-8").split("\0") if answers else []
    return Ran(ran.stdout, dict(zip(fields[0::2], fields[1::2], strict=False)))


needs_shell = pytest.mark.skipif(
    not (shutil.which("bash") and shutil.which("curl")),
    reason="the documents' blocks need bash and curl",
)


@pytest.mark.process
@needs_shell
def test_readme_runs_as_written(server: Server, tmp_path: Path) -> None:
    run_document(README, server, tmp_path, ())


@pytest.mark.process
@needs_shell
def test_tutorial_runs_as_written(server: Server, tmp_path: Path) -> None:
    ran = run_document(TUTORIAL, server, tmp_path, ANSWERS)
    answer = ran.answers

    first, second = json.loads(answer["FIRST"]), json.loads(answer["SECOND"])
    assert (first["level"], first["state"], first["leading_hq"]["region"]) == (
        "IV",
        "response",
        "330603",
    )
    assert second["event_id"] == first["event_id"]
    assert (second["event_level"], second["leading_hq"]["region"]) == ("IV", "330600")
    assert json.loads(answer["WARNING"])["state"] == "proposed"
    assert answer["POLLED"] == "304"
    release, published = json.loads(answer["RELEASE"]), json.loads(answer["PUBLISHED"])
    assert (release["state"], release["reviewer"]["region"]) == ("proposed", "330600")
    assert (published["id"], published["state"]) == (release["id"], "published")
    assert published["approved_by"] == "commander:市指挥部 指挥长@330600"
    assert published["published_at"] is not None
    once, again = json.loads(answer["ONCE"]), json.loads(answer["AGAIN"])
    assert once == again
    assert (once["level"], once["peak_level"], once["response_level"]) == (None, "IV", "IV")
    check = json.loads(answer["CHECK"])
    assert check["can_terminate"] is True
    assert all(condition["met"] for condition in check["conditions"])
    assert json.loads(answer["TERMINATED"])["state"] == "terminated"
    evaluation = json.loads(answer["EVALUATION"])
    assert [lead["region"] for lead in evaluation["leading_hqs"]] == ["330603", "330600"]
    assert [(x["level"], x["by"]) for x in evaluation["levels"]] == [("IV", "report")]
    assert evaluation["partial"] is False
    assert (tmp_path / "evaluation.pdf").read_bytes().startswith(b"%PDF-")
    warned = json.loads(answer["WARNING"])["event_id"]
    states = {e["id"]: e["state"] for e in json.loads(answer["EVENTS"])["items"]}
    assert states == {first["event_id"]: "terminated", warned: "warning"}
    drilled = json.loads(answer["DRILLED"])
    assert (drilled["state"], drilled["drill"]) == ("closed", True)
    drills = list((tmp_path / "drills").iterdir())
    assert [d.name for d in drills] == [drilled["id"]]
    assert (drills[0] / "evaluation.json").is_file()
    assert (tmp_path / "drill-evaluation.pdf").read_bytes().startswith(b"%PDF-")
    assert json.loads(answer["SUBSCRIPTION"])["secret"].startswith("whsec_")
