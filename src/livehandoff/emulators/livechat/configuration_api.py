"""Configuration API v3.6: ``POST /v3.6/configuration/action/<method>`` (PAT Basic or Bearer).

Webhook registry (max 3 webhooks per action per owner client, reference §2.3), license webhook
switch, groups; plus the v3.4-only ``GET get_organization_id`` / ``get_license_id`` that need no
authorization (reference §2.1).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, cast

from starlette.requests import Request
from starlette.responses import JSONResponse

from livehandoff.emulators.livechat import routing
from livehandoff.emulators.livechat.auth import AgentPrincipal, authenticate_agent
from livehandoff.emulators.livechat.errors import ApiError, validation_error
from livehandoff.emulators.livechat.ids import new_hex
from livehandoff.emulators.livechat.model import Group, Organization, Webhook
from livehandoff.emulators.livechat.payload import Fields
from livehandoff.emulators.livechat.services import Action, Services
from livehandoff.emulators.livechat.webhook_filters import ACTION_FILTERS, ADDITIONAL_DATA, validate_filters

WEBHOOKS_WRITE = "webhooks.configuration:rw"
MAX_WEBHOOKS_PER_ACTION = 3
MAX_URL_LENGTH = 500


@dataclass(frozen=True, slots=True)
class ConfigurationCall:
    """One authenticated configuration request."""

    services: Services
    principal: AgentPrincipal

    @property
    def org(self) -> Organization:
        """The requester's organization."""
        return self.principal.organization

    def owner_client_id(self, body: Fields, *, required: bool = False) -> str:
        """``owner_client_id``; optional only with an OAuth token, whose own client it then is."""
        given = body.string("owner_client_id") if required else body.optional_string("owner_client_id")
        owner = given or self.principal.client_id
        if not owner:
            raise validation_error("owner_client_id is required")
        if owner not in self.org.apps:
            raise validation_error("owner_client_id does not name an application of this organization")
        return owner


def open_call(request: Request, services: Services) -> ConfigurationCall:
    """Authenticate a PAT or an OAuth agent token."""
    return ConfigurationCall(
        services, authenticate_agent(services.state, request.headers.get("authorization"))
    )


def register_webhook(call: ConfigurationCall, body: Fields) -> dict[str, Any]:
    """Validate and store a webhook; the fourth per action and owner is ``limit_reached``."""
    call.principal.require_scope(WEBHOOKS_WRITE)
    webhook = _webhook_from(call, body)
    existing = [
        w
        for w in call.org.webhooks.values()
        if w.owner_client_id == webhook.owner_client_id and w.action == webhook.action
    ]
    if len(existing) >= MAX_WEBHOOKS_PER_ACTION:
        raise ApiError(
            "limit_reached", f"Webhooks limit reached: at most 3 per action per client ({webhook.action})"
        )
    call.org.webhooks[webhook.id] = webhook
    return {"id": webhook.id}


def _webhook_from(call: ConfigurationCall, body: Fields) -> Webhook:
    action = body.string("action")
    if action not in ACTION_FILTERS:
        raise validation_error(f"action {action!r} is not a webhook action of v3.6")
    url = body.string("url")
    if len(url) > MAX_URL_LENGTH or not url.startswith(("http://", "https://")):
        raise validation_error("url must be an http(s) URL of at most 500 characters")
    secret_key = body.string("secret_key")
    kind = body.string("type")
    if kind not in ("license", "bot"):
        raise validation_error("type must be 'license' or 'bot'")
    owner = call.owner_client_id(body, required=True)
    extra = body.string_list("additional_data") or []
    if not set(extra) <= ADDITIONAL_DATA:
        raise validation_error("additional_data takes chat_properties and chat_presence_user_ids")
    return Webhook(
        id=new_hex(),
        organization_id=call.org.id,
        owner_client_id=owner,
        action=action,
        url=url,
        secret_key=secret_key,
        type=cast(Literal["license", "bot"], kind),
        description=body.optional_string("description") or "",
        filters=validate_filters(action, body.data.get("filters")),
        additional_data=tuple(extra),
    )


def list_webhooks(call: ConfigurationCall, body: Fields) -> list[dict[str, Any]]:
    """Webhooks of one owner client."""
    call.principal.require_scope(WEBHOOKS_WRITE)
    owner = call.owner_client_id(body)
    return [_render_webhook(w) for w in call.org.webhooks.values() if w.owner_client_id == owner]


