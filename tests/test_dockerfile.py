"""The Dockerfile as Docker reads it: slim base, non-root, health check, migrate then serve."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import dockerfile
import pytest

CHECKOUT = Path(__file__).resolve().parents[1]

START_COMMANDS = ("CMD", "ENTRYPOINT")


@pytest.fixture(scope="module")
def instructions() -> list[dockerfile.Command]:
    return list(dockerfile.parse_file(str(CHECKOUT / "Dockerfile")))


def _of(instructions: list[dockerfile.Command], name: str) -> list[dockerfile.Command]:
    return [i for i in instructions if i.cmd.upper() == name]


def _start_command(instructions: list[dockerfile.Command]) -> str:
    """What the container runs: ENTRYPOINT then CMD, as one shell-like string."""
    words: list[str] = []
    for name in START_COMMANDS[::-1]:
        found = _of(instructions, name)
        if found:
            last = found[-1]
            words += list(last.value) if last.json else shlex.split(" ".join(last.value))
    return " ".join(words)


def test_base_is_a_slim_python_image(instructions: list[dockerfile.Command]) -> None:
    base = _of(instructions, "FROM")
    assert base, "no FROM"
    image = base[-1].value[0]
    assert re.fullmatch(r"python:3\.\d+(\.\d+)?-slim(-[a-z]+)?", image), image


def test_runs_as_a_non_root_user(instructions: list[dockerfile.Command]) -> None:
    users = [(n, i) for n, i in enumerate(instructions) if i.cmd.upper() == "USER"]
    assert users, "no USER instruction"
    start = min(n for n, i in enumerate(instructions) if i.cmd.upper() in START_COMMANDS)
    before_start = [i for n, i in users if n < start]
    assert before_start, "USER must come before CMD/ENTRYPOINT"
    user = before_start[-1].value[0].split(":")[0]
    assert user not in {"root", "0"}, user


def test_health_check_asks_healthz(instructions: list[dockerfile.Command]) -> None:
    checks = _of(instructions, "HEALTHCHECK")
    assert checks, "no HEALTHCHECK"
    check = checks[-1]
    assert check.value[0].upper() == "CMD", check.value
    assert "/healthz" in " ".join(check.value[1:])


def test_start_command_migrates_before_serving(instructions: list[dockerfile.Command]) -> None:
    command = _start_command(instructions)
    assert "db upgrade" in command, command
    assert "serve" in command, command
    assert command.index("db upgrade") < command.index("serve"), command
    # Serving only after a successful migration: a failed upgrade must stop the container.
    between = command[command.index("db upgrade") : command.index("serve")]
    assert "&&" in between, command
    assert "--host 0.0.0.0" in command and "--port 8000" in command, command


def test_exposes_port_8000(instructions: list[dockerfile.Command]) -> None:
    ports = [p.split("/")[0] for i in _of(instructions, "EXPOSE") for p in i.value]
    assert "8000" in ports, ports


def test_database_lives_in_a_writable_folder(instructions: list[dockerfile.Command]) -> None:
    env: dict[str, str] = {}
    for i in _of(instructions, "ENV"):
        env.update(zip(i.value[::2], i.value[1::2], strict=True))
    url = env.get("OUTAGE_DATABASE_URL", "")
    assert url.startswith("sqlite+aiosqlite:////app/var/"), url
    volumes = [v for i in _of(instructions, "VOLUME") for v in i.value]
    assert "/app/var" in volumes, volumes
