"""Customer Chat Web API v3.6: ``POST /v3.6/customer/action/<method>?organization_id=<uuid>``.

Bearer customer token from the agent_token grant; the ``organization_id`` query parameter is
mandatory on every method (reference §3). A customer sees only their own chat.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from starlette.requests import Request

from livehandoff.emulators.livechat import routing
from livehandoff.emulators.livechat.auth import CustomerPrincipal, authenticate_customer
from livehandoff.emulators.livechat.chats import ThreadRequest
from livehandoff.emulators.livechat.errors import ApiError, validation_error
from livehandoff.emulators.livechat.events import parse_event, parse_events
from livehandoff.emulators.livechat.model import Chat
from livehandoff.emulators.livechat.payload import Fields
from livehandoff.emulators.livechat.services import Action, Services
from livehandoff.emulators.livechat.views import render_chat, render_chat_summary, render_customer

MAX_SESSION_FIELDS = 100


@dataclass(frozen=True, slots=True)
class CustomerCall:
    """One authenticated customer request."""

    services: Services
    principal: CustomerPrincipal

    def own_chat(self, chat_id: str) -> Chat:
        """The customer's chat with that id; other chats do not exist for them."""
        chat = self.principal.organization.chats.get(chat_id)
        if chat is None or chat.customer_id != self.principal.customer.id:
            raise ApiError("not_found", "Chat not found")
        return chat


def open_call(request: Request, services: Services) -> CustomerCall:
    """Check the organization query parameter and the customer token."""
    organization_id = request.query_params.get("organization_id")
    if not organization_id:
        raise validation_error("organization_id query parameter is required")
    principal = authenticate_customer(services.state, request.headers.get("authorization"))
    if services.state.organization(organization_id) is None:
        raise ApiError("license_not_found", "Organization not found")
    if principal.organization.id != organization_id:
        raise ApiError("authorization", "The access token does not belong to this organization")
    return CustomerCall(services, principal)


def thread_request(body: Fields) -> ThreadRequest:
    """The shared request shape of start_chat and resume_chat."""
    chat = body.object("chat")
    thread = chat.object("thread")
    return ThreadRequest(
        group_ids=chat.object("access").integer_list("group_ids") or None,
        chat_properties=chat.object("properties").data,
        thread_properties=thread.object("properties").data,
        events=parse_events(thread.data.get("events")),
        active=body.boolean("active", default=True),
        continuous=body.optional_boolean("continuous"),
    )


def start_chat(call: CustomerCall, body: Fields) -> dict[str, Any]:
    """Start the customer's chat; routed at once or queued (continuous)."""
    principal = call.principal
    chat, event_ids = call.services.chats.start_chat(
        principal.organization, principal.customer, principal.actor, thread_request(body)
    )
    answer: dict[str, Any] = {"chat_id": chat.id, "thread_id": chat.last_thread.id}
    if event_ids:
        answer["event_ids"] = event_ids
    return answer


def resume_chat(call: CustomerCall, body: Fields) -> dict[str, Any]:
    """Open a new thread in the customer's inactive chat."""
    chat = call.own_chat(body.object("chat").string("id"))
    principal = call.principal
    event_ids = call.services.chats.resume_chat(
        principal.organization, principal.customer, principal.actor, chat, thread_request(body)
    )
    answer: dict[str, Any] = {"thread_id": chat.last_thread.id}
    if event_ids:
        answer["event_ids"] = event_ids
    return answer


def send_event(call: CustomerCall, body: Fields) -> dict[str, Any]:
    """Post an event as the customer."""
    chat = call.own_chat(body.string("chat_id"))
    draft = parse_event(body.data.get("event"))
    attach = body.boolean("attach_to_last_thread")
    event = call.services.chats.send_event(
        call.principal.organization, chat, call.principal.actor, draft, attach_to_last_thread=attach
    )
    return {"event_id": event.id}


