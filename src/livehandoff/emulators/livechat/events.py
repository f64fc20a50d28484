"""Events as requests send them (validated drafts) and as threads store them.

Request shapes follow reference §6.2. The visibility key is ``visibility`` on the agent side and
``recipients`` in older customer-side docs; both are accepted. Unknown keys are ignored, as
LiveChat does for forward compatibility.
"""

from __future__ import annotations

import mimetypes
from dataclasses import dataclass
from typing import Any, cast
from urllib.parse import urlsplit

from livehandoff.emulators.livechat.errors import validation_error
from livehandoff.emulators.livechat.model import Event, Thread, UserType, Visibility

MAX_TEXT_BYTES = 16 * 1024
"""Message text limit: 16 KB of UTF-8 (reference §3.3)."""
MAX_RICH_ELEMENTS = 10

_COMMON_KEYS = ("custom_id", "properties")


@dataclass(frozen=True, slots=True)
class EventDraft:
    """A validated event not yet in a thread."""

    type: str
    visibility: Visibility
    fields: dict[str, Any]


def parse_event(raw: object) -> EventDraft:
    """Validate one request event; raises the API's ``validation`` error."""
    if not isinstance(raw, dict):
        raise validation_error("event must be an object")
    event_type = raw.get("type")
    parser = _PARSERS.get(event_type) if isinstance(event_type, str) else None
    if parser is None:
        raise validation_error(f"unsupported event type: {event_type!r}")
    fields = _common_fields(raw)
    fields.update(parser(raw))
    return EventDraft(type=cast(str, event_type), visibility=_visibility(raw), fields=fields)


def parse_events(raw: object) -> list[EventDraft]:
    """``thread.events`` of start_chat / resume_chat."""
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise validation_error("thread.events must be an array")
    return [parse_event(item) for item in raw]


def system_message(kind: str, text: str, text_vars: dict[str, str]) -> EventDraft:
    """A router-made system message such as ``manual_archived_agent``."""
    fields: dict[str, Any] = {"text": text, "system_message_type": kind, "text_vars": text_vars}
    return EventDraft(type="system_message", visibility="all", fields=fields)


def append_event(
    thread: Thread, draft: EventDraft, *, author_id: str | None, author_type: UserType | None, now: float
) -> Event:
    """Store a draft in a thread with the next ``<thread_id>_<n>`` id."""
    event = Event(
        id=f"{thread.id}_{len(thread.events) + 1}",
        type=draft.type,
        created_at=now,
        author_id=author_id,
        author_type=author_type,
        visibility=draft.visibility,
        fields=dict(draft.fields),
    )
    thread.events.append(event)
    return event


def _visibility(raw: dict[str, Any]) -> Visibility:
    value = raw.get("visibility", raw.get("recipients", "all"))
    if value not in ("all", "agents"):
        raise validation_error("visibility must be 'all' or 'agents'")
    return cast(Visibility, value)


def _common_fields(raw: dict[str, Any]) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    if "custom_id" in raw:
        fields["custom_id"] = _string(raw, "custom_id")
    if "properties" in raw:
        fields["properties"] = _object(raw, "properties")
    return fields


def _message(raw: dict[str, Any]) -> dict[str, Any]:
    text = _string(raw, "text")
    if not text:
        raise validation_error("event.text must not be empty")
    if len(text.encode("utf-8")) > MAX_TEXT_BYTES:
        raise validation_error(
            "event.text is too long: the limit is 16 KB, split the text into several messages"
        )
    fields: dict[str, Any] = {"text": text}
    if "postback" in raw:
        fields["postback"] = _object(raw, "postback")
    return fields


def _system_message(raw: dict[str, Any]) -> dict[str, Any]:
    fields: dict[str, Any] = {"system_message_type": _string(raw, "system_message_type")}
    if "text" in raw:
        fields["text"] = _string(raw, "text")
    if "text_vars" in raw:
        fields["text_vars"] = _object(raw, "text_vars")
    return fields


def _custom(raw: dict[str, Any]) -> dict[str, Any]:
    return {"content": _object(raw, "content")} if "content" in raw else {}


def _file(raw: dict[str, Any]) -> dict[str, Any]:
    url = _string(raw, "url")
    name = urlsplit(url).path.rsplit("/", 1)[-1] or "file"
    content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
    fields: dict[str, Any] = {"url": url, "name": name, "content_type": content_type}
    if "alternative_text" in raw:
        fields["alternative_text"] = _string(raw, "alternative_text")
    return fields


def _rich_message(raw: dict[str, Any]) -> dict[str, Any]:
    elements = raw.get("elements")
    if not isinstance(elements, list) or not elements or len(elements) > MAX_RICH_ELEMENTS:
        raise validation_error("event.elements must be an array of 1 to 10 elements")
    return {"template_id": _string(raw, "template_id"), "elements": elements}


def _filled_form(raw: dict[str, Any]) -> dict[str, Any]:
    form_fields = raw.get("fields")
    if not isinstance(form_fields, list):
        raise validation_error("event.fields must be an array")
    fields: dict[str, Any] = {"fields": form_fields}
    for key in ("form_id", "form_type"):
        if key in raw:
            fields[key] = _string(raw, key)
    return fields


def _string(raw: dict[str, Any], key: str) -> str:
    value = raw.get(key)
    if not isinstance(value, str):
        raise validation_error(f"event.{key} must be a string")
    return value


def _object(raw: dict[str, Any], key: str) -> dict[str, Any]:
    value = raw.get(key)
    if not isinstance(value, dict):
        raise validation_error(f"event.{key} must be an object")
    return value


_PARSERS = {
    "message": _message,
    "system_message": _system_message,
    "custom": _custom,
    "file": _file,
    "rich_message": _rich_message,
    "filled_form": _filled_form,
}
