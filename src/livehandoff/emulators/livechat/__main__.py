"""Serve the emulator: ``python -m livehandoff.emulators.livechat [--seed FILE] [--faults FILE] [--port N]``.

Prints the credentials of the first organization (JSON, one line) so a demo can configure the
bridge; they are emulator secrets, not real ones.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import sys
from collections.abc import Sequence

import uvicorn

from livehandoff.emulators.livechat.app import LiveChatEmulator
from livehandoff.emulators.livechat.faults import FaultConfig, load_faults
from livehandoff.emulators.livechat.seed import Seed, load_seed


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(prog="python -m livehandoff.emulators.livechat", description=__doc__)
    parser.add_argument("--seed", help="JSON seed file (organizations, groups, agents, apps)")
    parser.add_argument(
        "--faults", help="JSON fault configuration (see livehandoff.emulators.livechat.faults)"
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--log-level", default="info")
    return parser.parse_args(argv)


async def serve(emulator: LiveChatEmulator, *, host: str, port: int, log_level: str = "info") -> None:
    """Run uvicorn until interrupted; the app's lifespan closes the emulator."""
    config = uvicorn.Config(emulator.app, host=host, port=port, log_level=log_level, lifespan="on")
    await uvicorn.Server(config).serve()


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; a bad seed or fault file exits with status 2 and the reason."""
    args = parse_args(argv)
    seed: Seed | None = None
    faults: FaultConfig | None = None
    try:
        seed = load_seed(args.seed) if args.seed else None
        faults = load_faults(args.faults) if args.faults else None
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    emulator = LiveChatEmulator(seed=seed, faults=faults)
    print(json.dumps(dataclasses.asdict(emulator.credentials)), flush=True)
    asyncio.run(serve(emulator, host=args.host, port=args.port, log_level=args.log_level))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
