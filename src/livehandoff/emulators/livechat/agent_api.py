"""Agent Chat Web API v3.6: ``POST /v3.6/agent/action/<method>``.

PAT Basic auth (``base64(account_id:pat)``) or Bearer OAuth agent token (reference §1.2, §4).
Besides what the bridge calls, these are the methods the demo and tests use to act as an agent:
reply, close, transfer, go (not) accepting chats.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any, cast

from starlette.requests import Request

from livehandoff.emulators.livechat.auth import AgentPrincipal, authenticate_agent
from livehandoff.emulators.livechat.desk import TransferTarget
from livehandoff.emulators.livechat.errors import ApiError, validation_error
from livehandoff.emulators.livechat.events import parse_event
from livehandoff.emulators.livechat.model import Chat
from livehandoff.emulators.livechat.payload import Fields
from livehandoff.emulators.livechat.seed import RoutingStatus
from livehandoff.emulators.livechat.services import Action, Services
from livehandoff.emulators.livechat.views import render_chat, render_chat_summary, render_customer

CHATS_READ = "chats--access:ro"
CHATS_WRITE = "chats--access:rw"
ROUTING_STATUSES = ("accepting_chats", "not_accepting_chats", "offline")


@dataclass(frozen=True, slots=True)
class AgentCall:
    """One authenticated agent request."""

    services: Services
    principal: AgentPrincipal

    def chat(self, chat_id: str) -> Chat:
        """A chat of the agent's organization."""
        chat = self.principal.organization.chats.get(chat_id)
        if chat is None:
            raise ApiError("not_found", "Chat not found")
        return chat


def open_call(request: Request, services: Services) -> AgentCall:
    """Authenticate a PAT or an OAuth agent token."""
    return AgentCall(services, authenticate_agent(services.state, request.headers.get("authorization")))


def list_chats(call: AgentCall, body: Fields) -> dict[str, Any]:
    """Chats of the organization, newest thread first by default, paged by ``page_id``."""
    call.principal.require_scope(CHATS_READ)
    query = _decode_page(body.optional_string("page_id")) or _query(body)
    org = call.principal.organization
    chats = [chat for chat in org.chats.values() if _chat_matches(chat, query["filters"])]
    chats.sort(key=lambda chat: chat.last_thread.created_at, reverse=query["sort_order"] == "desc")
    offset, limit = query["offset"], query["limit"]
    answer: dict[str, Any] = {
        "chats_summary": [render_chat_summary(org, chat, "agent") for chat in chats[offset : offset + limit]],
        "found_chats": len(chats),
    }
    if offset + limit < len(chats):
        answer["next_page_id"] = _encode_page({**query, "offset": offset + limit})
    if offset > 0:
        answer["previous_page_id"] = _encode_page({**query, "offset": max(0, offset - limit)})
    return answer


def _query(body: Fields) -> dict[str, Any]:
    filters = body.object("filters")
    sort_order = body.optional_string("sort_order") or "desc"
    if sort_order not in ("asc", "desc"):
        raise validation_error("sort_order must be 'asc' or 'desc'")
    return {
        "filters": {
            "active": filters.optional_boolean("active"),
            "group_ids": filters.integer_list("group_ids"),
        },
        "sort_order": sort_order,
        "limit": body.optional_integer("limit", minimum=1, maximum=100) or 10,
        "offset": 0,
    }


def _chat_matches(chat: Chat, filters: dict[str, Any]) -> bool:
    if filters["active"] is not None and chat.active != filters["active"]:
        return False
    group_ids = filters["group_ids"]
    return group_ids is None or bool(set(group_ids) & set(chat.group_ids))


def _encode_page(query: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(query).encode()).decode("ascii")


def _decode_page(page_id: str | None) -> dict[str, Any] | None:
    if page_id is None:
        return None
    try:
        query = json.loads(base64.urlsafe_b64decode(page_id.encode("ascii")))
    except (ValueError, binascii.Error) as exc:
        raise validation_error("Invalid page_id") from exc
    if not isinstance(query, dict) or not {"filters", "sort_order", "limit", "offset"} <= set(query):
        raise validation_error("Invalid page_id")
    return query


