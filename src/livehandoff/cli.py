"""``livehandoff``: serve · demo · emulate livechat|dialogflow · check [--live] · livechat authorize|webhooks
· chaos · bench."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn, TypeVar

import httpx
import structlog
import uvicorn

from livehandoff import __version__
from livehandoff.integrations.livechat import authorize as authorize_flow
from livehandoff.logs import configure_logging

if TYPE_CHECKING:
    from livehandoff.check import Problem
    from livehandoff.config import Settings

DESCRIPTION = "Hand a Dialogflow chatbot conversation to a human agent in LiveChat, and back."
"""What ``livehandoff --help`` says first; the module docstring is for readers of the code."""
FaultsT = TypeVar("FaultsT")
log = structlog.get_logger("livehandoff.cli")


def _settings(command: str) -> Settings:
    """The settings from the environment, or exit status 2 with one line per problem."""
    from livehandoff.check import InvalidSettings, load_settings

    try:
        return load_settings()
    except InvalidSettings as exc:
        _refuse(command, exc.problems)


def _refuse(command: str, problems: Sequence[Problem]) -> NoReturn:
    _tell(command, problems)
    raise SystemExit(2)


def _tell(command: str, problems: Sequence[Problem], *, prefix: str = "") -> None:
    for problem in problems:
        print(f"livehandoff {command}: {prefix}{problem}", file=sys.stderr)


def cmd_serve(args: argparse.Namespace) -> int:
    """Check the settings (before anything touches the database), say what looks wrong, then serve."""
    from livehandoff.check import problems, warnings
    from livehandoff.server import StartupFailed, serve

    settings = _settings("serve")
    found = problems(settings)
    if found:
        _refuse("serve", found)
    configure_logging(settings.log_level, settings.log_format)
    for warning in warnings(settings):
        log.warning("settings.warning", variable=warning.variable, problem=warning.message)
    try:
        return serve(settings, host=args.host or settings.host, port=args.port or settings.port)
    except StartupFailed as exc:
        print(f"livehandoff serve: cannot start: {exc}", file=sys.stderr)
        return 1


def cmd_check(args: argparse.Namespace) -> int:
    """The configuration with secrets redacted, then one line per warning and per problem; with ``--live``,
    the settings tried against LiveChat and Dialogflow instead of the configuration."""
    from livehandoff.check import problems, warnings

    settings = _settings("check")
    if not args.live:
        print(json.dumps(settings.redacted(), indent=2), flush=True)
    _tell("check", warnings(settings), prefix="warning: ")
    found = problems(settings)
    if found:
        _refuse("check", found)
    if not args.live:
        return 0
    from livehandoff.admin import check_live

    configure_logging("WARNING", settings.log_format)
    return asyncio.run(_with_http(settings, lambda http: check_live(settings, http=http)))


def cmd_livechat(args: argparse.Namespace) -> int:
    """``livechat authorize`` and ``livechat webhooks``: the LiveChat side of a deployment."""
    from livehandoff import admin

    settings = _settings(f"livechat {args.action}")
    configure_logging("WARNING", settings.log_format)
    if args.action == "authorize":
        missing = admin.needs(settings, "livechat_client_id", "livechat_client_secret")
        if missing:
            _refuse("livechat authorize", missing)
        return asyncio.run(
            _with_http(
                settings,
                lambda http: admin.livechat_authorize(settings, http=http, host=args.host, port=args.port),
            )
        )
    required = ("livechat_client_id", "livechat_client_secret", "livechat_refresh_token")
    missing = admin.needs(settings, *required)
    if missing:
        _refuse("livechat webhooks", missing)
    return asyncio.run(
        _with_http(settings, lambda http: admin.webhooks(settings, http=http, prune=args.prune))
    )


async def _with_http(settings: Settings, run: Callable[[httpx.AsyncClient], Awaitable[int]]) -> int:
    async with httpx.AsyncClient(timeout=settings.http_timeout_seconds) as http:
        return await run(http)


def cmd_demo(args: argparse.Namespace) -> int:
    configure_logging("WARNING")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_demo(args))
    return 0


async def _demo(args: argparse.Namespace) -> None:
    from livehandoff.devstack import run_stack

    async with run_stack(
        host=args.host, port=args.port, database_url=args.database_url, edition=args.dialogflow_edition
    ) as stack:
        info = stack.describe()
        if args.json:
            print(json.dumps(info), flush=True)
        print(_demo_text(info), flush=True)
        await asyncio.Event().wait()


def _demo_text(info: dict[str, object]) -> str:
    bridge = info["bridge_url"]
    livechat = info["livechat_url"]
    agent = info["agent"]
    assert isinstance(agent, dict)
    return f"""
