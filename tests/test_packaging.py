"""The service as it is installed: the wheel, its bundled files, and the locked versions.

- the wheel holds the service (the board's templates and static files too), its playbooks and
  migrations, and no tests or benchmarks;
- installed from the wheel and uv.lock into a fresh venv outside the checkout, the command
  migrates, checks the playbooks and serves, with no OUTAGE_PLAYBOOKS_DIR;
- the editable install of the checkout reads the checkout's own playbooks and migrations;
- the environment the tests run in is exactly uv.lock (a drift fails here, loudly).

uv comes from the dev extra; its cache (shared with `make install`) keeps the installs fast.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
import zipfile
from importlib import metadata
from pathlib import Path

import httpx
import pytest
from uv import find_uv_bin

import service
from service.bundled import migrations_dir, playbooks_dir
from service.config import Settings
from service.playbooks.checklists import PLAYBOOK_GLOBS
from service.playbooks.drills import SCENARIO_GLOB
from tests.helpers import REPO, serve

# One worker runs the module (make test: --dist loadgroup), so its servers start once.
pytestmark = [pytest.mark.process, pytest.mark.xdist_group("packaging")]

CHECKOUT = REPO
UV = find_uv_bin()
# A drift in any of these changes what the service does; the whole set is checked by uv too.
KEY_PACKAGES = ("sqlalchemy", "fastapi", "python-statemachine", "pydantic", "alembic", "uvicorn")
NOT_SHIPPED = ("tests/", "benchmarks/")


def uv(*args: str | Path, cwd: Path = CHECKOUT, **env: str) -> str:
    """Run uv; its output, or the test fails showing what uv said."""
    done = subprocess.run(
        [UV, *map(str, args)],
        cwd=cwd,
        env={**os.environ, "UV_PYTHON_DOWNLOADS": "never", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, f"uv {' '.join(map(str, args))}:\n{done.stdout}{done.stderr}"
    return done.stdout


def locked_versions() -> dict[str, str]:
    lock = tomllib.loads((CHECKOUT / "uv.lock").read_text())
    return {package["name"]: package["version"] for package in lock["package"]}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel, built as a release would be: sdist first, then the wheel from the sdist."""
    dist = tmp_path_factory.mktemp("dist")
    uv("build", "--quiet", "--out-dir", dist, CHECKOUT)
    (built,) = dist.glob("*.whl")
    return built


def test_wheel_ships_the_service_playbooks_and_migrations_only(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())

    assert not [n for n in names if n.startswith(NOT_SHIPPED)], sorted(names)
    sources = {
        p.relative_to(CHECKOUT).as_posix()
        for package in ("service", "models")
        for p in (CHECKOUT / package).rglob("*.py")
    }
    assert sources <= names, sorted(sources - names)
    checkout_playbooks = {
        p.relative_to(CHECKOUT / "playbooks").as_posix()
        for pattern in (*PLAYBOOK_GLOBS, SCENARIO_GLOB)
        for p in (CHECKOUT / "playbooks").glob(pattern)
    }
    shipped_playbooks = {
        n.removeprefix("service/bundled/playbooks/")
        for n in names
        if n.startswith("service/bundled/playbooks/") and n.endswith(".yaml")
    }
    assert checkout_playbooks and shipped_playbooks == checkout_playbooks
    migrations = {
        f"service/bundled/migrations/{p.relative_to(CHECKOUT / 'migrations').as_posix()}"
        for pattern in ("*.*", "versions/*.py")
        for p in (CHECKOUT / "migrations").glob(pattern)
    }
    assert migrations <= names, sorted(migrations - names)
    api = CHECKOUT / "service" / "api"
    board = {
        f"service/api/{path.relative_to(api).as_posix()}"
        for folder in ("templates/board", "static/board")
        for path in (api / folder).iterdir()
    }
    assert board and board <= names, sorted(board - names)
    # the evaluation report's templates and its CJK font, with the font's licence
    assert {
        "service/api/templates/evaluation/report.html",
        "service/api/templates/evaluation/report.css",
        "service/api/static/fonts/OutageSansSC-Regular.woff2",
        "service/api/static/fonts/OFL.txt",
        # the message catalogue's English (service.words)
        "service/words/locale/en/LC_MESSAGES/messages.po",
    } <= names
    # the font is most of it (about 1.1 MB: tools/subset_font.py says what it keeps)
    assert wheel.stat().st_size < 2_000_000, wheel.stat().st_size


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv outside the checkout: uv.lock's runtime packages and the wheel; its bin/."""
    root = tmp_path_factory.mktemp("installed")
    requirements = root / "requirements.txt"
    uv("export", "--quiet", "--frozen", "--no-emit-project", "--output-file", requirements)
    uv("venv", "--quiet", "--python", sys.executable, root / "venv", cwd=root)
    python = root / "venv" / "bin" / "python"
    uv("pip", "install", "--quiet", "--python", python, "-r", requirements, wheel, cwd=root)
    return python.parent


