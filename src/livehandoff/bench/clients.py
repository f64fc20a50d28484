"""The people and programs the benchmark plays, each through a public interface.

- :class:`BridgeCustomer`: a customer on the bridge's customer API, as the widget is (a post with an
  ``Idempotency-Key``, the event stream), noting when each event reached it.
- :class:`LiveChatCustomers`: customers of the baseline app on LiveChat's Customer Chat API — the naive
  recipe (:meth:`LiveChatCustomers.naive_handoff`) and the LiveChat-direct load.
- The agents are the chaos run's :class:`livehandoff.chaos.clients.Agents` (Agent Chat API with PATs).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from livehandoff.bench.http1 import Connection, EventStream, ProtocolError

HANDOFF_TEXT = "I want to talk to an agent"
WARM_UP = ("hello", "when are you open")
"""What each measured customer says to the bot before asking for a person: the transcript that travels."""


class BenchError(RuntimeError):
    """The run met an answer it cannot go on from."""


class Refused(BenchError):
    """The bridge answered a request with an error status (or the connection broke): under load, a
    measured outcome rather than the end of the run."""

    def __init__(self, what: str, status: int | str, body: bytes = b"") -> None:
        super().__init__(f"{what}: {status} {body[:200]!r}")
        self.status = str(status)


@dataclass(frozen=True, slots=True)
class Seen:
    """An event of the customer's stream and when it arrived (``time.monotonic``)."""

    seq: int
    event: dict[str, Any]
    at: float

    @property
    def kind(self) -> str:
        return str(self.event.get("type"))

    @property
    def author(self) -> str | None:
        author = self.event.get("author")
        return str(author) if author is not None else None


