"""Fixtures shared by the emulator tests: an emulator on a real port for Google's official clients."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import uvicorn
from google.auth.credentials import AnonymousCredentials
from starlette.applications import Starlette


@pytest.fixture(scope="module")
def endpoint(served_app: Starlette) -> Iterator[str]:
    """``served_app`` on a free loopback port in a background thread, stopped after the module.

    A test module using it defines the module-scoped fixture ``served_app``: the emulator to serve.
    """
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = uvicorn.Config(served_app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.01)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def official_client_kwargs(endpoint: str) -> dict[str, Any]:
    """Keyword arguments for an official Google client to reach ``endpoint`` over REST, unauthenticated."""
    return {
        "credentials": AnonymousCredentials(),  # type: ignore[no-untyped-call]
        "transport": "rest",
        "client_options": {"api_endpoint": endpoint},
    }
