"""The two people of every conversation, as the chaos driver plays them.

The customer uses the bridge's customer API like the widget does: ``POST`` a message, follow the
event stream, resume it with ``Last-Event-ID`` after a disconnect. The agent uses LiveChat's Agent
Chat API with a personal access token, like the emulator's agent console. Both keep what they sent,
in the order it was acknowledged, and what they were shown, for :mod:`.check`.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from livehandoff.chaos.stack import SeededAgent

RECONNECT_SECONDS = 0.25
RETRY_SECONDS = 0.2
HANDOFF_TEXT = "I want to talk to an agent"


class DriverError(RuntimeError):
    """The driver met an answer no client should get (a bug in the run, or in the bridge's API)."""


@dataclass(eq=False)
class Conversation:
    """One simulated conversation: its ids, what each side sent, and what the customer's stream showed."""

    index: int
    id: str = ""
    token: str = ""
    chat_id: str = ""
    agent: SeededAgent | None = None
    customer_sent: list[str] = field(default_factory=list)
    agent_sent: list[str] = field(default_factory=list)
    sent_at: dict[str, float] = field(default_factory=dict)
    """When each sent message was acknowledged (``time.monotonic``)."""
    send_started: dict[str, float] = field(default_factory=dict)
    """When the agent began sending each of their messages (``time.monotonic``)."""
    shown_at: dict[str, float] = field(default_factory=dict)
    """When the customer's stream first showed each agent message (``time.monotonic``)."""
    unsent: list[str] = field(default_factory=list)
    """Messages that got no acknowledgement before the run's deadline (never counted as sent)."""
    events: dict[int, dict[str, Any]] = field(default_factory=dict)
    """The customer's stream by ``seq``, each event kept once."""
    counters: Counter[str] = field(default_factory=Counter)
    shown_to_agent: list[str] = field(default_factory=list)
    agent_view: list[dict[str, Any]] = field(default_factory=list)
    """The message events of the chat as LiveChat shows them to the agent (id, time, ``custom_id``)."""

    @property
    def auth(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self.token}"}

    @property
    def last_seq(self) -> int:
        return max(self.events, default=0)

    def shown_to_customer(self) -> list[str]:
        """Agent messages in the order the stream showed them."""
        return [
            str(event["text"])
            for _, event in sorted(self.events.items())
            if event.get("type") == "message" and event.get("author") == "agent"
        ]

    def agent_messages_arrived(self) -> bool:
        shown = set(self.shown_to_customer())
        return all(text in shown for text in self.agent_sent)

    def has_event(self, kind: str) -> bool:
        return any(event.get("type") == kind for event in self.events.values())


class Customers:
    """The customer side of every conversation, on the bridge's customer API."""

    def __init__(self, http: httpx.AsyncClient, streams: httpx.AsyncClient, base_url: str) -> None:
        self._http = http
        self._streams = streams
        self._base = base_url

    def _url(self, conversation: Conversation, tail: str = "") -> str:
        return f"{self._base}/v1/conversations/{conversation.id}{tail}"

    async def create(self, conversation: Conversation, *, deadline: float) -> None:
        """``POST /v1/conversations``. Refused connections and 5xx answers are retried (a conversation
        created twice is only an unused conversation); any other answer but 201 is fatal."""
        body = {"customer": {"name": f"Chaos customer {conversation.index}"}}
        while True:
            try:
                response = await self._http.post(f"{self._base}/v1/conversations", json=body)
            except httpx.ConnectError:
                await _pause_until(deadline, "creating a conversation")
                continue
            if response.status_code >= 500:
                conversation.counters[f"create_answered_{response.status_code}"] += 1
                await _pause_until(deadline, "creating a conversation")
                continue
            if response.status_code != 201:
                raise DriverError(f"create conversation: {response.status_code} {response.text[:200]}")
            created = response.json()
            conversation.id, conversation.token = created["id"], created["token"]
            return

    async def say(self, conversation: Conversation, text: str, *, deadline: float) -> bool:
        """Post ``text`` until the bridge acknowledges it; False if ``deadline`` passed first.

        Only a ``202`` counts. Every attempt carries the message's ``Idempotency-Key``, so an attempt
        that went out but got no usable answer (the bridge died under it, a timeout, a 5xx) is simply
        sent again: if the bridge had stored it, it answers with ``Idempotent-Replayed`` and stores
        nothing. The counters say how often each happened.
        """
        counters = conversation.counters
        headers = {**conversation.auth, "idempotency-key": uuid.uuid4().hex}
        while time.monotonic() < deadline:
            try:
                response = await self._http.post(
                    self._url(conversation, "/messages"), json={"text": text}, headers=headers
                )
            except httpx.ConnectError:
                counters["post_connect_refused"] += 1
                await asyncio.sleep(RETRY_SECONDS)
                continue
            except httpx.TransportError:
                counters["post_answer_lost"] += 1
                await asyncio.sleep(RETRY_SECONDS)
                continue
            if response.status_code == 202:
                if response.headers.get("idempotent-replayed") == "true":
                    counters["post_replayed"] += 1
                return True
            if response.status_code == 429:
                counters["post_rate_limited"] += 1
                await asyncio.sleep(float(response.headers.get("retry-after", "1")))
                continue
            if response.status_code < 500:
                raise DriverError(f"post message: {response.status_code} {response.text[:200]}")
            counters[f"post_answered_{response.status_code}"] += 1
            await asyncio.sleep(RETRY_SECONDS)
        return False

    async def transcript(self, conversation: Conversation) -> dict[str, Any]:
        """``GET /v1/conversations/{id}``: state, ``last_seq`` and the message events."""
        response = await self._http.get(self._url(conversation), headers=conversation.auth)
        response.raise_for_status()
        answer: dict[str, Any] = response.json()
        return answer

    async def follow(self, conversation: Conversation, until: Callable[[], bool], *, deadline: float) -> bool:
        """Read the event stream, resuming after the last event seen, until ``until()`` holds.

        A stream that breaks (the bridge was killed, say) is opened again with ``Last-Event-ID``.
        Returns whether ``until()`` held before ``deadline``.
        """
        while not until():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            try:
                async with asyncio.timeout(remaining):
                    await self._read(conversation, until)
            except TimeoutError:
                return until()
            except (httpx.TransportError, _StreamRefused):
                conversation.counters["stream_reconnects"] += 1
                await asyncio.sleep(RECONNECT_SECONDS)
        return True

    async def _read(self, conversation: Conversation, until: Callable[[], bool]) -> None:
        headers = dict(conversation.auth)
        if conversation.events:
            headers["last-event-id"] = str(conversation.last_seq)
        async with self._streams.stream(
            "GET", self._url(conversation, "/events"), headers=headers
        ) as response:
            if response.status_code != 200:
                raise _StreamRefused(response.status_code)
            event_id: int | None = None
            async for line in response.aiter_lines():
                if line.startswith("id: "):
                    event_id = int(line[4:])
                elif line.startswith("data: ") and event_id is not None:
                    self._record(conversation, event_id, json.loads(line[6:]))
                    if until():
                        return
        conversation.counters["stream_ended_by_server"] += 1

    @staticmethod
    def _record(conversation: Conversation, seq: int, event: dict[str, Any]) -> None:
        """Keep each ``seq`` once; a repeat or a gap breaks the stream's promise and is counted."""
        last = conversation.last_seq
        if seq in conversation.events:
            conversation.counters["stream_repeats"] += 1
            return
        if seq != last + 1:
            conversation.counters["stream_gaps"] += 1
        conversation.events[seq] = event
        if event.get("type") == "message" and event.get("author") == "agent":
            conversation.shown_at.setdefault(str(event.get("text")), time.monotonic())


class _StreamRefused(Exception):
    """The event stream answered something else than 200 (the bridge starting up, say)."""


class Agents:
    """The agent side, on the LiveChat emulator's Agent Chat API with each agent's PAT."""

    def __init__(self, http: httpx.AsyncClient, livechat_url: str, admin: SeededAgent) -> None:
        self._http = http
        self._api = f"{livechat_url}/v3.6/agent/action"
        self._admin = admin

    async def call(self, agent: SeededAgent, method: str, body: dict[str, Any]) -> Any:
        response = await self._http.post(f"{self._api}/{method}", json=body, auth=agent.auth)
        if response.status_code != 200:
            raise DriverError(f"agent {method}: {response.status_code} {response.text[:200]}")
        return response.json()

    async def say(self, conversation: Conversation, text: str) -> None:
        """``send_event`` as the chat's agent. The Agent Chat API has no faults in the mix (it plays the
        person, not the platform), so a failure here is the run's problem, not the bridge's."""
        assert conversation.agent is not None
        body = {
            "chat_id": conversation.chat_id,
            "event": {"type": "message", "text": text, "visibility": "all"},
        }
        await self.call(conversation.agent, "send_event", body)

    async def shown(self, conversation: Conversation) -> list[str]:
        """Message texts of every thread of the chat, oldest thread first, as the agent sees them."""
        return [str(event["text"]) for event in await self.messages(conversation)]

    async def messages(self, conversation: Conversation) -> list[dict[str, Any]]:
        """Message events of every thread of the chat, oldest thread first: text, event id, creation
        time and ``custom_id`` (which names the bridge's message), as the agent sees them."""
        threads: list[list[dict[str, Any]]] = []
        thread_id: str | None = None
        while True:
            body: dict[str, Any] = {"chat_id": conversation.chat_id}
            if thread_id is not None:
                body["thread_id"] = thread_id
            chat = await self.call(self._admin, "get_chat", body)
            thread = chat["thread"]
            threads.append(
                [
                    {key: e[key] for key in ("text", "id", "created_at", "custom_id") if key in e}
                    for e in thread["events"]
                    if e.get("type") == "message"
                ]
            )
            thread_id = thread.get("previous_thread_id")
            if thread_id is None:
                break
        return [event for thread in reversed(threads) for event in thread]

    async def assignments(self) -> dict[str, tuple[str, str]]:
        """Conversation id → (chat id, agent id), from every chat's customer session fields and users."""
        found: dict[str, tuple[str, str]] = {}
        body: dict[str, Any] = {"limit": 100, "sort_order": "asc"}
        while True:
            page = await self.call(self._admin, "list_chats", body)
            for summary in page["chats_summary"]:
                conversation_id, agent_id = _chat_people(summary["users"])
                if conversation_id and agent_id:
                    found[conversation_id] = (summary["id"], agent_id)
            if "next_page_id" not in page:
                return found
            body = {"page_id": page["next_page_id"]}


def _chat_people(users: list[dict[str, Any]]) -> tuple[str | None, str | None]:
    """The livehandoff conversation (a session field the bridge sets) and the agent present in a chat."""
    conversation_id = agent_id = None
    for user in users:
        if user.get("type") == "customer":
            for session_field in user.get("session_fields", []):
                conversation_id = session_field.get("livehandoff_conversation", conversation_id)
        elif user.get("type") == "agent" and user.get("present"):
            agent_id = user["id"]
    return conversation_id, agent_id


class FaultSwitch:
    """``/emulator/faults`` on the LiveChat emulator (docs/emulators.md, "Turning faults on")."""

    def __init__(self, http: httpx.AsyncClient, livechat_url: str, admin: SeededAgent) -> None:
        self._http = http
        self._url = f"{livechat_url}/emulator/faults"
        self._admin = admin

    async def _call(self, method: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        response = await self._http.request(method, self._url, json=body, auth=self._admin.auth)
        if response.status_code != 200:
            raise DriverError(f"{method} /emulator/faults: {response.status_code} {response.text[:300]}")
        answer: dict[str, Any] = response.json()
        return answer

    async def on(self, config: dict[str, Any]) -> dict[str, Any]:
        return await self._call("POST", config)

    async def off(self) -> dict[str, Any]:
        return await self._call("DELETE")

    async def counts(self) -> dict[str, Any]:
        return await self._call("GET")


async def _pause_until(deadline: float, what: str) -> None:
    if time.monotonic() >= deadline:
        raise DriverError(f"the bridge stayed unreachable while {what}")
    await asyncio.sleep(RETRY_SECONDS)
