"""The one orchestrator: load → decide → save, then run the commands through the ports, and again.

Every change to a conversation is a *step* (``Bridge._step``): load it, decide on one input, save the
result with the version it was loaded at. Steps of one conversation never interleave: within this
process a per-conversation lock covers the step (and nothing else — never a network call), and across
instances the save's version check refuses a step that lost a race (``ConcurrentUpdate``), which is then
decided again on the fresh conversation. The commands a step decided run after its save, without any
lock; their outcomes are the next inputs. So a customer's post is stored and answered at once whatever
LiveChat or Dialogflow are doing.

Work that must happen once per conversation — routing its outbox, watching a customer who waits for an
agent — runs in ``delivery.ConversationWorkers`` under a lease (``leases.py``): one instance at a time.

Every public entry binds the conversation's id to the log context once (``structlog.contextvars``); log
lines written meanwhile carry it without naming it.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

import structlog

from livehandoff.clock import SystemClock
from livehandoff.delivery import ConversationWorkers, backoff
from livehandoff.domain import feed
from livehandoff.domain.feed import FeedEvent
from livehandoff.domain.handoff import HandoffPolicy
from livehandoff.domain.machine import (
    BotAnswered,
    CancelRequested,
    CustomerMessageDue,
    CustomerSaid,
    Decision,
    DeskDelivered,
    DeskDeliveryDeferred,
    Input,
    WaitCheck,
    decide,
)
from livehandoff.domain.model import (
    DESK_STATES,
    AgentMessage,
    Author,
    BotTurn,
    Conversation,
    CustomerProfile,
    DeskUpdate,
    OutboxItem,
    State,
    desk_update_from_json,
    desk_update_to_json,
)
from livehandoff.effects import Effects
from livehandoff.errors import ConcurrentUpdate, DuplicateEvent, InvalidToken, RetryLater
from livehandoff.leases import LEASE_SECONDS, LeaseKeeper, instance_name
from livehandoff.locks import KeyedLocks
from livehandoff.ports import (
    AgentDesk,
    BotEngine,
    Clock,
    ConversationStore,
    CustomerFeed,
    Leases,
    Meter,
    Outbox,
    Subscription,
    WebhookIntake,
)

log = structlog.get_logger("livehandoff.bridge")


def hash_token(token: str) -> str:
    """Conversation tokens are stored only as their SHA-256."""
    return hashlib.sha256(token.encode()).hexdigest()


SINGLE_INSTANCE_LEASE = "instance:single"

STEP_TRIES = 20
"""How often a step is decided again after losing a race with another instance before giving up."""

FULFILLMENT_AUTHORS = frozenset({Author.AGENT, Author.SYSTEM})
"""Dialogflow shows its own bot answers; fulfillment replies add what came from people and from us."""


@dataclass(frozen=True, slots=True)
class PostedMessage:
    """The answer to a customer's post: its message id, and whether it repeated an earlier post."""

    id: str
    replayed: bool


@dataclass(frozen=True, slots=True)
class FulfillmentReply:
    """What a fulfillment webhook answers for one turn."""

    conversation_id: str
    state: State
    texts: tuple[str, ...]
    with_agent: bool
    bot_answered: bool
    """The bot's own answer to this turn stands (the session was not with an agent)."""
    token: str | None = None
    """Set on the turn that handed off: opens the conversation's event stream for a page script."""
    seq: int = 0
    """The last event this reply accounts for; a page script follows the stream from here."""


@dataclass(frozen=True, slots=True)
class BridgeOptions:
    """Policy the bridge applies."""

    policy: HandoffPolicy = field(default_factory=HandoffPolicy)
    group_id: int | None = None
    """The LiveChat group for handoffs whose trigger names none."""
    queue_refresh_seconds: float = 10.0
    """How often a waiting customer's queue position is refreshed and the maximum wait checked."""
    instance: str = field(default_factory=instance_name)
    """This instance's name, as the owner of its leases."""
    lease_seconds: float = LEASE_SECONDS
    """How long a lease lasts unrenewed: how soon another instance takes over a dead one's work."""
    linger_seconds: float = 0.0
    """How long a conversation's outbox worker keeps its lease after running out of work, for the next
    message (several instances: saves a claim and a release per message of a busy conversation)."""


