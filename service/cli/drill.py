"""``drill run``: a scripted scenario replayed against a running service (plan 7.1, 8.1), by
default the one this machine serves, with the admin token its first start wrote."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from service.cli.parsing import CommandLineError, Commands, add_group, positive
from service.words import _

if TYPE_CHECKING:
    from service.config import Settings
    from service.drill.player import DrillRun
    from service.playbooks.drills import Step

SPEED_HELP = (
    "scenario minutes played per real minute (default: %(default)s, a scenario minute each "
    "second; 1 plays in real time, 6000 runs a ten-hour scenario in six seconds). Whatever the "
    "speed, the drill's event keeps the scenario's clock: the record reads in scenario minutes, "
    "and an answer the scenario gives after its due time is late"
)


def register(commands: Commands) -> None:
    drill = add_group(
        commands, "drill", help="drills (plan 7.1, 8.1)", description="Drills (plan 7.1, 8.1)."
    )
    run = drill.add_parser(
        "run",
        help="replay a scripted scenario against a running service",
        description="Replay a drill scenario (playbooks/drills/*.yaml) against a running "
        "service over its HTTP API, with a progress bar on stderr. The admin token mints a "
        "token for each of the scenario's actors (named 'drill: …'), revoked at the end. "
        "Every report and warning is sent with drill: true. A request the service refuses "
        "for concurrent work (409, 503) is sent again, a few times. Exit 1 on a scenario that "
        "does not validate, or at the first answer the scenario did not expect, naming the step.",
    )
    run.add_argument("file", type=Path, metavar="FILE", help="the scenario's YAML file")
    run.add_argument(
        "--url",
        help="the service's address (default: OUTAGE_PUBLIC_URL, http://127.0.0.1:8000 unless "
        "set, where 'make run' serves)",
    )
    run.add_argument(
        "--token",
        metavar="T",
        help="an admin token (default: the one in OUTAGE_VAR_DIR/admin-token, var/admin-token "
        "unless set, which 'serve' writes on its first start)",
    )
    run.add_argument("--speed", type=positive, default=60.0, metavar="X", help=SPEED_HELP)
    run.add_argument(
        "--out",
        type=Path,
        default=Path("var/drills"),
        metavar="DIR",
        help="where the evaluate step saves the evaluation report (JSON, PDF) and each "
        "warning's CAP alert, in a folder named after the event (default: %(default)s)",
    )
    run.set_defaults(handler=play)


def play(args: argparse.Namespace, settings: Settings) -> int:
    import asyncio

    import httpx
    from tqdm import tqdm

    from service.drill import runner
    from service.drill.calls import DrillStopped
    from service.errors import PlaybookError
    from service.playbooks.bundle import Playbooks
    from service.playbooks.drills import load_scenario

    books = Playbooks.load(settings.playbooks_dir)
    try:
        scenario = load_scenario(args.file, books.grids, books.agencies)
    except PlaybookError as exc:
        print(_("错误：演练脚本未通过校验：{detail}", detail=exc), file=sys.stderr)
        return 1
    url = (args.url or settings.public_url).rstrip("/")
    token = args.token or _admin_token(settings.var_dir / "admin-token")
    bar = tqdm(
        total=float(scenario.minutes),
        unit="min",
        desc=scenario.title,
        file=sys.stderr,
        bar_format="{desc}: {percentage:3.0f}%|{bar}| {n:.0f}/{total:.0f} scenario min "
        "[{elapsed}<{remaining}]",
    )

    def progress(index: int, step: Step, said: str) -> None:
        bar.update(float(step.at) - bar.n)
        bar.write(f"{step.at:>6} min  {step.do:<9} {step.actor:<12} {said}", file=sys.stderr)

    async def play() -> DrillRun:
        async with httpx.AsyncClient(base_url=url, timeout=120) as client:
            return await runner.run_drill(
                scenario, client, token, speed=args.speed, out=args.out, progress=progress
            )

    try:
        with bar:
            done = asyncio.run(play())
    except DrillStopped as exc:
        print(_("演练中止：{detail}", detail=exc), file=sys.stderr)
        return 1
    except KeyboardInterrupt:  # asyncio.run cancelled the drill, which revoked its tokens
        print(_("演练被中断，其令牌已吊销"), file=sys.stderr)
        return 130
    print(_("演练事件 {id} 看板：{url}/board", id=done.event_id, url=url))
    for path in done.files:
        print(_("已保存 {path}", path=path))
    return 0


def _admin_token(path: Path) -> str:
    """The token in ``path``, as ``serve`` wrote it on its first start."""
    try:
        token = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        token = ""
    if not token:
        raise CommandLineError(
            f"no --token given, and no admin token in {path} ('serve' writes one there on its "
            "first start; 'tokens create --role admin' makes another)"
        )
    return token
