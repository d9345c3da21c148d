"""The console script: db upgrade, tokens, playbooks check, agencies and regions, serve's first
start, drill run, and --help without the database or the web."""

from __future__ import annotations

import argparse
import io
import re
import shutil
import stat
import subprocess
import sys
from collections.abc import Iterator
from contextlib import redirect_stdout
from pathlib import Path

import httpx
import pytest

from service.cli import build_parser, main
from service.cli.table import width
from service.plan.actor import ROLES
from service.playbooks.bundle import Playbooks
from tests.helpers import PLAYBOOKS_DIR, REPO, Service, free_port, serve, service_env

PLAYBOOKS = Playbooks.load(PLAYBOOKS_DIR)
# An id in what a command says: it stands alone between spaces, whatever the language.
UUID = re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b")


def said_id(line: str) -> str:
    (found,) = UUID.findall(line)
    assert f" {found}" in f" {line} " and f"{found} " in f"{line} ", line
    return str(found)


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("OUTAGE_DATABASE_URL", url)
    monkeypatch.setenv("OUTAGE_VAR_DIR", str(tmp_path / "var"))
    assert main(["db", "upgrade"]) == 0
    return url


def test_tokens_create_list_revoke(database: str, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert (
        main(["tokens", "create", "--role", "dispatcher", "--name", "城调", "--region", "330603"])
        == 0
    )
    lines = capsys.readouterr().out.strip().splitlines()
    token = lines[-1]
    assert token.startswith("oc_") and len(token) > 40
    token_id = said_id(lines[0])
    assert lines[0] == f"已为 城调 创建dispatcher令牌 {token_id}"

    assert main(["tokens", "list"]) == 0
    listing = capsys.readouterr().out
    assert listing.split()[:6] == ["编号", "角色", "范围", "名称", "创建时间（北京时间）", "状态"]
    assert token_id in listing and "dispatcher" in listing and "330603" in listing
    assert token not in listing  # only the hash is kept

    assert main(["tokens", "revoke", token_id]) == 0
    assert capsys.readouterr().out == f"已吊销 {token_id}\n"
    assert main(["tokens", "list"]) == 0
    assert "已吊销" in capsys.readouterr().out
    assert main(["--lang", "en", "tokens", "list"]) == 0
    english = capsys.readouterr().out
    assert (
        english.startswith("ID") and "CREATED (BEIJING TIME)" in english and "revoked 20" in english
    )


def cells(line: str) -> list[tuple[int, str]]:
    """The cells of a line of aligned columns (two spaces or more apart), each with the
    terminal column it starts at (a CJK character is two columns wide)."""
    found = []
    for match in re.finditer(r"\S+(?: \S+)*", line):
        found.append((width(line[: match.start()]), match.group()))
    return found


def aligned(listing: str) -> list[list[str]]:
    """The rows of ``listing`` under its header, once every cell starts where its header does."""
    header, *rows = [cells(line) for line in listing.rstrip("\n").split("\n")]
    for row in rows:
        assert [start for start, _ in row] == [start for start, _ in header], (header, row)
    return [[text for _, text in row] for row in [header, *rows]]


def test_tokens_list_leaves_out_revoked_drill_tokens_unless_all(
    database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    made = {}
    for name in ("城调 值班", "drill: 调度", "drill: 市指挥部"):
        assert main(["tokens", "create", "--role", "observer", "--name", name]) == 0
        made[name] = said_id(capsys.readouterr().out.splitlines()[0])
    assert main(["tokens", "revoke", made["drill: 调度"]]) == 0
    capsys.readouterr()

    assert main(["tokens", "list"]) == 0
    rows = aligned(capsys.readouterr().out)
    assert rows[0] == ["编号", "角色", "范围", "名称", "创建时间（北京时间）", "状态"]
    assert [row[3] for row in rows[1:]] == ["城调 值班", "drill: 市指挥部"]  # one still works
    assert [row[5] for row in rows[1:]] == ["有效", "有效"]

    assert main(["tokens", "list", "--all"]) == 0
    rows = aligned(capsys.readouterr().out)
    assert [row[3] for row in rows[1:]] == ["城调 值班", "drill: 调度", "drill: 市指挥部"]
    assert rows[2][0] == made["drill: 调度"] and rows[2][5].endswith(" 已吊销")
    assert re.fullmatch(r"20\d\d-\d\d-\d\d \d\d:\d\d 已吊销", rows[2][5])  # to the minute


def test_agencies_list(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["agencies", "list"]) == 0
    header, *rows = aligned(capsys.readouterr().out)
    assert header == ["代码", "名称", "类别", "对应"]
    by_code = {row[0]: row[1:] for row in rows}
    assert len(by_code) == len(rows) == len(PLAYBOOKS.agencies)
    assert by_code["power-company"] == ["绍兴电力局", "成员单位", "-"]
    assert by_code["hq-330603"] == ["柯桥区应急指挥部", "指挥部", "330603 柯桥区 的指挥部"]
    assert by_code["economy-it"] == ["市经信委", "成员单位", "330600 绍兴市电网 的电力运行主管部门"]
    assert by_code["leading-hq"][1:] == ["按事件确定", "派发时确定"]
    assert main(["--lang", "en", "agencies", "list"]) == 0
    header, *rows = aligned(capsys.readouterr().out)
    assert header == ["CODE", "NAME", "KIND", "FOR"]
    assert {row[0]: row[1:] for row in rows}["hq-330603"] == [
        "柯桥区应急指挥部",
        "HQ",
        "HQ of 330603 柯桥区",
    ]


def test_regions_list(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["regions", "list"]) == 0
    header, *rows = aligned(capsys.readouterr().out)
    assert header == ["代码", "名称", "层级", "上级", "重点地区", "重要城市"]
    assert rows[2] == ["330602", "越城区", "县（市、区）", "330600", "是", "否"]
    assert rows[6] == ["330681", "诸暨市", "县（市、区）", "330600", "否", "是"]
    assert main(["--lang", "en", "regions", "list"]) == 0
    listing = capsys.readouterr().out
    # as a terminal shows it: each 汉字 two columns wide
    assert listing.splitlines()[:3] == [
        "CODE    NAME        LEVEL     WITHIN  KEY AREA  IMPORTANT CITY",
        "330000  浙江省电网  province  -       no        no",
        "330600  绍兴市电网  city      330000  no        no",
    ]
    assert listing.splitlines()[3] == "330602  越城区      county    330600  yes       no"
    header, *rows = aligned(listing)
    assert header == ["CODE", "NAME", "LEVEL", "WITHIN", "KEY AREA", "IMPORTANT CITY"]
    assert rows[:4] == [
        ["330000", "浙江省电网", "province", "-", "no", "no"],
        ["330600", "绍兴市电网", "city", "330000", "no", "no"],
        ["330602", "越城区", "county", "330600", "yes", "no"],
        ["330603", "柯桥区", "county", "330600", "no", "no"],
    ]
    assert rows[6] == ["330681", "诸暨市", "county", "330600", "no", "yes"]
    assert [row[0] for row in rows] == [grid.code for grid in PLAYBOOKS.grids]


@pytest.mark.process
def test_help_loads_neither_the_database_nor_the_web(tmp_path: Path) -> None:
    """``--help`` answers without importing what only a command's work needs."""
    heavy = ("sqlalchemy", "fastapi", "starlette", "uvicorn", "httpx", "pydantic", "yaml")
    script = (
        "import sys\n"
        "from service.cli import main\n"
        "for words in (['--help'], ['tokens', '--help'], ['drill', 'run', '--help']):\n"
        "    try:\n"
        "        main(words)\n"
        "    except SystemExit as done:\n"
        "        assert done.code == 0, words\n"
        f"print(sorted({{m.split('.')[0] for m in sys.modules}} & {set(heavy)!r}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert "usage: outage-coordinator tokens [-h] COMMAND" in done.stdout
    assert done.stdout.splitlines()[-1] == "[]"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--role", "commander", "--name", "x", "--region", "33060"], "region: String should"),
        (["--role", "agency", "--name", "x"], "--agency"),
        (["--role", "commander", "--name", "x"], "--region"),
        (["--role", "commander", "--name", "x", "--region", "999999"], "未知地区 999999"),
        (["--role", "observer", "--name", "x", "--agency", "health"], "只用于单位令牌"),
        (["--role", "agency", "--name", "x", "--agency", "ministry-of-magic"], "未知单位"),
        (["--role", "agency", "--name", "x", "--agency", "leading-hq"], "未知单位"),
    ],
)
def test_tokens_create_refuses_bad_options(
    database: str, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    assert main(["tokens", "create", *args]) == 2
    assert message in capsys.readouterr().err


def test_tokens_create_role_is_one_of_the_roles(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as refused:
        main(["tokens", "create", "--role", "wizard", "--name", "x"])
    assert refused.value.code == 2
    err = capsys.readouterr().err
    assert "invalid choice: 'wizard'" in err
    assert all(f"'{role}'" in err for role in ROLES)


def _commands(
    parser: argparse.ArgumentParser, path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    """Every command of the parser, subcommands included, with the words that reach it."""
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _commands(sub, (*path, name))


COMMANDS = dict(_commands(build_parser()))


@pytest.mark.parametrize("path", list(COMMANDS), ids=lambda p: " ".join(p) or "(top)")
def test_help_describes_every_command_and_option(
    path: tuple[str, ...], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as shown:
        main([*path, "--help"])
    assert shown.value.code == 0
    out = " ".join(capsys.readouterr().out.split())  # argparse wraps lines
    parser = COMMANDS[path]
    assert parser.description, path
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction):
            continue
        if isinstance(action, argparse._SubParsersAction):
            # its help is each subcommand's one line
            assert all(sub.help for sub in action._choices_actions), path
        else:
            assert action.help and action.help != argparse.SUPPRESS, (path, action.dest)
        for name in action.option_strings or [action.metavar or action.dest]:
            assert str(name) in out, (path, name)
        for choice in action.choices or ():
            assert str(choice) in out, (path, choice)


def test_db_upgrade_says_what_it_applied(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("OUTAGE_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'new.db'}")
    assert main(["db", "upgrade"]) == 0
    first = capsys.readouterr().out.strip()
    assert first.startswith("已执行迁移 0001 foundation、0002 warnings actions attestations、"), (
        first
    )
    head = first.rsplit(" ", 1)[-1].removesuffix("（最新）")
    assert first.endswith(f"；现在在 {head}（最新）"), first

    assert main(["db", "upgrade"]) == 0
    assert capsys.readouterr().out.strip() == f"数据库已在 {head}（最新），无需迁移"
    assert main(["--lang", "en", "db", "upgrade"]) == 0
    assert capsys.readouterr().out.strip() == f"already at {head} (head); nothing to apply"


def test_playbooks_check(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["playbooks", "check"]) == 0
    assert capsys.readouterr().out.strip().endswith("中的预案文件全部有效；演练脚本：typhoon.yaml")
    broken = tmp_path / "playbooks"
    shutil.copytree(PLAYBOOKS_DIR, broken)
    regions = broken / "regions.yaml"
    regions.write_text(regions.read_text().replace("scope: county", "scope: village", 1))
    capsys.readouterr()
    assert main(["playbooks", "check", str(broken)]) == 1
    err = capsys.readouterr().err
    assert "regions.yaml: 330602: scope:" in err

    shutil.copytree(PLAYBOOKS_DIR, broken, dirs_exist_ok=True)  # regions.yaml mended
    drill = broken / "drills" / "typhoon.yaml"
    drill.write_text(drill.read_text().replace("do: lift", "do: lower", 1))
    assert main(["playbooks", "check", str(broken)]) == 1
    assert f"{drill}: steps[27] (at 200, lower): " in capsys.readouterr().err


@pytest.fixture(scope="module")
def first_start(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    """``serve``'s first start on a new, migrated database (it writes the bootstrap admin token),
    running for the module's tests that need a service."""
    folder = tmp_path_factory.mktemp("serve")
    env = service_env(f"sqlite+aiosqlite:///{folder / 'cli.db'}", folder / "var")
    env["OUTAGE_ESCALATION_INTERVAL_SECONDS"] = "0"
    with pytest.MonkeyPatch.context() as patch:
        for name in ("OUTAGE_DATABASE_URL", "OUTAGE_VAR_DIR"):
            patch.setenv(name, env[name])
        with redirect_stdout(io.StringIO()):
            assert main(["db", "upgrade"]) == 0
    with serve(env, 1, folder / "serve.log", upgrade=False) as server:
        yield server


@pytest.mark.process
def test_serve_first_start_prints_bootstrap_token_once(first_start: Service) -> None:
    announced = first_start.log_text().splitlines()
    assert announced[0].startswith("尚无令牌：已生成初始管理员令牌"), announced[:2]
    token = announced[1].strip()
    var = first_start.log.parent / "var"
    token_file = var / "admin-token"
    assert token_file.read_text().strip() == token
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    health = httpx.get(f"{first_start.url}/healthz", timeout=10)
    assert health.json()["database"] == "ok"
    events = httpx.get(
        f"{first_start.url}/api/v1/events",
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert events.status_code == 200
    # a second start (on a data folder of its own: the first holds its own) finds a token and
    # prints none
    other = var.parent / "other-var"
    env = service_env(f"sqlite+aiosqlite:///{var.parent / 'cli.db'}", other)
    with serve(env, 1, var.parent / "again.log", upgrade=False) as again:
        said = again.log_text()
    assert "尚无令牌" not in said and token not in said, said[:500]
    assert token_file.read_text().strip() == token
    assert not (other / "admin-token").exists()


@pytest.mark.process
@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
@pytest.mark.parametrize(
    ("variables", "address"),
    [
        ([], "--host 127.0.0.1 --port 8000"),
        (["HOST=0.0.0.0", "PORT=8080"], "--host 0.0.0.0 --port 8080"),
    ],
)
def test_make_run_passes_host_and_port_to_serve(variables: list[str], address: str) -> None:
    dry_run = subprocess.run(
        ["make", "--dry-run", "run", *variables],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    assert f"outage-coordinator serve {address}" in dry_run.stdout


TYPHOON = PLAYBOOKS_DIR / "drills" / "typhoon.yaml"


@pytest.mark.process
def test_drill_run_plays_the_typhoon_against_a_running_service(
    first_start: Service,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The whole command, against ``serve`` in a process of its own (its first start wrote
    the bootstrap admin token the drill runs with)."""
    server = first_start
    var = server.log.parent / "var"
    token = (var / "admin-token").read_text().strip()
    out = tmp_path / "drills"
    # by default, the service at OUTAGE_PUBLIC_URL with the token serve wrote to var/
    monkeypatch.setenv("OUTAGE_PUBLIC_URL", server.url)
    monkeypatch.setenv("OUTAGE_VAR_DIR", str(var))
    argv = ["drill", "run", str(TYPHOON)]
    assert main([*argv, "--speed", "1000000", "--out", str(out)]) == 0
    printed = capsys.readouterr()
    event_id = said_id(printed.out.splitlines()[0])
    assert printed.out.splitlines()[0] == f"演练事件 {event_id} 看板：{server.url}/board"
    assert f"已保存 {out / event_id / 'evaluation.pdf'}" in printed.out
    assert "600/600 scenario min" in printed.err  # the progress bar, on stderr
    assert "480 min  terminate city" in printed.err
    admin = {"Authorization": f"Bearer {token}"}
    event = httpx.get(f"{server.url}/api/v1/events/{event_id}", headers=admin, timeout=30)
    event = event.json()
    assert (event["state"], event["drill"], event["peak_level"]) == ("closed", True, "III")

    # a wrong token: exit 1, the service's problem+json detail shown
    assert main(["drill", "run", str(TYPHOON), "--url", server.url, "--token", "oc_x"]) == 1
    err = capsys.readouterr().err
    assert "演练中止：making " in err
    assert "POST /tokens answered 401: the bearer token is unknown or revoked" in err


def test_drill_run_without_a_token_needs_the_one_serve_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("OUTAGE_VAR_DIR", str(tmp_path / "var"))
    assert main(["drill", "run", str(TYPHOON), "--url", "http://127.0.0.1:9"]) == 2
    err = capsys.readouterr().err
    assert (
        f"错误：no --token given, and no admin token in {tmp_path / 'var' / 'admin-token'}" in err
    )


def test_drill_run_refuses_a_scenario_that_does_not_validate(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = tmp_path / "typhoon.yaml"
    broken.write_text(
        TYPHOON.read_text().replace("warning: landfall, expect", "warning: x, expect")
    )
    argv = ["drill", "run", str(broken), "--url", "http://127.0.0.1:9", "--token", "t"]
    assert main(argv) == 1
    assert (
        f"错误：演练脚本未通过校验：{broken}: steps[3] (at 20, publish): "
        "warning: 'x' is not proposed by a step before"
    ) in capsys.readouterr().err
    for speed in ("0", "-1", "fast", "inf"):
        with pytest.raises(SystemExit) as refused:
            main([*argv, "--speed", speed])
        assert refused.value.code == 2


def test_subscriptions_add_list_remove(database: str, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    url = "http://127.0.0.1:9/hook"
    add = ["subscriptions", "add", "--url", url, "--agency", "power-company"]
    assert main([*add, "--type", "action.dispatched", "--type", "action.overdue", "--drills"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    secret = lines[-1]
    assert secret.startswith("whsec_")
    subscription_id = said_id(lines[0])
    assert lines[0] == f"standard 订阅 {subscription_id} 已创建，推送至 {url}"
    robot = "https://oapi.dingtalk.com/robot/send?access_token=x"
    assert main(["subscriptions", "add", "--url", robot, "--format", "dingtalk"]) == 0
    assert len(capsys.readouterr().out.strip().splitlines()) == 1  # no secret to show

    cap = ["subscriptions", "add", "--url", url, "--format", "cap", "--channel", "broadcast"]
    assert main(cap) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[-1].startswith("whsec_")
    cap_id = said_id(lines[0])

    assert main(["subscriptions", "list"]) == 0
    listing = capsys.readouterr().out
    assert f"{cap_id}\tcap\tbroadcast\t{url}\t*\t*\t仅真实事件" in listing
    assert subscription_id in listing and "action.dispatched,action.overdue" in listing
    assert "power-company" in listing and "含演练" in listing
    # the robot's access_token is masked (design § Notifications)
    assert "https://oapi.dingtalk.com/robot/send?access_token=***" in listing
    assert robot not in listing and secret not in listing

    assert main(["subscriptions", "remove", subscription_id]) == 0
    assert capsys.readouterr().out == f"已删除 {subscription_id}\n"
    assert main(["subscriptions", "list"]) == 0
    assert subscription_id not in capsys.readouterr().out
    assert main(["subscriptions", "remove", subscription_id]) == 2
    assert f"错误：订阅 {subscription_id} 不存在" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--url", "ftp://x/hook"], "url"),
        (["--url", "http://x/hook", "--agency", "nobody"], "未知单位 nobody"),
        (["--url", "http://x/hook", "--secret", "whsec_c2hvcnQ="], "24–64 字节"),
        (["--url", "http://x/hook", "--format", "wecom", "--secret", "s"], "机器人不签名"),
        (["--url", "http://x/hook", "--format", "cap"], "请注明 channel"),
        (
            ["--url", "http://x/hook", "--channel", "media", "--type", "action.overdue"],
            "不是公开信息",
        ),
    ],
)
def test_subscriptions_add_refuses_what_the_api_refuses(
    database: str, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    capsys.readouterr()
    assert main(["subscriptions", "add", *args]) == 2
    assert message in capsys.readouterr().err
    assert main(["subscriptions", "list"]) == 0
    assert capsys.readouterr().out == ""


def test_a_database_away_is_one_line_and_exit_75(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Storage trouble is no crash of the command: one line saying what and to try again, and
    sysexits' EX_TEMPFAIL, where a script may retry."""
    monkeypatch.setenv(
        "OUTAGE_DATABASE_URL", f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/outage"
    )
    monkeypatch.setenv("OUTAGE_VAR_DIR", str(tmp_path / "var"))
    capsys.readouterr()
    assert main(["tokens", "list"]) == 75
    assert (
        capsys.readouterr().err == "错误：数据库暂不可用（unreachable），命令未执行；请稍后重试\n"
    )
    assert main(["--lang", "en", "tokens", "list"]) == 75
    assert "error: the database is unavailable for now (unreachable)" in capsys.readouterr().err


def test_tokens_sign_in_link(
    database: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A one-time sign-in link for a unit's token, landing on its duty page (design § Duty page):
    the link on the last line, a bad --next refused naming the field."""
    monkeypatch.setenv("OUTAGE_PUBLIC_URL", "https://ops.example/")
    agency = ["--role", "agency", "--name", "公安 值班", "--agency", "public-security"]
    assert main(["tokens", "create", *agency]) == 0
    token_id = said_id(capsys.readouterr().out.splitlines()[0])
    assert main(["tokens", "sign-in-link", token_id, "--next", "/board/duties"]) == 0
    said, url = capsys.readouterr().out.strip().splitlines()
    assert said.startswith("登录链接（仅可使用一次，") and said.endswith(" 前有效）：")
    assert url.startswith("https://ops.example/board/sign-in/") and len(url) > 60
    assert main(["tokens", "sign-in-link", token_id, "--next", "https://evil.example"]) == 2
    assert "next" in capsys.readouterr().err
