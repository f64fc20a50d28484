"""Things that happened, rendered as webhook payloads the moment they happen.

Payloads are agent-side snapshots (reference §5.2); the sink (the webhook dispatcher) decides who
gets them. Rendering at once matters: delivery is asynchronous and the chat keeps changing.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from livehandoff.emulators.livechat.model import (
    Actor,
    Agent,
    Chat,
    ChatUser,
    Customer,
    Event,
    Organization,
    Thread,
)
from livehandoff.emulators.livechat.routing import queue_info
from livehandoff.emulators.livechat.views import render_chat, render_event, render_user


@dataclass(frozen=True, slots=True)
class Notification:
    """One webhook-worthy change; ``chat`` and ``author_type`` feed the webhook filters."""

    action: str
    organization_id: str
    payload: dict[str, Any]
    actor: Actor
    chat: Chat | None = None
    author_type: str | None = None
    agent_id: str | None = None


Sink = Callable[[Notification], None]


class Notifier:
    """Builds the payload of each webhook action and hands it to the sink."""

    def __init__(self, sink: Sink) -> None:
        self._sink = sink

    def _emit(
        self, action: str, org: Organization, payload: dict[str, Any], actor: Actor, **extra: Any
    ) -> None:
        snapshot = copy.deepcopy(payload)
        self._sink(
            Notification(action=action, organization_id=org.id, payload=snapshot, actor=actor, **extra)
        )

    def incoming_chat(self, org: Organization, chat: Chat, actor: Actor) -> None:
        """start_chat / resume_chat: the chat with its new thread."""
        payload = {"chat": render_chat(org, chat, chat.last_thread, "agent")}
        self._emit("incoming_chat", org, payload, actor, chat=chat)

    def incoming_event(
        self, org: Organization, chat: Chat, thread: Thread, event: Event, actor: Actor
    ) -> None:
        """A new event, in the agent-side shape with ``visibility``."""
        payload = {"chat_id": chat.id, "thread_id": thread.id, "event": render_event(event, "agent")}
        self._emit("incoming_event", org, payload, actor, chat=chat, author_type=event.author_type)

    def user_added(self, org: Organization, chat: Chat, user: ChatUser, actor: Actor, *, reason: str) -> None:
        """An agent joined the chat (routing or transfer); the full user object travels."""
        payload: dict[str, Any] = {
            "chat_id": chat.id,
            "thread_id": chat.last_thread.id,
            "user": render_user(org, user, "agent"),
            "reason": reason,
        }
        if actor.user_id is not None:
            payload["requester_id"] = actor.user_id
        self._emit("user_added_to_chat", org, payload, actor, chat=chat)

    def user_removed(self, org: Organization, chat: Chat, user_id: str, actor: Actor, *, reason: str) -> None:
        """An agent left the chat (transfer)."""
        payload: dict[str, Any] = {
            "chat_id": chat.id,
            "thread_id": chat.last_thread.id,
            "user_id": user_id,
            "reason": reason,
        }
        if actor.user_id is not None:
            payload["requester_id"] = actor.user_id
        self._emit("user_removed_from_chat", org, payload, actor, chat=chat)

    def chat_deactivated(self, org: Organization, chat: Chat, thread: Thread, actor: Actor) -> None:
        """The thread closed; ``user_id`` names who closed it, absent when the router did."""
        payload: dict[str, Any] = {"chat_id": chat.id, "thread_id": thread.id}
        if actor.user_id is not None:
            payload["user_id"] = actor.user_id
        self._emit("chat_deactivated", org, payload, actor, chat=chat)

    def chat_transferred(
        self, org: Organization, chat: Chat, actor: Actor, *, group_ids: list[int], agent_ids: list[str]
    ) -> None:
        """transfer_chat: where the chat went, and its queue when nobody took it yet."""
        thread = chat.last_thread
        payload: dict[str, Any] = {
            "chat_id": chat.id,
            "thread_id": thread.id,
            "requester_id": actor.user_id,
            "reason": "manual",
            "transferred_to": {"group_ids": group_ids, "agent_ids": agent_ids},
        }
        queue = queue_info(org, thread)
        if queue is not None:
            payload["queue"] = queue
        self._emit("chat_transferred", org, payload, actor, chat=chat)

    def routing_status_set(self, org: Organization, agent: Agent, actor: Actor) -> None:
        """The webhook spells statuses with spaces (reference §4.9)."""
        payload = {"agent_id": agent.id, "status": agent.routing_status.replace("_", " ")}
        self._emit("routing_status_set", org, payload, actor, agent_id=agent.id)

    def session_fields_updated(self, org: Organization, customer: Customer, chat: Chat, actor: Actor) -> None:
        """Only sent while the customer has an active chat (reference §3.7)."""
        payload = {
            "id": customer.id,
            "active_chat": {"chat_id": chat.id, "thread_id": chat.last_thread.id},
            "session_fields": [dict(item) for item in customer.session_fields],
        }
        self._emit("customer_session_fields_updated", org, payload, actor, chat=chat)
