"""The one exception tree of livehandoff.

Every failure the core can reason about is one of these. HTTP status codes are chosen only at the
edge (``web/``); errors carry their data as attributes.

    LiveHandoffError
    ├── ConfigurationError            settings missing or inconsistent
    ├── ConversationError
    │   ├── ConversationNotFound      no conversation with that id
    │   ├── InvalidToken              the token does not open that conversation
    │   ├── ConcurrentUpdate          a save lost a race (version check)
    │   └── DuplicateEvent            an inbound event was already processed (dedupe key)
    ├── InvalidInput                  an outside payload failed validation
    ├── RetryLater                    a recipient cannot take a customer message now; ``retry_after``
    └── UpstreamError                 a platform we call failed
        ├── BotError                  Dialogflow failed
        │   └── BotUnavailable        transport failure / timeout / 5xx
        └── DeskError                 LiveChat failed; ``error_type`` is LiveChat's ``error.type``
            ├── DeskAuthError         token rejected (``authentication``) or OAuth ``oauth_exception``
            ├── DeskRateLimited       ``too_many_requests`` / 429; ``retry_after`` seconds
            ├── ChatInactive          ``chat_inactive``: the thread is closed
            ├── GroupsOffline         ``groups_offline`` / ``group_offline``: nobody can take the chat
            └── DeskUnavailable       transport failure / timeout / 5xx
"""

from __future__ import annotations


class LiveHandoffError(Exception):
    """Base of every error raised on purpose by livehandoff."""


class ConfigurationError(LiveHandoffError):
    """Settings are missing or inconsistent."""


class ConversationError(LiveHandoffError):
    """Something about one conversation."""

    def __init__(self, message: str, *, conversation_id: str) -> None:
        super().__init__(message)
        self.conversation_id = conversation_id


class ConversationNotFound(ConversationError):
    """No conversation has that id."""


class InvalidToken(ConversationError):
    """The bearer token does not authorize that conversation."""


class ConcurrentUpdate(ConversationError):
    """A save found a newer version than the one it loaded."""


class DuplicateEvent(ConversationError):
    """An inbound event with the same dedupe key was already stored."""


class InvalidInput(LiveHandoffError):
    """An outside payload (webhook, request body, export file) failed validation."""


class RetryLater(LiveHandoffError):
    """The recipient cannot take a customer message now: it stays queued and is tried again after
    ``retry_after`` seconds (or after the outbox's backoff). Raised by the effects, caught by the bridge."""

    def __init__(self, reason: str, *, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


class UpstreamError(LiveHandoffError):
    """A platform we call failed."""


class BotError(UpstreamError):
    """Dialogflow answered with an error."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class BotUnavailable(BotError):
    """Dialogflow could not be reached, timed out or answered 5xx."""


class DeskError(UpstreamError):
    """LiveChat answered with an error body or an unexpected response."""

    def __init__(self, message: str, *, error_type: str = "", status: int | None = None) -> None:
        super().__init__(message)
        self.error_type = error_type
        self.status = status


class DeskAuthError(DeskError):
    """A token was rejected (``authentication``) or the accounts service refused a grant."""


class DeskRateLimited(DeskError):
    """LiveChat asked us to slow down."""

    def __init__(
        self,
        message: str,
        *,
        error_type: str = "too_many_requests",
        status: int | None = 429,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, error_type=error_type, status=status)
        self.retry_after = retry_after


class ChatInactive(DeskError):
    """The chat's last thread is closed (``chat_inactive``)."""


class GroupsOffline(DeskError):
    """No agent of the target group can take the chat (``groups_offline``)."""


class DeskUnavailable(DeskError):
    """LiveChat could not be reached, timed out or answered 5xx."""
