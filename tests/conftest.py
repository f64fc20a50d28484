"""What every test gets: the process's logging as it was when the session began, whatever a test set up.

Some tests run a command in process (``livehandoff bench --quick``), and the command configures logging for
the whole process: structlog's level filter and processors, the root logger's handler and levels. Left
behind, a later test's ``structlog.testing.capture_logs`` would see nothing below the command's level.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import structlog


@dataclass(frozen=True)
class LoggingState:
    structlog_config: dict[str, Any]
    handlers: list[logging.Handler]
    root_level: int
    levels: dict[str, int]

    @classmethod
    def now(cls) -> LoggingState:
        root = logging.getLogger()
        names = list(logging.root.manager.loggerDict)
        return cls(
            structlog.get_config(),
            list(root.handlers),
            root.level,
            {name: logging.getLogger(name).level for name in names},
        )

    def restore(self) -> None:
        structlog.configure(**self.structlog_config)
        root = logging.getLogger()
        for handler in [h for h in root.handlers if h not in self.handlers]:
            root.removeHandler(handler)
        root.setLevel(self.root_level)
        for name in list(logging.root.manager.loggerDict):
            logging.getLogger(name).setLevel(self.levels.get(name, logging.NOTSET))


@pytest.fixture(scope="session")
def logging_at_start() -> LoggingState:
    return LoggingState.now()


@pytest.fixture(autouse=True)
def logging_as_it_was(logging_at_start: LoggingState) -> Iterator[None]:
    yield
    logging_at_start.restore()