livehandoff demo — everything runs on this machine, nothing goes to the internet.

  customer page (chat)    {info["customer_page"]}
  agent console           {info["agent_console"]}
  Play the conversation in two browser tabs: the shop page's chat as the customer, the console as the agent.

  bridge (customer API)   {bridge}       OpenAPI: {bridge}/openapi.json
  LiveChat emulator       {livechat}
  Dialogflow emulator     {info["dialogflow_url"]}

  agent "{agent["name"]}": account id {agent["account_id"]}, personal access token {agent["pat"]}
  organization id {info["organization_id"]}

Play the customer:
  curl -s -X POST {bridge}/v1/conversations            # → {{"id": ID, "token": TOKEN}}
  curl -s -N {bridge}/v1/conversations/ID/events?token=TOKEN      # live events (leave it running)
  curl -s -X POST {bridge}/v1/conversations/ID/messages -H 'authorization: Bearer TOKEN' \\
       -H 'content-type: application/json' -d '{{"text": "I want to talk to an agent"}}'

Play the agent (LiveChat Agent Chat API, PAT basic auth):
  curl -s -u '{agent["account_id"]}:{agent["pat"]}' -H 'content-type: application/json' \\
       -X POST {livechat}/v3.6/agent/action/list_chats -d '{{}}'
  curl -s -u '{agent["account_id"]}:{agent["pat"]}' -H 'content-type: application/json' \\
       -X POST {livechat}/v3.6/agent/action/send_event \\
       -d '{{"chat_id": "CHAT_ID", "event": {{"type": "message", "text": "Hi, Anna here!"}}}}'
  curl -s -u '{agent["account_id"]}:{agent["pat"]}' -H 'content-type: application/json' \\
       -X POST {livechat}/v3.6/agent/action/deactivate_chat -d '{{"id": "CHAT_ID"}}'

