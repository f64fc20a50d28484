"""Webhook actions of v3.6, the filters each accepts, and whether a change passes them.

Catalogue and filter semantics: reference §2.3. ``bot`` webhooks never fire here: the emulator
has no bots. ``chat_presence.my_bots`` is therefore never satisfied.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from livehandoff.emulators.livechat.errors import validation_error
from livehandoff.emulators.livechat.model import Actor, Chat, Webhook
from livehandoff.emulators.livechat.notify import Notification

_CHAT = frozenset({"chat_presence", "only_my_chats", "source_type"})
_CHAT_AUTHORED = _CHAT | {"author_type"}
_SOURCE = frozenset({"source_type"})

ACTION_FILTERS: Mapping[str, frozenset[str]] = {
    **dict.fromkeys(
        (
            "incoming_chat",
            "chat_deactivated",
            "chat_access_updated",
            "chat_transferred",
            "user_added_to_chat",
            "user_removed_from_chat",
            "event_deleted",
            "incoming_rich_message_postback",
            "chat_properties_updated",
            "chat_properties_deleted",
            "thread_properties_updated",
            "thread_properties_deleted",
            "event_properties_updated",
            "event_properties_deleted",
            "thread_tagged",
            "thread_untagged",
            "events_marked_as_seen",
            "thread_summary_set",
        ),
        _CHAT,
    ),
    "incoming_event": _CHAT_AUTHORED,
    "event_updated": _CHAT_AUTHORED,
    "customer_session_fields_updated": frozenset({"chat_presence", "source_type"}),
    "routing_status_set": frozenset({"agent_ids", "source_type"}),
    **dict.fromkeys(
        (
            "agent_created",
            "agent_updated",
            "agent_deleted",
            "agent_suspended",
            "agent_unsuspended",
            "agent_approved",
            "bot_created",
            "bot_updated",
            "bot_deleted",
            "group_created",
            "group_updated",
            "group_deleted",
            "auto_accesses_updated",
            "tag_created",
            "tag_deleted",
            "tag_updated",
        ),
        _SOURCE,
    ),
}

ADDITIONAL_DATA = frozenset({"chat_properties", "chat_presence_user_ids"})
SOURCE_TYPES = frozenset({"my_client", "other_clients", "system"})


def validate_filters(action: str, filters: object) -> dict[str, Any]:
    """Check ``filters`` of register_webhook against what the action accepts."""
    if filters is None:
        return {}
    if not isinstance(filters, dict):
        raise validation_error("filters must be an object")
    allowed = ACTION_FILTERS[action]
    for key, value in filters.items():
        if key not in allowed:
            raise validation_error(f"filters.{key} is not supported for action {action}")
        _CHECKS[key](value)
    return dict(filters)


def _check_author_type(value: object) -> None:
    if value not in ("customer", "agent"):
        raise validation_error("filters.author_type must be 'customer' or 'agent'")


def _check_bool(value: object) -> None:
    if not isinstance(value, bool):
        raise validation_error("filters.only_my_chats must be a boolean")


def _check_source_type(value: object) -> None:
    if not isinstance(value, list) or not value or not set(value) <= SOURCE_TYPES:
        raise validation_error(
            "filters.source_type must be a non-empty array of my_client, other_clients, system"
        )


def _check_agent_ids(value: object) -> None:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise validation_error("filters.agent_ids must be an array of agent ids")


def _check_chat_presence(value: object) -> None:
    if not isinstance(value, dict) or not value or not set(value) <= {"user_ids", "my_bots"}:
        raise validation_error("filters.chat_presence must have user_ids and/or my_bots")
    if "my_bots" in value and not isinstance(value["my_bots"], bool):
        raise validation_error("filters.chat_presence.my_bots must be a boolean")
    user_ids = value.get("user_ids")
    if user_ids is None:
        return
    if (
        not isinstance(user_ids, dict)
        or len(user_ids) != 1
        or not set(user_ids) <= {"values", "exclude_values"}
    ):
        raise validation_error("filters.chat_presence.user_ids takes exactly one of values, exclude_values")
    ids = next(iter(user_ids.values()))
    if not isinstance(ids, list) or not all(isinstance(item, str) for item in ids):
        raise validation_error("filters.chat_presence.user_ids values must be an array of user ids")


_CHECKS = {
    "author_type": _check_author_type,
    "only_my_chats": _check_bool,
    "source_type": _check_source_type,
    "agent_ids": _check_agent_ids,
    "chat_presence": _check_chat_presence,
}


def source_type(actor: Actor, owner_client_id: str) -> str:
    """Who triggered the change, relative to the webhook's owner app."""
    if actor.user_type == "system":
        return "system"
    return "my_client" if actor.client_id == owner_client_id else "other_clients"


def matches(webhook: Webhook, note: Notification) -> bool:
    """Whether a registered webhook wants this change."""
    if (
        webhook.type != "license"
        or webhook.action != note.action
        or webhook.organization_id != note.organization_id
    ):
        return False
    filters = webhook.filters
    if "author_type" in filters and note.author_type != filters["author_type"]:
        return False
    if filters.get("only_my_chats") and (
        note.chat is None or note.chat.source_client_id != webhook.owner_client_id
    ):
        return False
    if (
        "source_type" in filters
        and source_type(note.actor, webhook.owner_client_id) not in filters["source_type"]
    ):
        return False
    if "agent_ids" in filters and note.agent_id not in filters["agent_ids"]:
        return False
    return "chat_presence" not in filters or _presence_matches(filters["chat_presence"], note.chat)


def _presence_matches(presence: dict[str, Any], chat: Chat | None) -> bool:
    if chat is None or presence.get("my_bots"):
        return False
    user_ids = presence.get("user_ids")
    if not user_ids:
        return True
    present = {user.id for user in chat.users.values() if user.present}
    if "values" in user_ids:
        return bool(present & set(user_ids["values"]))
    return not present & set(user_ids["exclude_values"])


def additional_data(webhook: Webhook, note: Notification) -> dict[str, Any]:
    """Requested extras; always an object, ``{}`` when nothing was requested."""
    extra: dict[str, Any] = {}
    if note.chat is None:
        return extra
    if "chat_properties" in webhook.additional_data:
        extra["chat_properties"] = copy.deepcopy(note.chat.properties)
    if "chat_presence_user_ids" in webhook.additional_data:
        extra["chat_presence_user_ids"] = [user.id for user in note.chat.users.values() if user.present]
    return extra
