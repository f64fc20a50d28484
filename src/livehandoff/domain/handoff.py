"""Pure rules: does this bot turn ask for a human, and what context travels with the handoff?"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any

from livehandoff.domain.model import Author, BotTurn, FeedEvent, TranscriptLine

HANDOFF_ACTION = "handoff"


def handoff_reason(turn: BotTurn, names: Collection[str]) -> str | None:
    """Why this turn hands off, or None.

    Checked in order: the intent's ``liveAgentHandoff`` flag, a custom payload marker
    (``{"action": "handoff"}`` at top level or under a platform key such as ``{"web": {...}}``),
    then the intent's action or display name being one of the configured handoff names.
    """
    if turn.live_agent_handoff:
        return f"intent {turn.intent or '?'} asked for a live agent"
    if any(_has_marker(payload) for payload in turn.payloads):
        return f"intent {turn.intent or '?'} sent a handoff payload"
    wanted = {name.casefold() for name in names}
    for value in (turn.action, turn.intent):
        if value and value.casefold() in wanted:
            return f"intent {turn.intent or '?'} is a handoff intent"
    return None


def _has_marker(payload: Mapping[str, Any]) -> bool:
    if _is_marker(payload):
        return True
    return any(isinstance(value, Mapping) and _is_marker(value) for value in payload.values())


def _is_marker(payload: Mapping[str, Any]) -> bool:
    action = payload.get("action")
    return isinstance(action, str) and action.casefold() == HANDOFF_ACTION


def transcript_since_last_handoff(events: Sequence[FeedEvent]) -> tuple[TranscriptLine, ...]:
    """The messages the agent has not seen: everything after the last ended agent chat.

    A returning customer's LiveChat chat already holds the earlier threads, so only newer lines travel.
    """
    start = 0
    for index, event in enumerate(events):
        if event.type == "handoff_ended":
            start = index + 1
    lines: list[TranscriptLine] = []
    for event in events[start:]:
        if event.type != "message":
            continue
        author = Author(str(event.data.get("author", Author.SYSTEM)))
        if author is Author.SYSTEM:
            continue
        name = event.data.get("name")
        lines.append(
            TranscriptLine(
                author=author,
                text=str(event.data.get("text", "")),
                at=event.created_at,
                name=str(name) if name else None,
            )
        )
    return tuple(lines)