@dataclass(eq=False)
class BridgeCustomer:
    """One conversation, from the customer's side; its posts use one keep-alive connection."""

    host: str
    port: int
    id: str = ""
    token: str = ""
    chat_id: str = ""
    agent_id: str = ""
    seen: list[Seen] = field(default_factory=list)
    agent_messages: dict[str, float] = field(default_factory=dict)
    """Agent message text → when the stream showed it."""
    http: Connection | None = None
    _stream: EventStream | None = None
    _reader: asyncio.Task[None] | None = None
    _changed: asyncio.Event = field(default_factory=asyncio.Event)
    _posting: asyncio.Lock = field(default_factory=asyncio.Lock)

    @property
    def connection(self) -> Connection:
        if self.http is None:
            self.http = Connection(self.host, self.port)
        return self.http

    @property
    def auth(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self.token}"}

    async def create(self, name: str) -> None:
        answer = await self.connection.request(
            "POST", "/v1/conversations", json_body={"customer": {"name": name}}
        )
        if answer.status != 201:
            raise Refused("create conversation", answer.status, answer.body)
        created = answer.json()
        self.id, self.token = created["id"], created["token"]

    async def post(self, text: str) -> float:
        """Post ``text`` as the widget does; returns when the post began (``time.time``, the clock the
        LiveChat emulator stamps events with). Posts of one customer go one after the other."""
        headers = {**self.auth, "idempotency-key": uuid.uuid4().hex}
        async with self._posting:
            began = time.time()
            try:
                answer = await self.connection.request(
                    "POST", f"/v1/conversations/{self.id}/messages", json_body={"text": text}, headers=headers
                )
            except ProtocolError as exc:
                raise Refused("post message", "connection") from exc
        if answer.status != 202:
            raise Refused("post message", answer.status, answer.body)
        return began

    async def open_stream(self) -> EventStream:
        return await EventStream.open(self.host, self.port, f"/v1/conversations/{self.id}/events", self.auth)

    async def follow(self) -> None:
        """Open the event stream and read it in the background until :meth:`aclose`."""
        self._stream = await self.open_stream()
        self._reader = asyncio.create_task(self._read(self._stream))

    async def _read(self, stream: EventStream) -> None:
        with contextlib.suppress(ProtocolError, ConnectionError):
            async for frame in stream.events():
                seen = Seen(int(frame.id or 0), _json(frame.data), time.monotonic())
                self.seen.append(seen)
                if seen.kind == "message" and seen.author == "agent":
                    self.agent_messages.setdefault(str(seen.event.get("text")), seen.at)
                self._changed.set()

    async def wait_for(self, found: Callable[[Seen], bool], *, after: int, within: float) -> Seen:
        """The first event from index ``after`` of :attr:`seen` for which ``found`` holds."""
        deadline = time.monotonic() + within
        while True:
            for seen in self.seen[after:]:
                if found(seen):
                    return seen
            after = len(self.seen)
            self._changed.clear()
            remaining = deadline - time.monotonic()
            if remaining <= 0 or (self._reader is not None and self._reader.done()):
                kinds = [seen.kind for seen in self.seen]
                raise BenchError(f"conversation {self.id}: waited in vain; its stream showed {kinds}")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), remaining)

    async def wait_kind(self, kind: str, *, after: int, within: float) -> Seen:
        return await self.wait_for(lambda seen: seen.kind == kind, after=after, within=within)

    async def quiet(self, seconds: float) -> None:
        """Until the stream showed nothing for ``seconds``: the bridge's work for the last input is done."""
        while True:
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), seconds)
            except TimeoutError:
                return

    def transcript(self, before: int) -> list[str]:
        """Customer and bot message texts among the first ``before`` events."""
        return [
            str(seen.event.get("text"))
            for seen in self.seen[:before]
            if seen.kind == "message" and seen.author in ("customer", "bot")
        ]

    async def aclose(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        if self._stream is not None:
            self._stream.close()
        if self.http is not None:
            await self.http.aclose()


def _json(data: str) -> dict[str, Any]:
    loaded = json.loads(data)
    return loaded if isinstance(loaded, dict) else {}


def parse_livechat_time(value: str) -> float:
    """``2019-12-17T07:57:41.512000Z`` → seconds since the epoch."""
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


@dataclass(frozen=True, slots=True)
class BaselineApp:
    """The baseline app's credentials and the organization (cached, as the recipe allows)."""

    client_id: str
    client_secret: str
    refresh_token: str
    organization_id: str


@dataclass(eq=False)
class LiveChatCustomer:
    """A customer of the baseline app with its token and chat."""

    token: str
    chat_id: str = ""


class LiveChatCustomers:
    """The Customer Chat API as a program without livehandoff would use it, one blocking call at a time
    per connection. ``port`` is the emulator's, or its proxy's for the calls that are to be counted."""

    def __init__(self, app: BaselineApp, host: str, port: int) -> None:
        self.app = app
        self.host, self.port = host, port
        self._agent_token = ""

    def connection(self) -> Connection:
        return Connection(self.host, self.port)

    async def agent_token(self, http: Connection) -> str:
        """The app's agent access token from its refresh token, fetched once (not part of a handoff)."""
        if not self._agent_token:
            body = {
                "grant_type": "refresh_token",
                "refresh_token": self.app.refresh_token,
                "client_id": self.app.client_id,
                "client_secret": self.app.client_secret,
            }
            answer = await http.request("POST", "/v2/token", json_body=body)
            if answer.status != 200:
                raise BenchError(f"agent token: {answer.status} {answer.body[:200]!r}")
            self._agent_token = answer.json()["access_token"]
        return self._agent_token

    async def new_customer(self, http: Connection) -> LiveChatCustomer:
        """``/v2/customer/token`` with the ``agent_token`` grant: a new customer identity."""
        body = {"grant_type": "agent_token", "client_id": self.app.client_id, "response_type": "token"}
        headers = {"authorization": f"Bearer {await self.agent_token(http)}"}
        answer = await http.request("POST", "/v2/customer/token", json_body=body, headers=headers)
        if answer.status != 200:
            raise BenchError(f"customer token: {answer.status} {answer.body[:200]!r}")
        return LiveChatCustomer(token=answer.json()["access_token"])

    async def call(self, http: Connection, customer: LiveChatCustomer, method: str, body: Any) -> Any:
        target = f"/v3.6/customer/action/{method}?organization_id={self.app.organization_id}"
        headers = {"authorization": f"Bearer {customer.token}"}
        answer = await http.request("POST", target, json_body=body, headers=headers)
        if answer.status != 200:
            raise BenchError(f"customer {method}: {answer.status} {answer.body[:200]!r}")
        return answer.json()

    async def start_chat(self, http: Connection, customer: LiveChatCustomer) -> None:
        """``start_chat`` with no events: the chat is routed to an agent at once."""
        started = await self.call(http, customer, "start_chat", {})
        customer.chat_id = started["chat_id"]

    async def say(self, http: Connection, customer: LiveChatCustomer, text: str) -> None:
        body = {"chat_id": customer.chat_id, "event": {"type": "message", "text": text}}
        await self.call(http, customer, "send_event", body)

    async def naive_handoff(self, http: Connection, transcript: list[str]) -> LiveChatCustomer:
        """The recipe: a customer token, ``start_chat`` with no events, then one ``send_event`` per
        transcript line, each call waiting for the one before."""
        customer = await self.new_customer(http)
        await self.start_chat(http, customer)
        for line in transcript:
            await self.say(http, customer, line)
        return customer

    async def close_chat(self, http: Connection, customer: LiveChatCustomer) -> None:
        await self.call(http, customer, "deactivate_chat", {"id": customer.chat_id})
