"""Logging: our structlog events and the standard library's records, rendered alike on one stream.

``console`` is one readable line per event; ``json`` one JSON object per line, for a log collector. The
libraries' records (uvicorn, SQLAlchemy, httpx, ...) go through the same renderer, so a JSON log has no
plain-text lines in it.

Whatever the level, some libraries are held back because what they log at DEBUG is customer data or a
credential: aiosqlite logs every statement with its parameters (message texts, names, token hashes),
httpcore logs response headers, google-auth and urllib3 log token requests. SQLAlchemy keeps its own
default (``WARNING``); its engines hide parameters in error messages anyway (``storage/engine.py``).
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Mapping
from typing import Any, Literal, TextIO

import structlog

LogFormat = Literal["console", "json"]

HANDLER_NAME = "livehandoff"
HELD_BACK: Mapping[str, int] = {
    "aiosqlite": logging.INFO,
    "httpcore": logging.INFO,
    "google.auth": logging.INFO,
    "urllib3": logging.INFO,
    "sqlalchemy": logging.WARNING,
}
"""Library loggers and the lowest level they may log at, whatever ``LIVEHANDOFF_LOG_LEVEL`` says."""


def configure_logging(level: str, log_format: LogFormat = "console", *, stream: TextIO | None = None) -> None:
    """Log at ``level`` and above to ``stream`` (stderr, so that stdout stays clean for ``--json`` output).

    Calling it again replaces what an earlier call set up; handlers others added (a test's) stay.
    """
    numeric = logging.getLevelNamesMapping().get(level.upper(), logging.INFO)
    output = stream if stream is not None else sys.stderr
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso"),
    ]
    render = _renderers(log_format)
    structlog.configure(
        processors=[*shared, *render],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.PrintLoggerFactory(file=output),
        cache_logger_on_first_use=False,
    )
    handler = logging.StreamHandler(output)
    handler.set_name(HANDLER_NAME)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[structlog.stdlib.add_logger_name, *shared],
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *render],
        )
    )
    root = logging.getLogger()
    for earlier in [h for h in root.handlers if h.get_name() == HANDLER_NAME]:
        root.removeHandler(earlier)
    root.addHandler(handler)
    root.setLevel(numeric)
    for name, lowest in HELD_BACK.items():
        logging.getLogger(name).setLevel(max(numeric, lowest))


def _renderers(log_format: LogFormat) -> list[Any]:
    if log_format == "json":
        return [structlog.processors.format_exc_info, structlog.processors.JSONRenderer()]
    return [structlog.dev.ConsoleRenderer(colors=False)]