def deactivate_chat(call: CustomerCall, body: Fields) -> dict[str, Any]:
    """Close the active thread as the customer."""
    chat = call.own_chat(body.string("id"))
    call.services.chats.deactivate(call.principal.organization, chat, call.principal.actor)
    return {}


def get_chat(call: CustomerCall, body: Fields) -> dict[str, Any]:
    """The chat with one thread (the latest unless ``thread_id`` names another)."""
    chat = call.own_chat(body.string("chat_id"))
    thread_id = body.optional_string("thread_id")
    thread = chat.thread(thread_id) if thread_id else chat.last_thread
    if thread is None:
        raise ApiError("not_found", "Thread not found")
    return render_chat(call.principal.organization, chat, thread, "customer")


def list_chats(call: CustomerCall, body: Fields) -> dict[str, Any]:
    """At most one chat per customer, so one page always holds everything."""
    body.optional_integer("limit", minimum=1, maximum=25)
    body.optional_string("page_id")
    org, customer = call.principal.organization, call.principal.customer
    chats = [chat for chat in org.chats.values() if chat.customer_id == customer.id]
    return {
        "chats_summary": [render_chat_summary(org, chat, "customer") for chat in chats],
        "total_chats": len(chats),
    }


def get_customer(call: CustomerCall, body: Fields) -> dict[str, Any]:
    """The customer's own profile."""
    return render_customer(call.principal.customer, "customer")


def update_customer(call: CustomerCall, body: Fields) -> dict[str, Any]:
    """Change name, email, avatar, phone number or session fields; at least one is required."""
    changes: dict[str, Any] = {}
    for key in ("name", "email", "avatar", "phone_number"):
        value = body.optional_string(key)
        if value is not None:
            changes[key] = value
    if body.has("session_fields"):
        changes["session_fields"] = session_fields(body)
    if not changes:
        raise validation_error("At least one customer field is required")
    principal = call.principal
    call.services.chats.update_customer(principal.organization, principal.customer, changes, principal.actor)
    return {}


def set_customer_session_fields(call: CustomerCall, body: Fields) -> dict[str, Any]:
    """Replace the session fields shown to agents in the customer details."""
    if not body.has("session_fields"):
        raise validation_error("session_fields is required")
    principal = call.principal
    changes = {"session_fields": session_fields(body)}
    call.services.chats.update_customer(principal.organization, principal.customer, changes, principal.actor)
    return {}


def session_fields(body: Fields) -> list[dict[str, str]]:
    """An array of single-key objects with string values, order kept, at most 100 keys."""
    items = body.optional_list("session_fields") or []
    valid = all(
        isinstance(item, dict) and len(item) == 1 and all(isinstance(v, str) for v in item.values())
        for item in items
    )
    if not valid:
        raise validation_error("session_fields must be an array of single-key objects with string values")
    if len(items) > MAX_SESSION_FIELDS:
        raise validation_error("session_fields takes at most 100 keys")
    return [dict(item) for item in items]


def list_group_statuses(call: CustomerCall, body: Fields) -> dict[str, Any]:
    """``online`` / ``offline`` / ``online_for_queue`` per group; unknown ids are omitted."""
    org = call.principal.organization
    group_ids = body.integer_list("group_ids")
    if body.boolean("all"):
        group_ids = list(org.groups)
    elif group_ids is None:
        raise validation_error("Either all or group_ids is required")
    statuses = {str(gid): routing.group_status(org, gid) for gid in group_ids if gid in org.groups}
    return {"groups_status": statuses}


ACTIONS: dict[str, Action[CustomerCall]] = {
    "start_chat": start_chat,
    "resume_chat": resume_chat,
    "send_event": send_event,
    "deactivate_chat": deactivate_chat,
    "get_chat": get_chat,
    "list_chats": list_chats,
    "get_customer": get_customer,
    "update_customer": update_customer,
    "set_customer_session_fields": set_customer_session_fields,
    "list_group_statuses": list_group_statuses,
}
