"""The emulator's parts wired together once, handed to every API module."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from livehandoff.emulators.livechat.changes import ChangeFeed
from livehandoff.emulators.livechat.chats import ChatService
from livehandoff.emulators.livechat.desk import Desk
from livehandoff.emulators.livechat.payload import Fields
from livehandoff.emulators.livechat.state import EmulatorState
from livehandoff.emulators.livechat.webhooks import WebhookDispatcher

CallT = TypeVar("CallT")

Action = Callable[[CallT, Fields], Any]
"""An API method: takes the authenticated call and the request body, returns the JSON answer."""


@dataclass(frozen=True, slots=True)
class Services:
    """State plus the services that change it, and the feed that tells agent consoles about changes."""

    state: EmulatorState
    chats: ChatService
    desk: Desk
    webhooks: WebhookDispatcher
    changes: ChangeFeed