class _Unmetered:
    """A ``Meter`` that keeps nothing, for a bridge built without metrics."""

    def stored(self, conversation: Conversation, events: Iterable[FeedEvent], now: datetime) -> None:
        return None

    def relayed(self, direction: str, seconds: float) -> None:
        return None

    def webhook(self, outcome: str) -> None:
        return None


class Bridge:
    """Drives conversations between the bot, the agent desk and the customer's feed."""

    def __init__(
        self,
        *,
        conversations: ConversationStore,
        outbox: Outbox,
        intake: WebhookIntake,
        leases: Leases,
        bot: BotEngine,
        desk: AgentDesk,
        feed: CustomerFeed,
        options: BridgeOptions,
        clock: Clock | None = None,
        retry_delay: Callable[[int, float | None], float] = backoff,
        meter: Meter | None = None,
    ) -> None:
        self._store = conversations
        self._outbox = outbox
        self._intake = intake
        self._bot = bot
        self._desk = desk
        self._feed = feed
        self._options = options
        self._clock = clock or SystemClock()
        self._retry_delay = retry_delay
        self._meter: Meter = meter or _Unmetered()
        self._locks = KeyedLocks()
        self._leases = LeaseKeeper(leases, self._clock, owner=options.instance, ttl=options.lease_seconds)
        self._deliveries = ConversationWorkers(
            self._route_next,
            outbox.pending_conversations,
            name="outbox",
            leases=self._leases,
            has_work=self._has_queued,
            linger=options.linger_seconds,
        )
        feed.watch(self._deliveries.nudge)
        self._waiting = ConversationWorkers(
            self._check_waiting, self._waiting_conversations, name="waiting", leases=self._leases
        )
        self._effects = Effects(
            store=conversations,
            bot=bot,
            desk=desk,
            group_id=options.group_id,
            on_chat_opened=self._watch_waiting,
        )

    @contextmanager
    def _about(self, conversation_id: str) -> Iterator[None]:
        """The conversation's id bound to every log line written meanwhile."""
        with structlog.contextvars.bound_contextvars(conversation_id=conversation_id):
            yield

    # --- customer side ------------------------------------------------------------------------

    async def start_conversation(
        self,
        *,
        language: str,
        customer: CustomerProfile,
        page_url: str | None,
        bot_session_id: str | None = None,
    ) -> tuple[Conversation, str]:
        """Create a conversation; return it with the bearer token that opens it (shown once)."""
        token = secrets.token_urlsafe(32)
        conversation_id = str(uuid.uuid4())
        conversation = Conversation(
            id=conversation_id,
            token_hash=hash_token(token),
            state=State.BOT,
            language=language,
            bot_session_id=bot_session_id or conversation_id,
            created_at=self._clock.now(),
            customer=customer,
            page_url=page_url,
        )
        await self._store.create(conversation)
        with self._about(conversation_id):
            log.info("conversation.started", language=language)
        return conversation, token

    async def authorize(self, conversation_id: str, token: str) -> Conversation:
        """The conversation, if ``token`` opens it.

        ``ConversationNotFound`` for an unknown id, ``InvalidToken`` for a wrong token. Ids are random UUIDs,
        so telling the two apart reveals nothing useful.
        """
        conversation = await self._store.load(conversation_id)
        if not hmac.compare_digest(conversation.token_hash, hash_token(token)):
            raise InvalidToken("token does not open this conversation", conversation_id=conversation_id)
        return conversation

    async def post_customer_message(
        self,
        conversation_id: str,
        text: str,
        *,
        idempotency_key: str | None = None,
        known: Conversation | None = None,
    ) -> PostedMessage:
        """Store the customer's message with its outbox row, then route it in the background.

        A client that did not get the answer to a post (the connection broke) sends it again with the
        same ``idempotency_key``: the repeat is answered with the first post's message id and stores
        nothing, whatever its text.
        """
        if idempotency_key is None:
            message_id, dedupe_key = f"msg_{uuid.uuid4().hex}", None
        else:
            digest = hashlib.sha256(f"{conversation_id}\n{idempotency_key}".encode()).hexdigest()
            message_id = f"msg_{digest[:32]}"
            dedupe_key = f"customer-post:{message_id}"
        with self._about(conversation_id):
            try:
                await self._apply(
                    conversation_id, CustomerSaid(message_id, text), dedupe_key=dedupe_key, known=known
                )
            except DuplicateEvent:  # the store already holds this post: nothing was saved again
                return PostedMessage(message_id, replayed=True)
            await self._tell_held(conversation_id)
        self._deliveries.kick(conversation_id)
        return PostedMessage(message_id, replayed=False)

    async def events_after(
        self, conversation_id: str, after_seq: int, *, limit: int | None = None
    ) -> list[FeedEvent]:
        """The conversation's feed events after ``after_seq``: all of them, or the first ``limit``."""
        return await self._store.events_after(conversation_id, after_seq, limit=limit)

    def subscribe(self, conversation_id: str) -> Subscription:
        return self._feed.subscribe(conversation_id)

    # --- fulfillment mode: Dialogflow's own front end calls us on every turn -------------------

    async def fulfill(self, *, session: str, language: str, text: str, turn: BotTurn) -> FulfillmentReply:
        """Handle one turn Dialogflow already matched, and say what to add to its answer.

        With the bot, the turn is recorded and may hand off (the LiveChat chat opens before we answer).
        With an agent, the customer's text goes to LiveChat. Either way the reply carries the agent and
        system messages the customer has not been shown yet.
        """
        conversation_id = await self._store.find_by_bot_session(session)
        if conversation_id is None:
            conversation_id = await self._create_for_session(session, language)
        with self._about(conversation_id):
            with_bot = (await self._store.load(conversation_id)).state not in DESK_STATES
            message_id = f"msg_{uuid.uuid4().hex}"
            if text.strip():
                # With an agent the text is queued like any customer message (the webhook must answer
                # within seconds); with the bot, Dialogflow already answered it.
                await self._apply(conversation_id, CustomerSaid(message_id, text, route_later=not with_bot))
            if with_bot:
                await self._apply(conversation_id, BotAnswered(turn))
            reply = await self._fulfillment_reply(conversation_id, bot_answered=with_bot)
        if not with_bot:
            self._deliveries.kick(conversation_id)
        return reply

    async def _create_for_session(self, session: str, language: str) -> str:
        conversation, _ = await self.start_conversation(
            language=language, customer=CustomerProfile(), page_url=None, bot_session_id=session
        )
        return conversation.id

    async def _fulfillment_reply(self, conversation_id: str, *, bot_answered: bool) -> FulfillmentReply:
        for _ in range(STEP_TRIES):
            async with self._locks.hold(conversation_id):
                conversation = await self._store.load(conversation_id)
                events = await self._store.events_after(conversation_id, conversation.delivered_seq)
                texts = tuple(
                    message.text
                    for event in events
                    if isinstance(message := event.payload, feed.Message)
                    and message.author in FULFILLMENT_AUTHORS
                )
                token = None
                with_agent = conversation.state in DESK_STATES
                updated = replace(conversation, delivered_seq=conversation.last_seq)
                if bot_answered and with_agent:
                    token = secrets.token_urlsafe(32)  # fresh: the page script needs it, we keep hashes only
                    updated = replace(updated, token_hash=hash_token(token))
                try:
                    await self._store.save(updated, (), expected_version=conversation.version)
                except ConcurrentUpdate:
                    continue
                return FulfillmentReply(
                    conversation_id,
                    conversation.state,
                    texts,
                    with_agent,
                    bot_answered,
                    token,
                    conversation.last_seq,
                )
        raise ConcurrentUpdate("too many concurrent changes", conversation_id=conversation_id)

    async def mark_delivered(self, conversation_id: str, seq: int) -> None:
        """A front end showed the customer everything up to ``seq``; fulfillment replies skip it."""
        for _ in range(STEP_TRIES):
            async with self._locks.hold(conversation_id):
                conversation = await self._store.load(conversation_id)
                if seq <= conversation.delivered_seq:
                    return
                updated = replace(conversation, delivered_seq=min(seq, conversation.last_seq))
                try:
                    await self._store.save(updated, (), expected_version=conversation.version)
                except ConcurrentUpdate:
                    continue
                return
        raise ConcurrentUpdate("too many concurrent changes", conversation_id=conversation_id)

    # --- desk side -----------------------------------------------------------------------------

    async def handle_desk_update(self, event: DeskUpdate) -> bool:
        """Apply a translated LiveChat webhook. Returns False when it was a duplicate or not ours (yet).

        LiveChat routes a new chat, and sends ``user_added_to_chat``, while ``start_chat`` is still
        answering us; such early events are parked in the store and applied once the chat is saved.
        Checking again after parking closes the gap with a save that happened in between.
        """
        started = time.perf_counter()
        conversation_id = await self._store.find_by_desk_chat(event.chat_id)
        if conversation_id is None:
            await self._intake.park(event.chat_id, event.key, desk_update_to_json(event))
            conversation_id = await self._store.find_by_desk_chat(event.chat_id)
            if conversation_id is None:
                log.info("desk_update.parked", chat_id=event.chat_id, kind=type(event).__name__)
                self._meter.webhook("parked")
                return False
            with self._about(conversation_id):
                await self._apply_parked(conversation_id, event.chat_id)
            self._meter.webhook("accepted")
            return True
        with self._about(conversation_id):
            applied = await self._apply_desk_update(conversation_id, event)
        if applied and isinstance(event, AgentMessage):
            self._meter.relayed("agent_message", time.perf_counter() - started)
        return applied

    async def _apply_desk_update(self, conversation_id: str, event: DeskUpdate, *, fill: bool = True) -> bool:
        """Apply one desk update once (its dedupe key is saved with it); False for a duplicate.

        An agent message that overtook earlier ones (its number leaves a hole in the thread) first has
        what it overtook shown, read from LiveChat, so the customer sees agent messages in thread order.
        """
        if await self._intake.seen(event.key):
            log.info("desk_update.duplicate", key=event.key)
            self._meter.webhook("duplicate")
            return False
        conversation = await self._store.load(conversation_id)
        if isinstance(event, AgentMessage):
            if conversation.chat is not None and event.agent_id == conversation.chat.customer_id:
                self._meter.webhook("ignored")
                return False  # the customer's own message, echoed back
            if fill:
                for earlier in await self._effects.missing_before(conversation, event):
                    if isinstance(earlier, AgentMessage):
                        await self._apply_desk_update(conversation_id, earlier, fill=False)
                    else:
                        await self._apply(conversation_id, earlier)
                conversation = await self._store.load(conversation_id)
        event = await self._effects.with_agent_name(conversation, event)
        try:
            await self._apply(conversation_id, event, dedupe_key=event.key)
        except DuplicateEvent:  # the same webhook, applied meanwhile by another request or instance
            log.info("desk_update.duplicate", key=event.key)
            self._meter.webhook("duplicate")
            return False
        self._meter.webhook("accepted")
        return True

    async def _apply_parked(self, conversation_id: str, chat_id: str) -> None:
        for data in await self._intake.unpark(chat_id):
            await self._apply_desk_update(conversation_id, desk_update_from_json(data))

    # --- the loop ----------------------------------------------------------------------------

    async def _has_queued(self, conversation_id: str) -> bool:
        """Whether a message waits that another instance accepted while this one held the lease (alone,
        there is no other instance: this one's own posts wake its worker)."""
        if self._leases.is_alone:
            return False
        return await self._outbox.next_item(conversation_id) is not None

    async def _route_next(self, conversation_id: str) -> float | None:
        """Route the conversation's oldest queued message if it is due: one ``delivery.Step``.

        The caller holds the conversation's outbox lease, so no other worker routes this conversation.
        """
        with self._about(conversation_id):
            item = await self._outbox.next_item(conversation_id)
            if item is None or item.id is None:
                return None
            now = self._clock.now()
            wait = (item.next_attempt_at - now).total_seconds()
            if wait > 0:
                return wait
            if not item.started:
                await self._outbox.mark_started(item.id)
            try:
                due = CustomerMessageDue(item.message_id, item.text, maybe_sent=item.started)
                await self._apply(conversation_id, due)
            except RetryLater as retry:
                return await self._defer(item, retry.reason, retry.retry_after)
            except Exception as exc:
                # A bug or an unexpected upstream answer: keep the message, back off, and let the
                # log say why, rather than blocking the conversation's queue in a tight loop.
                log.error("relay.failed_unexpectedly", error=repr(exc))
                return await self._defer(item, type(exc).__name__, None)
            await self._outbox.finish(item.id)
            self._meter.relayed("customer_message", (self._clock.now() - item.created_at).total_seconds())
            if item.held:
                await self._apply(conversation_id, DeskDelivered(item.message_id))
            return 0.0

    async def _defer(self, item: OutboxItem, reason: str, retry_after: float | None) -> float:
        """Keep ``item`` queued for another attempt, and tell the customer which messages now wait."""
        assert item.id is not None
        delay = self._retry_delay(item.attempts, retry_after)
        next_at = self._clock.now() + timedelta(seconds=delay)
        await self._outbox.reschedule(
            item.id, attempts=item.attempts + 1, next_attempt_at=next_at, error=reason
        )
        log.info("relay.deferred", attempts=item.attempts + 1, why=reason)
        await self._tell_held(item.conversation_id)
        return delay

    async def _tell_held(self, conversation_id: str) -> None:
        """While the head of the conversation's queue is held back, every message queued behind it waits
        too: each is shown as waiting (``message_queued``) once, and as delivered when it arrives.

        Called after a deferral and after each post (a post that lands while the worker defers is told by
        its own call, which reads after its save). Marking is one statement that returns only the messages
        it marked, so two callers at once never tell about one message twice.
        """
        head = await self._outbox.next_item(conversation_id)
        if head is None or head.attempts == 0:
            return
        for message_id in await self._outbox.hold_waiting(conversation_id):
            await self._apply(conversation_id, DeskDeliveryDeferred(message_id))

    async def _apply(
        self,
        conversation_id: str,
        happened: Input,
        *,
        dedupe_key: str | None = None,
        known: Conversation | None = None,
    ) -> None:
        """Decide on ``happened`` and on every input its commands produce: one step each, every step saved
        before its commands run.

        ``known`` is the conversation as the caller last read it; each step hands the conversation it saved
        to the next one. A step decides on that without reading it again; the save's version check finds
        out if it was stale (and a decision that saves nothing is always made on a fresh read).
        """
        pending: list[Input] = [happened]
        while pending:
            step = await self._step(conversation_id, pending.pop(0), dedupe_key, known)
            dedupe_key = None
            if step is None:
                known = None
                continue
            conversation, decision, known = step
            if decision.conversation.state is not conversation.state:
                log.info(
                    "conversation.state_changed",
                    from_state=conversation.state.value,
                    to_state=decision.conversation.state.value,
                )
            new_chat = decision.conversation.chat
            if new_chat is not None and (
                conversation.chat is None or new_chat.chat_id != conversation.chat.chat_id
            ):
                await self._apply_parked(conversation_id, new_chat.chat_id)
            for command in decision.commands:
                outcome = await self._effects.run(decision.conversation, command)
                if outcome is not None:
                    pending.append(outcome)

    async def _step(
        self, conversation_id: str, happened: Input, dedupe_key: str | None, known: Conversation | None = None
    ) -> tuple[Conversation, Decision, Conversation] | None:
        """Load (unless ``known``), decide and save one input. Returns the conversation decided on, the
        decision, and the conversation as now stored; None when the input was ignored. A save that lost a
        race (with another instance, or with a step after ``known`` was read) is decided again."""
        for _ in range(STEP_TRIES):
            async with self._locks.hold(conversation_id):
                fresh = known is None
                conversation = known if known is not None else await self._store.load(conversation_id)
                known = None
                decision = decide(conversation, happened, self._clock.now(), self._options.policy)
                unchanged = decision.conversation == conversation and not (decision.events or decision.outbox)
                if not fresh and (decision.ignored is not None or (unchanged and dedupe_key is None)):
                    continue  # nothing to save would tell whether ``known`` was current: read it
                if decision.ignored is not None:
                    log.info("conversation.input_ignored", why=decision.ignored)
                    return None
                if unchanged and dedupe_key is None:
                    return conversation, decision, conversation
                try:
                    stored = await self._store.save(
                        decision.conversation,
                        decision.events,
                        expected_version=conversation.version,
                        dedupe_key=dedupe_key,
                        enqueue=decision.outbox,
                    )
                except ConcurrentUpdate:
                    log.info("conversation.step_retried", input=type(happened).__name__)
                    continue
            if stored:
                await self._feed.publish(conversation_id, stored[-1].seq)
                self._meter.stored(decision.conversation, stored, self._clock.now())
            saved = replace(
                decision.conversation,
                version=conversation.version + 1,
                last_seq=conversation.last_seq + len(stored),
            )
            return conversation, decision, saved
        raise ConcurrentUpdate("too many concurrent changes", conversation_id=conversation_id)

    # --- waiting for an agent ----------------------------------------------------------------

    async def cancel_handoff(self, conversation_id: str) -> State | None:
        """The customer stops waiting: the new state, or None when no handoff was pending."""
        with self._about(conversation_id):
            before = await self._store.load(conversation_id)
            await self._apply(conversation_id, CancelRequested())
            after = (await self._store.load(conversation_id)).state
        return None if after is before.state else after

    def _watch_waiting(self, conversation_id: str) -> None:
        """Start checking on a chat that waits for an agent after one refresh period: an agent usually joins
        first, and a queue read at once would put a LiveChat call on the handoff's path."""
        delay = self._options.queue_refresh_seconds
        asyncio.get_running_loop().call_later(delay, self._waiting.kick, conversation_id)

    async def _waiting_conversations(self) -> list[str]:
        return await self._store.in_state(State.HANDOFF_REQUESTED)

    async def _check_waiting(self, conversation_id: str) -> float | None:
        """Refresh the queue position and enforce the maximum wait, until an agent joins."""
        with self._about(conversation_id):
            conversation = await self._store.load(conversation_id)
            if conversation.state is not State.HANDOFF_REQUESTED or conversation.agent is not None:
                return None
            await self._apply(conversation_id, WaitCheck(await self._effects.queue(conversation)))
        return self._options.queue_refresh_seconds

    # --- lifecycle -------------------------------------------------------------------------------

    async def start(self, *, single_instance: bool = False) -> None:
        """Resume routing what earlier runs accepted and watching who waits, and keep watching.

        ``single_instance`` (SQLite, which serves one instance) holds a lease for the whole run and warns
        when another instance holds it: several instances need PostgreSQL.
        """
        if single_instance and await self._leases.claim(SINGLE_INSTANCE_LEASE):
            self._leases.alone()
        elif single_instance:
            log.error(
                "instance.not_alone",
                advice="another instance uses this SQLite database (or one stopped less than "
                f"{self._options.lease_seconds:g} s ago); several instances need PostgreSQL "
                "(LIVEHANDOFF_DATABASE_URL=postgresql+asyncpg://…)",
            )
        await self._deliveries.start()
        await self._waiting.start()

    @asynccontextmanager
    async def exclusively(self, key: str) -> AsyncIterator[bool]:
        """Whether this instance took the lease ``key`` (held while the block runs, given back after)."""
        ours = await self._leases.claim(key)
        try:
            yield ours
        finally:
            if ours:
                await self._leases.release(key)

    async def drain(self) -> None:
        """Wait until every message accepted so far has been routed (or is waiting to be retried)."""
        await self._deliveries.drain()

    async def aclose(self) -> None:
        """Stop routing (each worker finishes its step) and give this instance's leases back, so another
        instance takes the work over at once; queued messages stay in the store."""
        await self._deliveries.aclose()
        await self._waiting.aclose()
        await self._leases.aclose()
