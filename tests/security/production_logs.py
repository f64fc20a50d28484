"""Logging set up as ``livehandoff serve`` sets it up, into a buffer, and put back afterwards."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import structlog

from livehandoff.logs import HANDLER_NAME, HELD_BACK, LogFormat, configure_logging


@contextmanager
def production_logs(level: str, log_format: LogFormat) -> Iterator[io.StringIO]:
    """What ``configure_logging(level, log_format)`` writes, for the length of the block."""
    saved = structlog.get_config()
    names = ["", *HELD_BACK]
    levels = {name: logging.getLogger(name).level for name in names}
    buffer = io.StringIO()
    configure_logging(level, log_format, stream=buffer)
    try:
        yield buffer
    finally:
        root = logging.getLogger()
        for handler in [h for h in root.handlers if h.get_name() == HANDLER_NAME]:
            root.removeHandler(handler)
        for name, value in levels.items():
            logging.getLogger(name).setLevel(value)
        structlog.configure(**saved)


def json_lines(buffer: io.StringIO) -> list[dict[str, Any]]:
    """Every line of a JSON log, each one parsed (a line that is not JSON fails the test)."""
    lines = [line for line in buffer.getvalue().splitlines() if line.strip()]
    return [json.loads(line) for line in lines]