Stop with Ctrl-C.
"""


def cmd_chaos(args: argparse.Namespace) -> int:
    from livehandoff.chaos import DEFAULT_FAULTS, ChaosOptions, chaos
    from livehandoff.errors import ConfigurationError
    from livehandoff.storage.engine import normalise_url

    configure_logging("WARNING")
    options = ChaosOptions(
        conversations=args.conversations,
        messages=args.messages,
        concurrency=args.concurrency,
        rate=args.rate,
        faults=Path(args.faults) if args.faults else DEFAULT_FAULTS,
        seed=args.seed,
        kill=not args.no_kill,
        database_url=args.database_url,
        instances=args.instances,
        redis_url=args.redis_url,
    )
    backend = "sqlite"
    if args.database_url:
        try:
            backend = normalise_url(args.database_url).get_backend_name()
        except ConfigurationError as exc:
            raise SystemExit(f"livehandoff chaos: {exc}") from None
    if args.instances < 1:
        raise SystemExit("livehandoff chaos: --instances must be at least 1")
    if args.instances > 1 and backend != "postgresql":
        raise SystemExit(
            f"livehandoff chaos: --instances {args.instances} needs PostgreSQL, which every instance "
            "shares: add --database-url postgresql+asyncpg://…"
        )
    if args.redis_url and not args.redis_url.startswith(("redis://", "rediss://", "unix://")):
        raise SystemExit("livehandoff chaos: --redis-url must be a redis:// URL")
    return chaos(options, report_path=Path(args.report), keep_logs=args.keep_logs)


def cmd_bench(args: argparse.Namespace) -> int:
    from livehandoff.bench import bench, bench_options
    from livehandoff.errors import ConfigurationError
    from livehandoff.storage.engine import normalise_url

    configure_logging("WARNING")
    if args.database_url:
        try:
            normalise_url(args.database_url)
        except ConfigurationError as exc:
            raise SystemExit(f"livehandoff bench: {exc}") from None
    options = bench_options(
        quick=args.quick,
        conversations=args.conversations,
        messages=args.messages,
        handoffs=args.handoffs,
        idle_streams=args.idle_streams,
        livechat_rtt_ms=args.livechat_rtt_ms,
        relay_rtt_ms=args.relay_rtt_ms,
        paced_seconds=args.paced_seconds,
        database_url=args.database_url,
    )
    return bench(options, report_path=Path(args.report), keep_logs=args.keep_logs)


def _load_faults(load: Callable[[Path], FaultsT], path: str | None) -> FaultsT | None:
    if not path:
        return None
    try:
        return load(Path(path))
    except ValueError as exc:
        raise SystemExit(f"livehandoff: bad fault file: {exc}") from exc


def cmd_emulate(args: argparse.Namespace) -> int:
    configure_logging("INFO")
    if args.platform == "livechat":
        from livehandoff.emulators.livechat import LiveChatEmulator, load_faults, load_seed

        faults = _load_faults(load_faults, args.faults)
        try:
            emulator = LiveChatEmulator(seed=load_seed(Path(args.seed)) if args.seed else None, faults=faults)
        except ValueError as exc:
            raise SystemExit(f"livehandoff: bad seed file: {exc}") from exc
        print(json.dumps(dataclasses.asdict(emulator.credentials)), flush=True)
        app = emulator.app
    else:
        from livehandoff.devstack import dialogflow_app
        from livehandoff.emulators.dialogflow.faults import load_dialogflow_faults

        bot_faults = _load_faults(load_dialogflow_faults, args.faults)
        try:
            app = dialogflow_app(args.edition, Path(args.agent) if args.agent else None, faults=bot_faults)
        except ValueError as exc:
            raise SystemExit(f"livehandoff: bad agent: {exc}") from exc
    uvicorn.run(app, host=args.host, port=args.port, log_level="info")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="livehandoff", description=DESCRIPTION)
    parser.add_argument("--version", action="version", version=f"livehandoff {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the bridge (settings from LIVEHANDOFF_* variables)")
    serve.add_argument("--host", default=None)
    serve.add_argument("--port", type=int, default=None)
    serve.set_defaults(run=cmd_serve)

    demo = commands.add_parser("demo", help="run both emulators and the bridge offline")
    demo.add_argument("--host", default="127.0.0.1")
    demo.add_argument("--port", type=int, default=8000, help="the bridge's port; emulators take free ones")
    demo.add_argument(
        "--json", action="store_true", help="print the URLs and credentials as one JSON line first"
    )
    demo.add_argument("--database-url", default="sqlite+aiosqlite:///./livehandoff-demo.sqlite3")
    demo.add_argument(
        "--dialogflow-edition", choices=["es", "cx"], default="es", help="emulate Dialogflow ES or CX"
    )
    demo.set_defaults(run=cmd_demo)

    emulate = commands.add_parser("emulate", help="run one emulator")
    emulate.add_argument("platform", choices=["livechat", "dialogflow"])
    emulate.add_argument("--host", default="127.0.0.1")
    emulate.add_argument("--port", type=int, default=8100)
    emulate.add_argument("--seed", help="LiveChat: JSON file with organizations, groups, agents, apps")
    emulate.add_argument(
        "--agent",
        help="Dialogflow: ES export (ZIP file or folder) or CX agent definition; default the demo agent",
    )
    emulate.add_argument("--edition", choices=["es", "cx"], default="es", help="Dialogflow: ES or CX")
    emulate.add_argument(
        "--faults", help="JSON fault configuration to start with (docs/emulators.md, Faults on demand)"
    )
    emulate.set_defaults(run=cmd_emulate)

    check = commands.add_parser(
        "check", help="check every setting; print the configuration with secrets redacted"
    )
    check.add_argument(
        "--live", action="store_true", help="then try the settings against LiveChat and Dialogflow"
    )
    check.set_defaults(run=cmd_check)

    livechat = commands.add_parser("livechat", help="the LiveChat side of a deployment (docs/deploy.md)")
    livechat_commands = livechat.add_subparsers(dest="action", required=True)
    authorize = livechat_commands.add_parser(
        "authorize", help="authorize the app as an agent and print the refresh token and ids for the settings"
    )
    authorize.add_argument("--host", default="127.0.0.1", help="loopback address of the redirect URI")
    authorize.add_argument(
        "--port",
        type=int,
        default=authorize_flow.DEFAULT_PORT,
        help="port of the redirect URI (default: %(default)s)",
    )
    webhooks = livechat_commands.add_parser(
        "webhooks", help="list this app's webhooks; --prune removes those for URLs other than PUBLIC_URL"
    )
    webhooks.add_argument(
        "--prune", action="store_true", help="unregister the webhooks that deliver elsewhere"
    )
    livechat.set_defaults(run=cmd_livechat)

    chaos = commands.add_parser(
        "chaos",
        help="many conversations under faults, a kill -9 and (several instances) a rolling restart, checked "
        "(docs/reliability.md)",
    )
    chaos.add_argument("--conversations", type=int, default=200)
    chaos.add_argument("--messages", type=int, default=10, help="messages each way per conversation")
    chaos.add_argument("--concurrency", type=int, default=50, help="conversations in flight at once")
    chaos.add_argument("--rate", type=float, default=25.0, help="messages a second, both ways together")
    chaos.add_argument("--report", default="chaos-report.json", help="where to write the JSON report")
    chaos.add_argument("--faults", help="LiveChat fault mix (JSON); default: livehandoff's own")
    chaos.add_argument("--seed", type=int, default=None, help="seed of the fault mix (default: the file's)")
    chaos.add_argument(
        "--no-kill", action="store_true", help="neither kill nor restart the bridge (a baseline run)"
    )
    chaos.add_argument("--keep-logs", action="store_true", help="keep the logs even when all passed")
    chaos.add_argument(
        "--database-url",
        default="",
        help="the bridge's database, e.g. an empty PostgreSQL one (default: SQLite in the run's directory)",
    )
    chaos.add_argument(
        "--instances",
        type=int,
        default=1,
        help="bridge processes behind the run's round-robin proxy; more than one need --database-url "
        "postgresql+asyncpg://…",
    )
    chaos.add_argument(
        "--redis-url", default="", help="Redis for the rate limits every instance shares (redis://…)"
    )
    chaos.set_defaults(run=cmd_chaos)

    bench = commands.add_parser(
        "bench", help="measure the relay and the handoff against two baselines (docs/performance.md)"
    )
    bench.add_argument("--quick", action="store_true", help="tiny numbers: a run of seconds, not minutes")
    bench.add_argument("--conversations", type=int, help="customers with an agent carrying the load (50)")
    bench.add_argument("--messages", type=int, help="customer messages per flat-out relay measurement (2000)")
    bench.add_argument("--handoffs", type=int, help="handoffs timed of each kind (10)")
    bench.add_argument("--idle-streams", type=int, help="idle customer event streams opened (10000)")
    bench.add_argument(
        "--livechat-rtt-ms", type=float, help="round trip added to each LiveChat call for the handoffs (50)"
    )
    bench.add_argument(
        "--relay-rtt-ms", type=float, help="round trip added to each LiveChat call for the relay rows (0)"
    )
    bench.add_argument(
        "--paced-seconds", type=float, help="length of each measurement at half the bridge's throughput (20)"
    )
    bench.add_argument(
        "--database-url", default="", help="the bridge's database (default: SQLite in the run's directory)"
    )
    bench.add_argument("--report", default="bench-report.json", help="where to write the JSON report")
    bench.add_argument("--keep-logs", action="store_true", help="keep the processes' logs and the database")
    bench.set_defaults(run=cmd_bench)
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    raise SystemExit(args.run(args))
