"""The customer API: create a conversation, post messages, read its events (JSON and SSE).

Handlers declare what they need (``web/dependencies.py``: the services, the conversation its token opens),
then only parse, hand off to the bridge and answer.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Body, Header, Query
from fastapi.responses import JSONResponse, Response, StreamingResponse
from prometheus_client import Gauge

from livehandoff.bridge import Bridge
from livehandoff.domain.feed import FeedEvent, FeedKind
from livehandoff.domain.model import CustomerProfile
from livehandoff.web.dependencies import AuthorizedConversation, AuthorizedStream, RateLimiterDep, ServicesDep
from livehandoff.web.errors import error_response, rate_limited_response
from livehandoff.web.ratelimit import conversation_budget
from livehandoff.web.schemas import (
    AgentOut,
    ConversationCreated,
    ConversationOut,
    ConversationState,
    CreateConversation,
    Delivered,
    ErrorOut,
    MessageAccepted,
    PostMessage,
)

router = APIRouter(prefix="/v1/conversations", tags=["customer"])

KEEPALIVE_SECONDS = 15.0
QUIET_READS_EVERY = 4
"""A quiet stream reads the store once every this many keep-alives (else only when woken)."""
STREAM_PAGE = 500
"""Feed events read from the store at a time for an event stream."""
IDEMPOTENCY_KEY_MAX = 255
IDEMPOTENCY_KEY_PATTERN = r"^[!-~]+$"
"""Printable ASCII without spaces, as a UUID or any random token is."""
SEQ = re.compile(r"[0-9]+")
"""A ``Last-Event-ID``: ASCII digits only (``str.isdigit`` also takes ``²``, which ``int`` refuses)."""
MAX_SEQ_DIGITS = 19
"""More digits than any seq can have (the store's integers end below 10**19)."""
LIMITS: dict[int | str, dict[str, Any]] = {
    413: {"model": ErrorOut, "description": "Body larger than LIVEHANDOFF_MAX_BODY_BYTES"},
    429: {
        "model": ErrorOut,
        "description": "Too many requests from this client or into this conversation",
        "headers": {"Retry-After": {"description": "Whole seconds to wait", "schema": {"type": "integer"}}},
    },
}
UNREADABLE: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorOut, "description": "The body or a header cannot be read (e.g. not UTF-8)"},
}
CONFLICT: dict[str, Any] = {
    "model": ErrorOut,
    "description": "Nothing to cancel: no agent is being waited for",
}
ERRORS: dict[int | str, dict[str, Any]] = {
    **UNREADABLE,
    401: {"model": ErrorOut, "description": "Missing or wrong token"},
    404: {"model": ErrorOut, "description": "No such conversation"},
    422: {"model": ErrorOut, "description": "Invalid body"},
    **LIMITS,
}


@router.post(
    "",
    status_code=201,
    response_model=ConversationCreated,
    responses={**UNREADABLE, 422: ERRORS[422], **LIMITS},
)
async def create_conversation(
    services: ServicesDep, body: Annotated[CreateConversation | None, Body()] = None
) -> ConversationCreated:
    """Start a conversation with the bot. The returned token opens this conversation only."""
    body = body or CreateConversation()
    customer = body.customer
    conversation, token = await services.bridge.start_conversation(
        language=body.language or services.settings.default_language,
        customer=CustomerProfile(name=customer.name, email=customer.email) if customer else CustomerProfile(),
        page_url=body.page_url,
    )
    return ConversationCreated(id=conversation.id, token=token)


@router.post("/{conversation_id}/messages", status_code=202, response_model=MessageAccepted, responses=ERRORS)
async def post_message(
    conversation: AuthorizedConversation,
    services: ServicesDep,
    limiter: RateLimiterDep,
    body: PostMessage,
    response: Response,
    idempotency_key: Annotated[
        str | None,
        Header(
            min_length=1,
            max_length=IDEMPOTENCY_KEY_MAX,
            pattern=IDEMPOTENCY_KEY_PATTERN,
            description=(
                "A key the client chooses per message (e.g. a UUID) and sends again when it retries a post"
                " whose answer it did not get: the repeat stores nothing and answers with the first"
                " post's id, with `Idempotent-Replayed: true`."
            ),
        ),
    ] = None,
) -> MessageAccepted | JSONResponse:
    """Send the customer's message. It is stored before the 202; the reply arrives as events.

    Only messages that would be stored count against the conversation's budget, and only once the
    token is checked, so someone without the token cannot use it up.
    """
    # ``conversation`` is solved before the body and the headers are validated: a request without the
    # token gets 401 however wrong the rest of it is.
    limit = services.settings.max_message_chars
    if len(body.text) > limit:
        return error_response(422, "validation", f"text is longer than {limit} characters")
    wait = await conversation_budget(limiter, conversation.id, services.settings.rate_limit_per_conversation)
    if wait > 0:
        return rate_limited_response(wait)
    posted = await services.bridge.post_customer_message(
        conversation.id, body.text, idempotency_key=idempotency_key, known=conversation
    )
    if posted.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return MessageAccepted(id=posted.id)


