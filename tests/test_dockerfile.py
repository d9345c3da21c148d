"""The Dockerfile as Docker reads it.

A builder stage installs uv.lock's versions and the service's wheel into a venv; the final stage,
on the same slim image, copies only that venv, runs as a non-root user, checks /healthz, keeps the
SQLite database in a volume and migrates before serving. No tests or benchmarks reach the image.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass

import dockerfile
import pytest

from tests.helpers import REPO

START_COMMANDS = ("CMD", "ENTRYPOINT")
VENV = "/opt/venv"
NOT_IN_IMAGE = ("tests", "benchmarks")


@dataclass(frozen=True)
class Stage:
    image: str
    name: str | None
    instructions: list[dockerfile.Command]


@pytest.fixture(scope="module")
def stages() -> list[Stage]:
    """The Dockerfile's stages in order, each with the instructions after its FROM."""
    found: list[Stage] = []
    for instruction in dockerfile.parse_file(str(REPO / "Dockerfile")):
        if instruction.cmd.upper() == "FROM":
            words = instruction.value
            name = words[2] if len(words) == 3 and words[1].upper() == "AS" else None
            found.append(Stage(image=words[0], name=name, instructions=[]))
        else:
            assert found, f"{instruction.original} before any FROM"
            found[-1].instructions.append(instruction)
    assert found, "no FROM"
    return found


@pytest.fixture(scope="module")
def builder(stages: list[Stage]) -> Stage:
    assert len(stages) >= 2, "one stage: the build tools and sources would ship in the image"
    return stages[-2]


@pytest.fixture(scope="module")
def final(stages: list[Stage]) -> list[dockerfile.Command]:
    return stages[-1].instructions


def _of(instructions: list[dockerfile.Command], name: str) -> list[dockerfile.Command]:
    return [i for i in instructions if i.cmd.upper() == name]


def _env(instructions: list[dockerfile.Command]) -> dict[str, str]:
    env: dict[str, str] = {}
    for i in _of(instructions, "ENV"):
        env.update(zip(i.value[::2], i.value[1::2], strict=True))
    return env


def _runs(stage: Stage) -> str:
    return "\n".join(" ".join(i.value) for i in _of(stage.instructions, "RUN"))


def _start_command(instructions: list[dockerfile.Command]) -> str:
    """What the container runs: ENTRYPOINT then CMD, as one shell-like string."""
    words: list[str] = []
    for name in START_COMMANDS[::-1]:
        found = _of(instructions, name)
        if found:
            last = found[-1]
            words += list(last.value) if last.json else shlex.split(" ".join(last.value))
    return " ".join(words)


def test_every_stage_is_one_slim_python_image(stages: list[Stage]) -> None:
    # The venv's interpreter is a link to the builder's Python: the final image must have it.
    images = {stage.image for stage in stages}
    assert len(images) == 1, images
    image = images.pop()
    assert re.fullmatch(r"python:3\.\d+(\.\d+)?-slim(-[a-z]+)?", image), image


def test_builder_installs_the_lock_then_the_wheel(builder: Stage) -> None:
    copied = [source for i in _of(builder.instructions, "COPY") for source in i.value[:-1]]
    assert "uv.lock" in copied, copied
    runs = _runs(builder)
    # uv itself from the lock's hashes; the dependencies exactly as locked; the wheel adds none.
    assert re.search(r"locked_requirement\.py uv \| pip install --require-hashes", runs), runs
    assert re.search(r"uv sync [^\n]*--locked", runs), runs
    assert re.search(r"uv build --wheel", runs), runs
    assert re.search(rf"uv pip install --python {VENV}/bin/python --no-deps \S+\.whl", runs), runs
    assert _env(builder.instructions).get("UV_PROJECT_ENVIRONMENT") == VENV


def test_final_stage_copies_only_the_venv(builder: Stage, final: list[dockerfile.Command]) -> None:
    assert not _of(final, "ADD")
    copies = _of(final, "COPY")
    assert copies, "the final stage copies nothing"
    for copy in copies:
        assert f"--from={builder.name}" in copy.flags, copy.original
        assert copy.value == (VENV, VENV), copy.original


def test_no_tests_or_benchmarks_in_the_image(builder: Stage) -> None:
    ignored = (REPO / ".dockerignore").read_text().split()
    assert set(NOT_IN_IMAGE) <= set(ignored), ignored
    sources = [source for i in _of(builder.instructions, "COPY") for source in i.value[:-1]]
    for source in sources:
        assert source.strip("./").split("/")[0] not in NOT_IN_IMAGE, source


def test_runs_as_a_non_root_user(final: list[dockerfile.Command]) -> None:
    users = [(n, i) for n, i in enumerate(final) if i.cmd.upper() == "USER"]
    assert users, "no USER instruction in the final stage"
    start = min(n for n, i in enumerate(final) if i.cmd.upper() in START_COMMANDS)
    before_start = [i for n, i in users if n < start]
    assert before_start, "USER must come before CMD/ENTRYPOINT"
    user = before_start[-1].value[0].split(":")[0]
    assert user not in {"root", "0"}, user


def test_health_check_asks_healthz(final: list[dockerfile.Command]) -> None:
    checks = _of(final, "HEALTHCHECK")
    assert checks, "no HEALTHCHECK"
    check = checks[-1]
    assert check.value[0].upper() == "CMD", check.value
    assert "/healthz" in " ".join(check.value[1:])


def test_start_command_migrates_before_serving(final: list[dockerfile.Command]) -> None:
    command = _start_command(final)
    assert "db upgrade" in command, command
    assert "serve" in command, command
    assert command.index("db upgrade") < command.index("serve"), command
    # Serving only after a successful migration: a failed upgrade must stop the container.
    between = command[command.index("db upgrade") : command.index("serve")]
    assert "&&" in between, command
    assert "--host 0.0.0.0" in command and "--port 8000" in command, command


def test_commands_come_from_the_venv(final: list[dockerfile.Command]) -> None:
    path = _env(final).get("PATH", "")
    assert path.split(":")[0] == f"{VENV}/bin", path


def test_exposes_port_8000(final: list[dockerfile.Command]) -> None:
    ports = [p.split("/")[0] for i in _of(final, "EXPOSE") for p in i.value]
    assert "8000" in ports, ports


def test_database_lives_in_a_writable_folder(final: list[dockerfile.Command]) -> None:
    url = _env(final).get("OUTAGE_DATABASE_URL", "")
    assert url.startswith("sqlite+aiosqlite:////app/var/"), url
    volumes = [v for i in _of(final, "VOLUME") for v in i.value]
    assert "/app/var" in volumes, volumes
