"""The ``outage-coordinator`` command: serve, db upgrade, tokens, subscriptions, playbooks
check, drill run, audit verify."""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sys
import uuid
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from service.config import Settings
from service.errors import CoordinatorError, PlaybookError
from service.plan.actor import ROLES
from service.plan.notifications import FORMATS, NOTICE_TYPES
from service.playbooks.bundle import Playbooks
from service.playbooks.drills import load_drills, load_scenario
from service.store.engine import make_engine, make_sessionmaker

if TYPE_CHECKING:
    from service.flows.context import AppContext
    from service.store.migrate import Upgraded

T = TypeVar("T")

ROLE_HELP = (
    "what the token may do: admin (administration; sees what an observer sees), dispatcher "
    "(reports, warning proposals, attestations), commander (an HQ's commands; needs --region), "
    "agency (its unit's actions; needs --agency), observer (reads everything)"
)
AGENCY_HELP = (
    "for --role agency: the unit's code in playbooks/agencies.yaml, e.g. power-company "
    "(绍兴电力局), public-security (市公安局), hq-city (市应急指挥部), hq-330603 (柯桥区's HQ)"
)
REGION_HELP = (
    "a six-digit GB/T 2260 code from playbooks/regions.yaml. A commander's HQ (required): "
    "330000 the province, 330600 the city, or a district/county such as 330603 (柯桥区). "
    "A dispatcher's limit (optional): it may report only the grids within this region"
)


def build_parser() -> argparse.ArgumentParser:
    """The command line; every command and option says what it is for (``--help``)."""
    parser = argparse.ArgumentParser(
        prog="outage-coordinator",
        description="Shaoxing's large-area power outage plan (绍政办发〔2018〕41号) as a service.",
        epilog="Settings are OUTAGE_* environment variables (README, Configuration); every "
        "command uses the database at OUTAGE_DATABASE_URL "
        "(default sqlite+aiosqlite:///var/coordinator.db).",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = commands.add_parser(
        "serve",
        help="run the API (uvicorn)",
        description="Run the HTTP API. On the first start with no tokens, print a bootstrap "
        "admin token once and write it to OUTAGE_VAR_DIR/admin-token (mode 0600).",
    )
    serve.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default: %(default)s)"
    )
    serve.add_argument(
        "--port", type=int, default=8000, help="TCP port to listen on (default: %(default)s)"
    )
    serve.add_argument(
        "--workers",
        type=int,
        default=1,
        metavar="N",
        help="uvicorn worker processes (default: %(default)s)",
    )

    db = commands.add_parser("db", help="the database schema", description="The database schema.")
    db_commands = db.add_subparsers(dest="db_command", required=True, metavar="COMMAND")
    db_commands.add_parser(
        "upgrade",
        help="apply the Alembic migrations, saying which",
        description="Apply the Alembic migrations the database at OUTAGE_DATABASE_URL lacks "
        "and say which were applied (or that none were needed).",
    )

    tokens = commands.add_parser("tokens", help="API tokens", description="API bearer tokens.")
    token_commands = tokens.add_subparsers(dest="tokens_command", required=True, metavar="COMMAND")
    create = token_commands.add_parser(
        "create",
        help="make a token; printed once, on the last line",
        description="Make an API token and print it once, alone on the last line of stdout; "
        "only its SHA-256 hash is stored.",
    )
    create.add_argument("--role", required=True, choices=ROLES, help=ROLE_HELP)
    create.add_argument(
        "--name", required=True, metavar="TEXT", help="whose token it is, shown on the timeline"
    )
    create.add_argument("--agency", metavar="CODE", help=AGENCY_HELP)
    create.add_argument("--region", metavar="CODE", help=REGION_HELP)
    token_commands.add_parser(
        "list",
        help="list tokens (never the tokens themselves)",
        description="List the tokens: id, role, agency or region, name, and whether revoked.",
    )
    revoke = token_commands.add_parser(
        "revoke",
        help="revoke a token by id",
        description="Revoke a token; the service refuses it within OUTAGE_TOKEN_CACHE_SECONDS.",
    )
    revoke.add_argument(
        "id",
        type=uuid.UUID,
        metavar="ID",
        help="the token's id, as 'tokens create' and 'tokens list' show it",
    )

    _subscription_commands(commands)

    playbooks = commands.add_parser(
        "playbooks", help="playbook files", description="The playbook YAML files."
    )
    playbook_commands = playbooks.add_subparsers(
        dest="playbooks_command", required=True, metavar="COMMAND"
    )
    check = playbook_commands.add_parser(
        "check",
        help="validate the playbooks; exit 1 naming the fault",
        description="Validate the playbooks as the service does at start; exit 1 naming the "
        "file, the item and the reason.",
    )
    check.add_argument(
        "dir",
        nargs="?",
        type=Path,
        metavar="DIR",
        help="the playbooks folder (default: OUTAGE_PLAYBOOKS_DIR, or playbooks/ of the checkout)",
    )
    _drill_parser(
        commands.add_parser(
            "drill", help="drills (plan 7.1, 8.1)", description="Drills (plan 7.1, 8.1)."
        )
    )
    audit = commands.add_parser(
        "audit", help="the timeline's hash chain", description="The timeline's hash chain."
    )
    audit_commands = audit.add_subparsers(dest="audit_command", required=True, metavar="COMMAND")
    verify = audit_commands.add_parser(
        "verify",
        help="recompute the hash chains; exit 1 naming the first entry edited, removed or inserted",
        description="Recompute every event's timeline hash chain (or one event's) from the "
        "stored entries; exit 0 with a summary when all hold, 1 naming per event the first "
        "entry edited, removed or inserted.",
    )
    verify.add_argument(
        "event", nargs="?", type=uuid.UUID, metavar="EVENT_ID", help="only this event's timeline"
    )
    return parser