def _render_webhook(webhook: Webhook) -> dict[str, Any]:
    return {
        "id": webhook.id,
        "url": webhook.url,
        "description": webhook.description,
        "action": webhook.action,
        "secret_key": webhook.secret_key,
        "filters": webhook.filters,
        "additional_data": list(webhook.additional_data),
        "owner_client_id": webhook.owner_client_id,
        "type": webhook.type,
    }


def unregister_webhook(call: ConfigurationCall, body: Fields) -> dict[str, Any]:
    """Remove one webhook of the owner client."""
    call.principal.require_scope(WEBHOOKS_WRITE)
    webhook_id = body.string("id")
    owner = call.owner_client_id(body)
    webhook = call.org.webhooks.get(webhook_id)
    if webhook is None or webhook.owner_client_id != owner:
        raise ApiError("not_found", "Webhook not found")
    del call.org.webhooks[webhook_id]
    return {}


def enable_license_webhooks(call: ConfigurationCall, body: Fields) -> dict[str, Any]:
    """Only needed after an explicit disable: license webhooks start enabled."""
    call.principal.require_scope("webhooks.state:rw")
    call.org.webhooks_disabled_for.discard(call.owner_client_id(body))
    return {}


def disable_license_webhooks(call: ConfigurationCall, body: Fields) -> dict[str, Any]:
    """Stop every license webhook of the owner client in this organization."""
    call.principal.require_scope("webhooks.state:rw")
    call.org.webhooks_disabled_for.add(call.owner_client_id(body))
    return {}


def get_license_webhooks_state(call: ConfigurationCall, body: Fields) -> dict[str, Any]:
    """Whether the owner client's license webhooks fire."""
    call.principal.require_scope("webhooks.state:ro")
    enabled = call.owner_client_id(body) not in call.org.webhooks_disabled_for
    return {"license_webhooks_enabled": enabled}


def list_groups(call: ConfigurationCall, body: Fields) -> list[dict[str, Any]]:
    """Groups; ``routing_status`` and ``agent_priorities`` only when asked for in ``fields``."""
    call.principal.require_scope("groups--all:ro")
    fields = body.string_list("fields") or []
    return [_render_group(call.org, group, fields) for group in call.org.groups.values()]


def get_group(call: ConfigurationCall, body: Fields) -> dict[str, Any]:
    """One group by id."""
    call.principal.require_scope("groups--all:ro")
    group_id = body.optional_integer("id", minimum=0)
    group = call.org.groups.get(group_id) if group_id is not None else None
    if group is None:
        raise ApiError("group_not_found", "Group not found")
    return _render_group(call.org, group, body.string_list("fields") or [])


def _render_group(org: Organization, group: Group, fields: list[str]) -> dict[str, Any]:
    body: dict[str, Any] = {"id": group.id, "name": group.name, "language_code": group.language_code}
    if "routing_status" in fields:
        body["routing_status"] = routing.group_routing_status(org, group.id)
    if "agent_priorities" in fields:
        body["agent_priorities"] = {agent.id: "normal" for agent in routing.agents_of(org, [group.id])}
    return body


async def get_organization_id(request: Request, services: Services) -> JSONResponse:
    """``GET /v3.4/configuration/action/get_organization_id?license_id=N``; no auth."""
    raw = request.query_params.get("license_id", "")
    if not raw.isdigit():
        raise validation_error("license_id query parameter must be a number")
    org = services.state.organization_by_license(int(raw))
    if org is None:
        raise ApiError("not_found", "License not found")
    return JSONResponse({"organization_id": org.id})


async def get_license_id(request: Request, services: Services) -> JSONResponse:
    """``GET /v3.4/configuration/action/get_license_id?organization_id=<uuid>``; no auth."""
    org = services.state.organization(request.query_params.get("organization_id", ""))
    if org is None:
        raise ApiError("not_found", "Organization not found")
    return JSONResponse({"license_id": org.license_id})


ACTIONS: dict[str, Action[ConfigurationCall]] = {
    "register_webhook": register_webhook,
    "list_webhooks": list_webhooks,
    "unregister_webhook": unregister_webhook,
    "enable_license_webhooks": enable_license_webhooks,
    "disable_license_webhooks": disable_license_webhooks,
    "get_license_webhooks_state": get_license_webhooks_state,
    "list_groups": list_groups,
    "get_group": get_group,
}