@router.post("/{conversation_id}/delivered", status_code=204, responses=ERRORS)
async def mark_delivered(
    conversation: AuthorizedConversation, services: ServicesDep, body: Delivered
) -> Response:
    """A front end showed the customer every event up to ``seq`` (fulfillment replies then skip them)."""
    await services.bridge.mark_delivered(conversation.id, body.seq)
    return Response(status_code=204)


@router.post(
    "/{conversation_id}/cancel", response_model=ConversationState, responses={**ERRORS, 409: CONFLICT}
)
async def cancel_handoff(
    conversation: AuthorizedConversation, services: ServicesDep
) -> ConversationState | JSONResponse:
    """Stop waiting for an agent: the LiveChat chat is closed and the bot takes over again."""
    state = await services.bridge.cancel_handoff(conversation.id)
    if state is None:
        return error_response(409, "conflict", "there is no pending handoff to cancel")
    return ConversationState(id=conversation.id, state=state.value)


@router.get("/{conversation_id}", response_model=ConversationOut, responses=ERRORS)
async def get_conversation(conversation: AuthorizedConversation, services: ServicesDep) -> ConversationOut:
    """The conversation's state and transcript."""
    events = await services.bridge.events_after(conversation.id, 0)
    return ConversationOut(
        id=conversation.id,
        state=conversation.state.value,
        language=conversation.language,
        agent=AgentOut(name=conversation.agent.name) if conversation.agent else None,
        last_seq=conversation.last_seq,
        transcript=[event.as_json() for event in events if event.kind is FeedKind.MESSAGE],
    )


@router.get(
    "/{conversation_id}/events",
    response_class=StreamingResponse,
    response_model=None,
    responses={
        200: {"content": {"text/event-stream": {}}, "description": "Server-sent events"},
        **ERRORS,
        400: {
            "model": ErrorOut,
            "description": (
                "Last-Event-ID is not a non-negative integer, or it (or `after`) is ahead of the"
                " conversation's last event"
            ),
        },
    },
)
async def stream_events(
    conversation: AuthorizedStream,
    services: ServicesDep,
    last_event_id: Annotated[str | None, Header()] = None,
    after: Annotated[int | None, Query(ge=0, description="Resume after this seq")] = None,
) -> StreamingResponse | JSONResponse:
    """The conversation's events as server-sent events. ``Last-Event-ID`` resumes without gaps or repeats.

    A resume point past the conversation's last event is refused before the stream starts: no event has
    that seq, so a client sending it lost track (or the database was replaced), and a stream from there
    would never show it anything.
    """
    start = _resume_point(last_event_id, after, conversation.last_seq)
    if isinstance(start, str):
        return error_response(400, "bad_request", start)
    return StreamingResponse(
        _sse(services.bridge, conversation.id, start, services.metrics.streams),
        media_type="text/event-stream",
        headers={"cache-control": "no-cache", "x-accel-buffering": "no"},
    )


def _resume_point(last_event_id: str | None, after: int | None, last_seq: int) -> int | str:
    """The seq to stream after, or why the request cannot have a stream."""
    if last_event_id is None:
        start, named = after or 0, "after"
    elif not SEQ.fullmatch(last_event_id):
        return "Last-Event-ID must be a non-negative integer"
    elif len(last_event_id.lstrip("0")) > MAX_SEQ_DIGITS:  # ``int`` would refuse over 4300 digits
        return f"Last-Event-ID is ahead of the conversation: its last event is {last_seq}"
    else:
        start, named = int(last_event_id), "Last-Event-ID"
    if start > last_seq:
        return f"{named} {start} is ahead of the conversation: its last event is {last_seq}"
    return start


async def _sse(bridge: Bridge, conversation_id: str, after: int, open_streams: Gauge) -> AsyncIterator[str]:
    """Replays from the store, then waits for wake-ups. Subscribing before reading means an event
    stored between the read and the wait still wakes us.

    A quiet stream reads the store only when woken: a wake-up is never lost in the process, and the
    instances' feed wakes every stream when its listening connection comes back. As a safety net it reads
    once every ``QUIET_READS_EVERY`` keep-alives too (10,000 idle streams re-reading at every keep-alive
    cost the bridge hundreds of queries a second).
    """
    yield "retry: 2000\n\n"
    open_streams.inc()
    try:
        async with bridge.subscribe(conversation_id) as subscription:
            while True:
                events = await bridge.events_after(conversation_id, after, limit=STREAM_PAGE)
                for event in events:
                    yield _frame(event)
                    after = event.seq
                if events:
                    continue
                for _ in range(QUIET_READS_EVERY):
                    if await subscription.wait(KEEPALIVE_SECONDS):
                        break
                    yield ": keep-alive\n\n"
    finally:
        open_streams.dec()


def _frame(event: FeedEvent) -> str:
    return f"id: {event.seq}\ndata: {json.dumps(event.as_json(), ensure_ascii=False)}\n\n"