@pytest.fixture
def outside(tmp_path: Path) -> dict[str, str]:
    """An environment for the installed command: no OUTAGE_ settings but a SQLite file here."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OUTAGE_", "PYTHON"))}
    env["OUTAGE_DATABASE_URL"] = f"sqlite+aiosqlite:///{tmp_path / 'coordinator.db'}"
    env["OUTAGE_VAR_DIR"] = str(tmp_path / "var")
    return env


def test_installed_wheel_runs_outside_the_checkout(
    installed: Path, outside: dict[str, str], tmp_path: Path
) -> None:
    def run(*args: str) -> str:
        done = subprocess.run(
            [installed / "outage-coordinator", *args],
            cwd=tmp_path,
            env=outside,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    site = installed.parent / "lib"
    upgraded = run("db", "upgrade")
    assert "已执行迁移 0001 foundation" in upgraded and "（最新）" in upgraded
    checked = run("playbooks", "check")
    assert str(site) in checked and str(CHECKOUT) not in checked, checked
    assert "演练脚本：typhoon.yaml" in checked, checked
    # the English catalogue ships with the wheel
    assert "drill scenarios: typhoon.yaml" in run("--lang", "en", "playbooks", "check")

    program = (str(installed / "outage-coordinator"),)
    with serve(outside, 1, tmp_path / "serve.log", False, command=program, cwd=tmp_path) as server:
        base = server.url
        sign_in = httpx.get(f"{base}/board/login", timeout=5)  # the board's templates
        assert sign_in.status_code == 200 and 'name="token"' in sign_in.text
        assert httpx.get(f"{base}/board/static/board.js", timeout=5).status_code == 200
        # the evaluation page's font comes from the installed package
        font = httpx.get(f"{base}/fonts/OutageSansSC-Regular.woff2", timeout=5)
        assert font.status_code == 200 and font.content[:4] == b"wOF2"


def test_installed_packages_are_the_locked_ones(installed: Path) -> None:
    """The wheel's own requirements pull in nothing beyond the lock's versions."""
    listed = json.loads(uv("pip", "list", "--format", "json", "--python", installed / "python"))
    versions = {package["name"]: package["version"] for package in listed}
    locked = locked_versions()
    assert {name: locked.get(name) for name in versions} == versions


@pytest.mark.skipif(
    not Path(service.__file__).is_relative_to(CHECKOUT), reason="not an editable install"
)
def test_editable_install_reads_the_checkout(monkeypatch: pytest.MonkeyPatch) -> None:
    assert playbooks_dir() == CHECKOUT / "playbooks"
    assert migrations_dir() == CHECKOUT / "migrations"
    monkeypatch.delenv("OUTAGE_PLAYBOOKS_DIR", raising=False)
    assert Settings().playbooks_dir == CHECKOUT / "playbooks"
    monkeypatch.setenv("OUTAGE_PLAYBOOKS_DIR", "/srv/playbooks")
    assert Settings().playbooks_dir == Path("/srv/playbooks")


def test_environment_is_the_lock() -> None:
    """This environment holds exactly uv.lock's versions (the dev extra included)."""
    locked = locked_versions()
    for name in KEY_PACKAGES:
        assert metadata.version(name) == locked[name], name
    uv(
        *("sync", "--locked", "--extra", "dev", "--check"),
        UV_PROJECT_ENVIRONMENT=sys.prefix,
    )