SPEED_HELP = (
    "scenario minutes played per real minute (default: %(default)s, a scenario minute each "
    "second; 1 plays in real time, 6000 runs a ten-hour scenario in six seconds). The service "
    "stamps everything with its own clock: acknowledgements count as late only when real time "
    "passed their due time"
)


def _drill_parser(drill: argparse.ArgumentParser) -> None:
    drill_commands = drill.add_subparsers(dest="drill_command", required=True, metavar="COMMAND")
    run = drill_commands.add_parser(
        "run",
        help="replay a scripted scenario against a running service",
        description="Replay a drill scenario (playbooks/drills/*.yaml) against a running "
        "service over its HTTP API, with a progress bar on stderr. The admin token mints a "
        "token for each of the scenario's actors (named 'drill: …'), revoked at the end. "
        "Every report and warning is sent with drill: true. Exit 1 on a scenario that does "
        "not validate, or at the first answer the scenario did not expect, naming the step.",
    )
    run.add_argument("file", type=Path, metavar="FILE", help="the scenario's YAML file")
    run.add_argument(
        "--url",
        required=True,
        help="the service's address, e.g. http://127.0.0.1:8000",
    )
    run.add_argument(
        "--token",
        required=True,
        metavar="T",
        help="an admin token (make run writes the bootstrap one to var/admin-token)",
    )
    run.add_argument("--speed", type=_positive, default=60.0, metavar="X", help=SPEED_HELP)
    run.add_argument(
        "--out",
        type=Path,
        default=Path("var/drills"),
        metavar="DIR",
        help="where the evaluate step saves the evaluation report (JSON, PDF) and each "
        "warning's CAP alert, in a folder named after the event (default: %(default)s)",
    )


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number, not {text}")
    return value


