"""The README runs as written: its shell blocks, in order, against a fresh server.

Every ```sh block of README.md runs, top to bottom, in one bash process with ``set -euo
pipefail``, and curl fails on any status of 400 or more (``--fail-with-body``), so a command that
stops working fails this test with the server's answer. A block right after the comment
``<!-- readme-test: skip -->`` is left out (``make run`` itself: this test starts the server).
The server is the real one, a subprocess on a free port over a new SQLite file, started the way
the README's ``make run`` starts it: ``db upgrade``, then ``serve``.
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

import pytest

from tests.helpers import REPO, serve, service_env

README = REPO / "README.md"
SKIP_MARKER = "<!-- readme-test: skip -->"
FENCE = re.compile(r"^```sh\n(?P<body>.*?)^```$", re.MULTILINE | re.DOTALL)
# The README's variables whose answers are checked after the blocks ran.
ANSWERS = (
    "FIRST",
    "SECOND",
    "WARNING",
    "POLLED",
    "RELEASE",
    "PUBLISHED",
    "CHECK",
    "TERMINATED",
    "EVALUATION",
    "EVENTS",
    "DRILLED",
)
# curl as the blocks call it: silent but for errors, failing on 4xx and 5xx with the body shown.
PRELUDE = """set -euo pipefail
curl() { command curl --show-error --fail-with-body "$@"; }
"""


def sh_blocks(markdown: str) -> tuple[list[str], list[str]]:
    """The ```sh blocks to run, in order, and the ones marked to skip."""
    run: list[str] = []
    skipped: list[str] = []
    for match in FENCE.finditer(markdown):
        before = markdown[: match.start()].rstrip("\n").rsplit("\n", 1)[-1]
        (skipped if before.strip() == SKIP_MARKER else run).append(match["body"])
    return run, skipped


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


def test_every_variable_the_readme_sets_is_used() -> None:
    script = "\n".join(sh_blocks(README.read_text(encoding="utf-8"))[0])
    assigned = set(re.findall(r"^\s*([A-Z][A-Z0-9_]*)=", script, re.MULTILINE))
    assert "EVENT_ID" in assigned
    unused = {name for name in assigned if not re.search(rf"\$\{{?{name}\b", script)}
    assert not unused, f"set and never used: {sorted(unused)}"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, dict[str, str]]]:
    """A fresh server on a free port; its address and the environment the CLI needs."""
    env = service_env(f"sqlite+aiosqlite:///{tmp_path / 'readme.db'}", tmp_path / "var")
    with serve(env, 1, tmp_path / "server.log", cwd=tmp_path) as service:
        yield f"127.0.0.1:{service.port}", env


@pytest.mark.process
@pytest.mark.skipif(
    not (shutil.which("bash") and shutil.which("curl")),
    reason="the README's blocks need bash and curl",
)
def test_readme_runs_as_written(server: tuple[str, dict[str, str]], tmp_path: Path) -> None:
    address, env = server
    blocks, skipped = sh_blocks(README.read_text(encoding="utf-8"))
    assert any("make run" in block for block in skipped)
    assert len(blocks) >= 4
    answers = tmp_path / "answers"
    dump = (
        f"for name in {' '.join(ANSWERS)}; do "
        'printf "%s\\0%s\\0" "$name" "${!name}"; done > ' + shlex.quote(str(answers))
    )
    script = (PRELUDE + "\n".join(blocks) + dump + "\n").replace("localhost:8000", address)
    cli = f"{shlex.quote(sys.executable)} -m service.cli"
    script = script.replace(".venv/bin/outage-coordinator", cli)
    (tmp_path / "readme.sh").write_text(script, encoding="utf-8")
    (tmp_path / "playbooks").symlink_to(
        REPO / "playbooks"
    )  # the drill's scenario, as in a checkout

    ran = subprocess.run(
        ["bash", "readme.sh"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert ran.returncode == 0, f"{ran.stdout[-3000:]}\n--- stderr ---\n{ran.stderr[-3000:]}"

    fields = answers.read_text(encoding="utf-8").split("\0")
    answer = dict(zip(fields[0::2], fields[1::2], strict=False))
    first, second = json.loads(answer["FIRST"]), json.loads(answer["SECOND"])
    assert (first["level"], first["state"], first["leading_hq"]["region"]) == (
        "IV",
        "response",
        "330603",
    )
    assert (second["event_level"], second["leading_hq"]["region"]) == ("IV", "330600")
    assert json.loads(answer["WARNING"])["state"] == "proposed"
    assert answer["POLLED"] == "304"
    release, published = json.loads(answer["RELEASE"]), json.loads(answer["PUBLISHED"])
    assert (release["state"], release["reviewer"]["region"]) == ("proposed", "330600")
    assert (published["id"], published["state"]) == (release["id"], "published")
    assert published["approved_by"] == "commander:市指挥部 指挥长@330600"
    assert published["published_at"] is not None
    check = json.loads(answer["CHECK"])
    assert check["can_terminate"] is True
    assert all(condition["met"] for condition in check["conditions"])
    assert json.loads(answer["TERMINATED"])["state"] == "terminated"
    evaluation = json.loads(answer["EVALUATION"])
    assert [lead["region"] for lead in evaluation["leading_hqs"]] == ["330603", "330600"]
    assert [(x["level"], x["by"]) for x in evaluation["levels"]] == [("IV", "report")]
    assert evaluation["partial"] is False
    assert (tmp_path / "evaluation.pdf").read_bytes().startswith(b"%PDF-")
    assert second["event_id"] == first["event_id"]
    warned = json.loads(answer["WARNING"])["event_id"]
    states = {e["id"]: e["state"] for e in json.loads(answer["EVENTS"])["items"]}
    assert states == {first["event_id"]: "terminated", warned: "warning"}
    assert answer["DRILLED"] == "closed"
    drills = list((tmp_path / "drills").iterdir())
    assert len(drills) == 1 and (drills[0] / "evaluation.json").is_file()
    assert (tmp_path / "drill-evaluation.pdf").read_bytes().startswith(b"%PDF-")
    printed = set(ran.stdout.splitlines())
    assert {"published", "acknowledged", "done", "true", "terminated"} <= printed
