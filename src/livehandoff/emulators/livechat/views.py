"""JSON shapes of chats, threads, events and users, as each side of the API sees them.

The agent side (Agent Chat API, webhooks) shows ``visibility`` on events, agents' e-mails and
agent-only events. The customer side hides agent-only events, shows no ``visibility`` key
(as in the v3.6/v3.7 customer payload samples) and shows agents without their e-mail.
Shapes follow reference §3.5, §4.7 and §6.
"""

from __future__ import annotations

from typing import Any, Literal

from livehandoff.emulators.livechat.ids import format_time
from livehandoff.emulators.livechat.model import Chat, ChatUser, Customer, Event, Organization, Thread
from livehandoff.emulators.livechat.routing import queue_info

Side = Literal["agent", "customer"]


def render_event(event: Event, side: Side) -> dict[str, Any]:
    """One event; system messages have no ``author_id``."""
    body: dict[str, Any] = {"id": event.id, "created_at": format_time(event.created_at), "type": event.type}
    if event.author_id is not None:
        body["author_id"] = event.author_id
    body.update(event.fields)
    if side == "agent":
        body["visibility"] = event.visibility
    return body


def visible_events(thread: Thread, side: Side) -> list[Event]:
    """Customers never see agent-only events."""
    if side == "agent":
        return list(thread.events)
    return [event for event in thread.events if event.visibility == "all"]


def render_customer(customer: Customer, side: Side) -> dict[str, Any]:
    """A customer profile; optional fields only when set (reference §3.7)."""
    body: dict[str, Any] = {"id": customer.id, "type": "customer"}
    for key in ("name", "email", "avatar", "phone_number"):
        value = getattr(customer, key)
        if value is not None:
            body[key] = value
    if customer.session_fields:
        body["session_fields"] = [dict(item) for item in customer.session_fields]
    if side == "agent":
        body["created_at"] = format_time(customer.created_at)
    return body


def render_user(org: Organization, user: ChatUser, side: Side) -> dict[str, Any]:
    """A chat user with presence; agents show their e-mail only to the agent side."""
    if user.type == "customer":
        body = render_customer(org.customers[user.id], side)
    else:
        agent = org.agents[user.id]
        body = {"id": agent.id, "type": "agent", "name": agent.name}
        if agent.avatar is not None:
            body["avatar"] = agent.avatar
        if side == "agent":
            body["email"] = agent.id
            body["visibility"] = user.visibility
        else:
            body["job_title"] = agent.job_title
    body["present"] = user.present
    if user.events_seen_up_to is not None:
        body["events_seen_up_to"] = format_time(user.events_seen_up_to)
    return body


def render_users(org: Organization, chat: Chat, side: Side) -> list[dict[str, Any]]:
    """Every user of a chat."""
    return [render_user(org, user, side) for user in chat.users.values()]


def render_thread(org: Organization, thread: Thread, side: Side) -> dict[str, Any]:
    """A thread with its events, queue and neighbours."""
    body: dict[str, Any] = {
        "id": thread.id,
        "created_at": format_time(thread.created_at),
        "active": thread.active,
        "user_ids": list(thread.user_ids),
        "events": [render_event(event, side) for event in visible_events(thread, side)],
        "properties": thread.properties,
        "access": {"group_ids": list(thread.access_group_ids)},
    }
    if side == "agent":
        body["tags"] = []
        if thread.queues_duration:
            body["queues_duration"] = round(thread.queues_duration)
    queue = queue_info(org, thread)
    if queue is not None:
        body["queue"] = queue
    for key in ("previous_thread_id", "next_thread_id"):
        value = getattr(thread, key)
        if value is not None:
            body[key] = value
    return body


def render_chat(org: Organization, chat: Chat, thread: Thread, side: Side) -> dict[str, Any]:
    """``get_chat`` and the ``incoming_chat`` webhook: the chat with one thread."""
    body: dict[str, Any] = {
        "id": chat.id,
        "thread": render_thread(org, thread, side),
        "users": render_users(org, chat, side),
        "access": {"group_ids": list(chat.group_ids)},
        "properties": chat.properties,
    }
    if side == "agent":
        body["is_followed"] = False
    return body


def last_event_per_type(chat: Chat, side: Side) -> dict[str, Any]:
    """The newest event of each type over all threads."""
    latest: dict[str, Any] = {}
    for thread in chat.threads:
        for event in visible_events(thread, side):
            latest[event.type] = {
                "thread_id": thread.id,
                "thread_created_at": format_time(thread.created_at),
                "event": render_event(event, side),
            }
    return latest


def render_chat_summary(org: Organization, chat: Chat, side: Side) -> dict[str, Any]:
    """One entry of ``list_chats``' ``chats_summary``."""
    thread = chat.last_thread
    body: dict[str, Any] = {
        "id": chat.id,
        "last_event_per_type": last_event_per_type(chat, side),
        "users": render_users(org, chat, side),
        "access": {"group_ids": list(chat.group_ids)},
        "properties": chat.properties,
    }
    if side == "customer":
        body["last_thread_id"] = thread.id
        body["last_thread_created_at"] = format_time(thread.created_at)
        body["active"] = chat.active
        return body
    summary: dict[str, Any] = {
        "id": thread.id,
        "created_at": format_time(thread.created_at),
        "user_ids": list(thread.user_ids),
        "properties": thread.properties,
        "active": thread.active,
        "access": {"group_ids": list(thread.access_group_ids)},
    }
    queue = queue_info(org, thread)
    if queue is not None:
        summary["queue"] = queue
    body["last_thread_summary"] = summary
    body["is_followed"] = False
    return body