def _subscription_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    subscriptions = commands.add_parser(
        "subscriptions",
        help="webhook subscriptions",
        description="Receivers of the service's notifications, as the subscriptions API "
        "manages them (README, Notifications).",
    )
    subscription_commands = subscriptions.add_subparsers(
        dest="subscriptions_command", required=True, metavar="COMMAND"
    )
    add = subscription_commands.add_parser(
        "add",
        help="register a receiver; its secret printed once, on the last line",
        description="Register a receiver, checked as POST /api/v1/subscriptions checks it. "
        "The secret (generated whsec_… for standard when --secret is left out) is printed "
        "once, alone on the last line of stdout.",
    )
    add.add_argument("--url", required=True, help="the http(s) URL notifications are posted to")
    add.add_argument(
        "--format",
        choices=FORMATS,
        default="standard",
        help="standard (Standard Webhooks, signed), wecom (企业微信群机器人) or dingtalk "
        "(钉钉群机器人) (default: %(default)s)",
    )
    add.add_argument(
        "--secret",
        help="standard: whsec_ and the base64 of 24–64 bytes (generated when left out); "
        "dingtalk: the robot's SEC… secret, to sign its messages; wecom: none",
    )
    add.add_argument(
        "--agency",
        action="append",
        dest="agencies",
        metavar="CODE",
        help="hear only notices concerning this agency (agencies.yaml code); repeat for more; "
        "all agencies when left out",
    )
    add.add_argument(
        "--type",
        action="append",
        dest="types",
        choices=NOTICE_TYPES,
        metavar="TYPE",
        help=f"hear only this notice type, one of {', '.join(NOTICE_TYPES)}; repeat for more; "
        "all types when left out",
    )
    add.add_argument("--drills", action="store_true", help="hear drills as well as real events")
    subscription_commands.add_parser(
        "list",
        help="list subscriptions (never their secrets)",
        description="List the subscriptions: id, format, url, agencies, types, drills.",
    )
    remove = subscription_commands.add_parser(
        "remove",
        help="remove a subscription by id, with its deliveries",
        description="Remove a subscription and its deliveries.",
    )
    remove.add_argument(
        "id", type=uuid.UUID, metavar="ID", help="the subscription's id, as 'list' shows it"
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    settings = Settings()
    try:
        if args.command == "playbooks":
            folder = args.dir or settings.playbooks_dir
            books = Playbooks.load(folder)
            drills = load_drills(folder, books.grids, books.agencies)
            names = ", ".join(path.name for path in drills) or "none"
            print(f"playbooks in {folder} are valid; drill scenarios: {names}")
            return 0
        if args.command == "drill":
            return _drill(args, settings)
        if args.command == "db":
            from service.store.migrate import upgrade

            print(_upgraded(upgrade(settings)))
            return 0
        if args.command == "tokens":
            return _tokens(args, settings)
        if args.command == "audit":
            return _audit(args, settings)
        if args.command == "subscriptions":
            return _subscriptions(args, settings)
        return _serve(args, settings)
    except PlaybookError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except CoordinatorError as exc:
        print(f"error: {exc.detail}", file=sys.stderr)
        return 2


def _upgraded(done: Upgraded) -> str:
    """``applied 0001 foundation, 0002 …; now at 0003 (head)``, or that nothing was needed."""
    at = f"{done.current} (head)" if done.current == done.head else str(done.current)
    if not done.applied:
        return f"already at {at}; nothing to apply"
    return f"applied {', '.join(f'{m.revision} {m.message}' for m in done.applied)}; now at {at}"


def _in_session(settings: Settings, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    async def run() -> T:
        engine = make_engine(settings)
        try:
            async with make_sessionmaker(engine)() as session:
                result = await work(session)
                await session.commit()
                return result
        finally:
            await engine.dispose()

    return asyncio.run(run())


def _with_context(settings: Settings, work: Callable[[AppContext], Awaitable[T]]) -> T:
    from service.flows.context import open_context

    async def run() -> T:
        context = open_context(settings)
        try:
            return await work(context)
        finally:
            await context.close()

    return asyncio.run(run())


def _tokens(args: argparse.Namespace, settings: Settings) -> int:
    from service.flows.admin import tokens
    from service.flows.admin.token_schemas import TokenCreate

    if args.tokens_command == "create":
        body = TokenCreate(role=args.role, name=args.name, agency=args.agency, region=args.region)
        made = _with_context(settings, lambda context: tokens.issue_token(context, body))
        print(f"created {made.role} token {made.id} for {made.name!r}")
        print(made.token)
        return 0
    if args.tokens_command == "list":
        for row in _with_context(settings, tokens.list_tokens):
            state = f"revoked {row.revoked_at.isoformat()}" if row.revoked_at else "active"
            scope = row.agency or row.region or "-"
            print(f"{row.id}\t{row.role}\t{scope}\t{row.name}\t{state}")
        return 0
    _with_context(settings, lambda context: tokens.revoke_token(context, args.id))
    print(f"revoked {args.id}")
    return 0


def _drill(args: argparse.Namespace, settings: Settings) -> int:
    import httpx
    from tqdm import tqdm

    from service.drill.runner import DrillRun, DrillStopped, run_drill
    from service.playbooks.drills import Step

    books = Playbooks.load(settings.playbooks_dir)
    try:
        scenario = load_scenario(args.file, books.grids, books.agencies)
    except PlaybookError as exc:
        print(f"error: the scenario does not validate: {exc}", file=sys.stderr)
        return 1
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
        url = args.url.rstrip("/")
        async with httpx.AsyncClient(base_url=url, timeout=120) as client:
            return await run_drill(
                scenario,
                client,
                args.token,
                speed=args.speed,
                out=args.out,
                progress=progress,
            )

    try:
        with bar:
            done = asyncio.run(play())
    except DrillStopped as exc:
        print(f"drill stopped: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:  # asyncio.run cancelled the drill, which revoked its tokens
        print("drill interrupted; its tokens are revoked", file=sys.stderr)
        return 130
    print(f"drill event {done.event_id}: {args.url.rstrip('/')}/board")
    for path in done.files:
        print(f"saved {path}")
    return 0


def _audit(args: argparse.Namespace, settings: Settings) -> int:
    from service.flows.events.audit import verify_timelines

    audit = _in_session(settings, lambda session: verify_timelines(session, args.event))
    for event, found in audit.breaks.items():
        print(f"event {event}: entry #{found.event_seq} {found.fault}: {found.detail}")
    events = f"{audit.events} event{'s' if audit.events != 1 else ''}"
    if audit.breaks:
        print(f"{len(audit.breaks)} of {events} failed the check", file=sys.stderr)
        return 1
    print(f"{events}, {audit.entries} timeline entries: every hash chain holds")
    return 0


def _subscriptions(args: argparse.Namespace, settings: Settings) -> int:
    from pydantic import ValidationError

    from service.flows.admin import subscriptions

    if args.subscriptions_command == "add":
        playbooks = Playbooks.load(settings.playbooks_dir)
        fields = ("url", "format", "secret", "agencies", "types", "drills")
        try:
            body = subscriptions.SubscriptionCreate(**{f: getattr(args, f) for f in fields})
        except ValidationError as exc:
            for error in exc.errors():
                where = ".".join(str(part) for part in error["loc"])
                print(f"error: {where}: {error['msg']}", file=sys.stderr)
            return 2

        async def add(session: AsyncSession) -> subscriptions.SubscriptionCreated:
            return await subscriptions.create(session, playbooks.agencies, body)

        created = _in_session(settings, add)
        print(f"created {created.format} subscription {created.id} posting to {created.url}")
        if created.secret:
            print(created.secret)
        return 0
    if args.subscriptions_command == "list":
        for row in _in_session(settings, subscriptions.list_all):
            agencies = ",".join(row.agencies) if row.agencies is not None else "*"
            types = ",".join(row.types) if row.types is not None else "*"
            drills = "drills" if row.drills else "real only"
            print(f"{row.id}\t{row.format}\t{row.url}\t{agencies}\t{types}\t{drills}")
        return 0

    async def remove(session: AsyncSession) -> None:
        await subscriptions.remove(session, args.id)

    _in_session(settings, remove)
    print(f"removed {args.id}")
    return 0


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    from service.api.logs import configure
    from service.api.server import PROTOCOL
    from service.flows.admin.tokens import bootstrap_admin

    _metrics_folder(settings)
    configure(settings)

    admin_file = settings.var_dir / "admin-token"
    token = _with_context(settings, lambda context: bootstrap_admin(context, admin_file))
    if token:
        print(
            "No tokens yet: made a bootstrap admin token (shown once; also in "
            f"{admin_file}, mode 0600):\n{token}",
            flush=True,
        )
    uvicorn.run(
        "service.app:app_factory",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        http=PROTOCOL,  # httptools, with the head limit (431) and problem+json for a bad request
        log_level="info",
        log_config=None,  # uvicorn's lines go through service.api.logs's handler, as JSON too
        access_log=settings.access_log,
    )
    return 0


def _metrics_folder(settings: Settings) -> None:
    """prometheus-client's multiprocess mode for every worker (service.api.metrics): an empty
    folder under OUTAGE_VAR_DIR, named before the library is first imported (it reads the
    variable then), and inherited by the workers uvicorn starts."""
    if not settings.metrics:
        return
    if "prometheus_client" in sys.modules:
        raise RuntimeError("prometheus_client was imported before its multiprocess folder was set")
    folder = (settings.var_dir / "metrics").resolve()
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(folder)


if __name__ == "__main__":
    raise SystemExit(main())