def get_chat(call: AgentCall, body: Fields) -> dict[str, Any]:
    """The chat with one thread (the latest unless ``thread_id`` names another)."""
    call.principal.require_scope(CHATS_READ)
    chat = call.chat(body.string("chat_id"))
    thread_id = body.optional_string("thread_id")
    thread = chat.thread(thread_id) if thread_id else chat.last_thread
    if thread is None:
        raise ApiError("not_found", "Thread not found")
    return render_chat(call.principal.organization, chat, thread, "agent")


def send_event(call: AgentCall, body: Fields) -> dict[str, Any]:
    """Post an event as the agent, who must be a user of the chat."""
    call.principal.require_scope(CHATS_WRITE)
    chat = call.chat(body.string("chat_id"))
    draft = parse_event(body.data.get("event"))
    attach = body.boolean("attach_to_last_thread")
    org, actor = call.principal.organization, call.principal.actor
    event = call.services.chats.send_event(org, chat, actor, draft, attach_to_last_thread=attach)
    return {"event_id": event.id}


def deactivate_chat(call: AgentCall, body: Fields) -> dict[str, Any]:
    """Close the active thread as the agent (``manual_archived_agent``)."""
    call.principal.require_scope(CHATS_WRITE)
    chat = call.chat(body.string("id"))
    ignore = body.boolean("ignore_requester_presence")
    call.services.chats.deactivate(
        call.principal.organization, chat, call.principal.actor, ignore_requester_presence=ignore
    )
    return {}


def transfer_chat(call: AgentCall, body: Fields) -> dict[str, Any]:
    """Transfer to a group or agent; without ``target`` the chat is re-routed in its group."""
    call.principal.require_scope(CHATS_WRITE)
    chat = call.chat(body.string("id"))
    call.services.desk.transfer(
        call.principal.organization,
        chat,
        call.principal.actor,
        _target(body) if body.has("target") else None,
        ignore_agents_availability=body.boolean("ignore_agents_availability"),
        ignore_requester_presence=body.boolean("ignore_requester_presence"),
    )
    return {}


def _target(body: Fields) -> TransferTarget:
    target = body.object("target")
    kind = target.string("type")
    if kind == "group":
        group_ids = target.integer_list("ids")
        if not group_ids:
            raise validation_error("target.ids must be a non-empty array of group ids")
        return TransferTarget(type="group", group_ids=tuple(group_ids))
    if kind == "agent":
        agent_ids = target.string_list("ids")
        if not agent_ids:
            raise validation_error("target.ids must be a non-empty array of agent ids")
        return TransferTarget(type="agent", agent_ids=tuple(agent_ids))
    raise validation_error("target.type must be 'group' or 'agent'")


def set_routing_status(call: AgentCall, body: Fields) -> dict[str, Any]:
    """Switch an agent (the requester by default) between accepting, not accepting and offline."""
    status = body.string("status")
    if status not in ROUTING_STATUSES:
        raise validation_error("status must be one of accepting_chats, not_accepting_chats, offline")
    org = call.principal.organization
    agent_id = body.optional_string("agent_id") or call.principal.agent.id
    agent = org.agents.get(agent_id)
    if agent is None:
        raise ApiError("not_found", f"Agent not found: {agent_id}")
    call.services.desk.set_routing_status(org, agent, cast(RoutingStatus, status), call.principal.actor)
    return {}


def list_routing_statuses(call: AgentCall, body: Fields) -> list[dict[str, str]]:
    """Routing status of each agent, optionally of some groups only."""
    group_ids = body.object("filters").integer_list("group_ids")
    agents = call.principal.organization.agents.values()
    return [
        {"agent_id": agent.id, "status": agent.routing_status}
        for agent in agents
        if group_ids is None or any(agent.serves(group_id) for group_id in group_ids)
    ]


def get_customer(call: AgentCall, body: Fields) -> dict[str, Any]:
    """A customer of the organization, agent-side view."""
    call.principal.require_scope("customers:ro")
    customer = call.principal.organization.customers.get(body.string("id"))
    if customer is None:
        raise ApiError("not_found", "Customer not found")
    return render_customer(customer, "agent")


ACTIONS: dict[str, Action[AgentCall]] = {
    "list_chats": list_chats,
    "get_chat": get_chat,
    "send_event": send_event,
    "deactivate_chat": deactivate_chat,
    "transfer_chat": transfer_chat,
    "set_routing_status": set_routing_status,
    "list_routing_statuses": list_routing_statuses,
    "get_customer": get_customer,
}
