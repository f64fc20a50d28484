"""Helpers for tests and demos that drive the emulator: a webhook receiver and an agent console.

``WebhookRecorder`` is a tiny ASGI app that records every webhook body and can be told to fail
the next deliveries; ``AgentConsole`` does what a human agent does in the LiveChat app, through
the real Agent Chat API with the agent's PAT.
"""

from __future__ import annotations

from collections import deque
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

WEBHOOK_PATH = "/webhooks/livechat"


class WebhookRecorder:
    """Receives webhooks at ``WEBHOOK_PATH`` and keeps the bodies of the ones it accepted."""

    def __init__(self, path: str = WEBHOOK_PATH) -> None:
        self.path = path
        self.bodies: list[dict[str, Any]] = []
        self.rejected: list[dict[str, Any]] = []
        self._failures: deque[int] = deque()
        self.app = Starlette(routes=[Route(path, self._receive, methods=["POST"])])

    def fail_next(self, count: int = 1, *, status: int = 500) -> None:
        """Answer the next ``count`` deliveries with ``status`` instead of 200."""
        self._failures.extend([status] * count)

    def client(self, base_url: str = "http://bridge.test") -> httpx.AsyncClient:
        """A client reaching this app in-process; give it to ``emu.set_webhook_client``."""
        return httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app), base_url=base_url)

    def url(self, base_url: str = "http://bridge.test") -> str:
        """The URL to register webhooks with."""
        return base_url + self.path

    def actions(self) -> list[str]:
        """Actions received, in arrival order."""
        return [body["action"] for body in self.bodies]

    def of(self, action: str) -> list[dict[str, Any]]:
        """Bodies of one action."""
        return [body for body in self.bodies if body["action"] == action]

    async def _receive(self, request: Request) -> Response:
        body = await request.json()
        if self._failures:
            self.rejected.append(body)
            return Response(status_code=self._failures.popleft())
        self.bodies.append(body)
        return JSONResponse({})


class AgentConsole:
    """An agent at work, over the Agent Chat API v3.6 with PAT Basic auth."""

    def __init__(self, client: httpx.AsyncClient, authorization: str) -> None:
        self._client = client
        self._authorization = authorization

    async def request(self, method: str, body: dict[str, Any] | None = None) -> httpx.Response:
        """One raw call; the caller looks at status and body."""
        return await self._client.post(
            f"/v3.6/agent/action/{method}",
            json=body or {},
            headers={"Authorization": self._authorization},
        )

    async def call(self, method: str, body: dict[str, Any] | None = None) -> Any:
        """One call that must succeed; returns the JSON answer."""
        response = await self.request(method, body)
        response.raise_for_status()
        return response.json()

    async def reply(self, chat_id: str, text: str) -> str:
        """Send a message to the customer; returns the event id."""
        event = {"type": "message", "text": text, "visibility": "all"}
        answer = await self.call("send_event", {"chat_id": chat_id, "event": event})
        return str(answer["event_id"])

    async def close(self, chat_id: str) -> None:
        """End the chat (``manual_archived_agent``)."""
        await self.call("deactivate_chat", {"id": chat_id})

    async def transfer(
        self, chat_id: str, *, group_id: int | None = None, agent_id: str | None = None
    ) -> None:
        """Hand the chat to a group or another agent."""
        target = (
            {"type": "group", "ids": [group_id]} if agent_id is None else {"type": "agent", "ids": [agent_id]}
        )
        await self.call("transfer_chat", {"id": chat_id, "target": target})

    async def set_routing_status(self, status: str, *, agent_id: str | None = None) -> None:
        """``accepting_chats``, ``not_accepting_chats`` or ``offline``."""
        body: dict[str, Any] = {"status": status}
        if agent_id is not None:
            body["agent_id"] = agent_id
        await self.call("set_routing_status", body)

    async def get_chat(self, chat_id: str) -> dict[str, Any]:
        """The chat with its latest thread, agent-side."""
        answer: dict[str, Any] = await self.call("get_chat", {"chat_id": chat_id})
        return answer
