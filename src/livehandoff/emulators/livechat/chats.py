"""The life of a chat: start, resume, events, close, routing to an agent and the queue.

Rules (reference §3, §4, §11): one chat per customer; only the last thread is active; a new
thread is routed to the least busy agent of the requested group who can take it; when nobody of
the group is accepting chats the request fails with ``groups_offline`` and creates nothing,
unless the chat is ``continuous``, which queues it until an agent becomes available.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from livehandoff.emulators.livechat import routing
from livehandoff.emulators.livechat.errors import ApiError
from livehandoff.emulators.livechat.events import EventDraft, append_event, system_message
from livehandoff.emulators.livechat.model import (
    SYSTEM,
    Actor,
    Agent,
    Chat,
    ChatUser,
    Customer,
    Event,
    Organization,
    Thread,
    UserType,
)
from livehandoff.emulators.livechat.notify import Notifier
from livehandoff.emulators.livechat.state import EmulatorState

CUSTOMER_DEFAULT_NAME = "Customer"


@dataclass(frozen=True, slots=True)
class ThreadRequest:
    """What start_chat / resume_chat ask for, already validated."""

    group_ids: list[int] | None = None
    chat_properties: dict[str, Any] = field(default_factory=dict)
    thread_properties: dict[str, Any] = field(default_factory=dict)
    events: list[EventDraft] = field(default_factory=list)
    active: bool = True
    continuous: bool | None = None


class ChatService:
    """Changes chats and tells the notifier; API modules only parse and render around it."""

    def __init__(self, state: EmulatorState, notifier: Notifier) -> None:
        self.state = state
        self.notifier = notifier

    # --- customer side

    def start_chat(
        self, org: Organization, customer: Customer, actor: Actor, request: ThreadRequest
    ) -> tuple[Chat, list[str]]:
        """A customer's first chat; ``source.client_id`` records the app behind the customer token."""
        if any(chat.customer_id == customer.id for chat in org.chats.values()):
            raise ApiError(
                "limit_reached", "Chat limit reached: the customer already has a chat, use resume_chat"
            )
        group_ids = self.check_groups(org, request.group_ids or [0])
        continuous = bool(request.continuous)
        if request.active:
            self._check_routable(org, group_ids, continuous=continuous)
        properties = _merge({}, request.chat_properties)
        properties.setdefault("routing", {})["continuous"] = continuous
        properties["source"] = {"client_id": actor.client_id, "customer_client_id": actor.client_id}
        customer_user = ChatUser(id=customer.id, type="customer", events_seen_up_to=self.state.now())
        chat = Chat(
            id=self.state.new_short_id(),
            organization_id=org.id,
            customer_id=customer.id,
            group_ids=group_ids,
            users={customer.id: customer_user},
            properties=properties,
        )
        org.chats[chat.id] = chat
        event_ids = self._open_thread(org, chat, customer, actor, request)
        return chat, event_ids

    def resume_chat(
        self, org: Organization, customer: Customer, actor: Actor, chat: Chat, request: ThreadRequest
    ) -> list[str]:
        """A new thread in an inactive chat."""
        if chat.active:
            raise ApiError("validation", "Chat is already active")
        group_ids = self.check_groups(org, request.group_ids or chat.group_ids)
        continuous = chat_continuous(chat) if request.continuous is None else request.continuous
        if request.active:
            self._check_routable(org, group_ids, continuous=continuous)
        chat.group_ids = group_ids
        chat.properties = _merge(chat.properties, request.chat_properties)
        chat.properties.setdefault("routing", {})["continuous"] = continuous
        return self._open_thread(org, chat, customer, actor, request)

    def _open_thread(
        self, org: Organization, chat: Chat, customer: Customer, actor: Actor, request: ThreadRequest
    ) -> list[str]:
        now = self.state.now()
        thread = Thread(
            id=self.state.new_short_id(),
            created_at=now,
            access_group_ids=list(chat.group_ids),
            active=request.active,
            user_ids=[customer.id],
            properties=dict(request.thread_properties),
        )
        if chat.threads:
            chat.last_thread.next_thread_id = thread.id
            thread.previous_thread_id = chat.last_thread.id
        chat.threads.append(thread)
        stored = [
            append_event(thread, draft, author_id=customer.id, author_type="customer", now=now)
            for draft in request.events
        ]
        if request.active:
            self._route(org, chat, thread)
        self.notifier.incoming_chat(org, chat, actor)
        return [event.id for event in stored]

    @staticmethod
    def check_groups(org: Organization, group_ids: list[int]) -> list[int]:
        """Every requested group must exist (``group_not_found``)."""
        unknown = [group_id for group_id in group_ids if group_id not in org.groups]
        if unknown:
            raise ApiError("group_not_found", f"Group not found: {unknown[0]}")
        return list(group_ids)

    @staticmethod
    def _check_routable(org: Organization, group_ids: list[int], *, continuous: bool) -> None:
        if not continuous and not routing.any_accepting(org, group_ids):
            raise ApiError("groups_offline", "Groups offline")

    # --- events and closing

    def send_event(
        self,
        org: Organization,
        chat: Chat,
        actor: Actor,
        draft: EventDraft,
        *,
        attach_to_last_thread: bool = False,
    ) -> Event:
        """Append an event to the last thread; closed threads only with ``attach_to_last_thread``."""
        if not chat.active and not attach_to_last_thread:
            raise ApiError("chat_inactive", "Chat is inactive")
        if actor.user_type == "agent":
            self.require_agent_in_chat(chat, actor, present=chat.active)
        thread = chat.last_thread
        author_type: UserType = "agent" if actor.user_type == "agent" else "customer"
        now = self.state.now()
        event = append_event(thread, draft, author_id=actor.user_id, author_type=author_type, now=now)
        user = chat.users.get(actor.user_id or "")
        if user is not None:
            user.events_seen_up_to = now
        self.notifier.incoming_event(org, chat, thread, event, actor)
        return event

    def deactivate(
        self, org: Organization, chat: Chat, actor: Actor, *, ignore_requester_presence: bool = False
    ) -> None:
        """Close the active thread with the ``manual_archived_*`` system message."""
        if not chat.active:
            raise ApiError("chat_inactive", "Chat is inactive")
        if actor.user_type == "agent" and not ignore_requester_presence:
            self.require_agent_in_chat(chat, actor, present=True)
        thread = chat.last_thread
        draft = self._archived_message(org, chat, actor)
        event = append_event(thread, draft, author_id=None, author_type=None, now=self.state.now())
        self._close(thread)
        for user in chat.users.values():
            if user.type == "agent":
                user.present = False
        self.notifier.incoming_event(org, chat, thread, event, actor)
        self.notifier.chat_deactivated(org, chat, thread, actor)
        self.drain_queue(org)

    def _archived_message(self, org: Organization, chat: Chat, actor: Actor) -> EventDraft:
        if actor.user_type == "agent" and actor.user_id in org.agents:
            name = org.agents[actor.user_id].name
            return system_message("manual_archived_agent", f"{name} archived the chat", {"agent": name})
        name = org.customers[chat.customer_id].name or CUSTOMER_DEFAULT_NAME
        return system_message("manual_archived_customer", f"{name} archived the chat", {"customer": name})

    def _close(self, thread: Thread) -> None:
        self._leave_queue(thread)
        thread.active = False

    @staticmethod
    def require_agent_in_chat(chat: Chat, actor: Actor, *, present: bool) -> None:
        """Agents act on chats they are users of (since v3.4)."""
        user = chat.users.get(actor.user_id or "")
        if user is None or user.type != "agent" or (present and not user.present):
            raise ApiError("authorization", "Requester is not a user of the chat")

    # --- routing

    def _route(self, org: Organization, chat: Chat, thread: Thread) -> None:
        agent = routing.pick_agent(org, thread.access_group_ids)
        if agent is None:
            self.enqueue(thread)
        else:
            self.assign(org, chat, agent, SYSTEM, reason="assigned", announce_message=False)

    def enqueue(self, thread: Thread) -> None:
        """Wait for an agent; position follows queue order."""
        thread.queued_at = self.state.now()
        thread.queue_seq = self.state.next_queue_seq()

    def _leave_queue(self, thread: Thread) -> None:
        if thread.queued_at is not None:
            thread.queues_duration += self.state.now() - thread.queued_at
            thread.queued_at = None

    def assign(
        self,
        org: Organization,
        chat: Chat,
        agent: Agent,
        actor: Actor,
        *,
        reason: str,
        announce_message: bool,
        routing_message: bool = True,
    ) -> None:
        """Put an agent into the active thread; ``user_added_to_chat`` always follows."""
        thread = chat.last_thread
        self._leave_queue(thread)
        user = chat.users.setdefault(agent.id, ChatUser(id=agent.id, type="agent"))
        user.present = True
        if agent.id not in thread.user_ids:
            thread.user_ids.append(agent.id)
        if routing_message:
            draft = system_message(
                "routing.assigned", f"Chat assigned to {agent.name}", {"agent": agent.name}
            )
            event = append_event(thread, draft, author_id=None, author_type=None, now=self.state.now())
            if announce_message:
                self.notifier.incoming_event(org, chat, thread, event, actor)
        self.notifier.user_added(org, chat, user, actor, reason=reason)

    def drain_queue(self, org: Organization) -> None:
        """Give waiting chats to agents who can take them now, first queued first."""
        for chat, thread in routing.queued_threads(org):
            agent = routing.pick_agent(org, thread.access_group_ids)
            if agent is not None:
                self.assign(org, chat, agent, SYSTEM, reason="assigned", announce_message=True)

    # --- customers

    def update_customer(
        self, org: Organization, customer: Customer, changes: dict[str, Any], actor: Actor
    ) -> None:
        """Apply profile changes; session fields are announced while the customer has an active chat."""
        for key, value in changes.items():
            setattr(customer, key, value)
        chat = self.chat_of(org, customer)
        if "session_fields" in changes and chat is not None and chat.active:
            self.notifier.session_fields_updated(org, customer, chat, actor)

    @staticmethod
    def chat_of(org: Organization, customer: Customer) -> Chat | None:
        """The customer's one chat, if any."""
        return next((chat for chat in org.chats.values() if chat.customer_id == customer.id), None)


def chat_continuous(chat: Chat) -> bool:
    """``properties.routing.continuous`` of a chat."""
    routing_props = chat.properties.get("routing", {})
    return bool(routing_props.get("continuous")) if isinstance(routing_props, dict) else False


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """Properties merge per namespace; the read-only ``source`` namespace is never taken from requests."""
    merged = {namespace: dict(values) for namespace, values in base.items() if isinstance(values, dict)}
    for namespace, values in extra.items():
        if namespace != "source" and isinstance(values, dict):
            merged.setdefault(namespace, {}).update(values)
    return merged
