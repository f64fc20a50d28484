"""One CX detectIntent turn: validate the request, detect, run routes and handlers, answer.

What a turn does, in the order CX documents for its state handlers (as far as the emulator models
them; see ``definition.py`` for what an agent can express):

1. ``queryParams.parameters`` become session parameters before anything else (``null`` removes one);
   that is how a caller passes event parameters, which CX's ``EventInput`` cannot carry.
2. A text query is matched against the intents of the routes in scope (``matching.py``); the route
   is looked up on the current page first, then in the flow. The intent's parameters are readable as
   ``$intent.params.<id>`` and are copied into the session parameters ("all parameters collected from
   forms and intents during the session", ``SessionInfo`` docs). When no in-scope intent matches,
   the ``sys.no-match-default`` handler runs (page first, then flow) and ``matchType`` is
   ``NO_MATCH``; without a handler the turn says nothing.
3. An event query runs the handler of that event on the current page, else in the flow
   (``matchType`` ``EVENT``); an event nobody handles says nothing.
4. A route or handler runs its fulfillment (presets, then messages, ``HANDLER_PROMPT``), then its
   transition; arriving on a page runs the page's entry fulfillment (``ENTRY_PROMPT``).
   ``END_SESSION`` and ``END_FLOW`` (the only flow is the start flow) end the session: the answer
   ends with one ``endInteraction`` and the next query starts afresh. An authored ``endInteraction``
   message does the same.

Request rules Google enforces and the emulator copies: session ids of at most 36 characters, text of
at most 256 characters, a ``languageCode`` on every query input. Audio, DTMF, intent and tool-call
inputs are not emulated (``UNIMPLEMENTED``). A language other than the agent's is answered in the
agent's language rather than refused, so a bridge's language code never breaks a local demo.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from google.cloud.dialogflowcx_v3 import types

from livehandoff.emulators.dialogflow.cx.matching import IntentMatch, ScopedMatcher
from livehandoff.emulators.dialogflow.cx.model import (
    CURRENT_PAGE,
    END_FLOW,
    END_SESSION,
    NO_MATCH_EVENT,
    PREVIOUS_PAGE,
    START_PAGE,
    CxAgent,
    EventHandler,
    Fulfillment,
    Page,
    Route,
)
from livehandoff.emulators.dialogflow.cx.render import References, Seed, end_interaction, render, resolve
from livehandoff.emulators.dialogflow.cx.responses import CxOutcome, build_response
from livehandoff.emulators.dialogflow.cx.sessions import CxSession, CxSessionStore
from livehandoff.emulators.dialogflow.engine import DetectIntentError, checked_text, plain_map, session_agent
from livehandoff.emulators.dialogflow.model import JsonValue

#: The two session name patterns of the CX ``Sessions`` service (draft agent or an environment).
SESSION_PATTERN = (
    r"(?P<agent>projects/[^/]+/locations/[^/]+/agents/[^/]+)"
    r"(?:/environments/[^/]+)?/sessions/(?P<id>[^/:]+)"
)
_SESSION = re.compile(f"^{SESSION_PATTERN}$")

MatchType = types.Match.MatchType
ResponseType = types.ResponseMessage.ResponseType


@dataclass(frozen=True, slots=True)
class _Query:
    language: str
    text: str | None = None
    event: str | None = None


@dataclass(slots=True)
class _Turn:
    """The session as one turn changes it, and the messages it has produced so far."""

    agent: CxAgent
    session: str
    number: int
    page: Page | None
    previous: Page | None
    parameters: dict[str, JsonValue]
    intent_parameters: Mapping[str, JsonValue] = field(default_factory=dict)
    originals: Mapping[str, JsonValue] = field(default_factory=dict)
    messages: list[types.ResponseMessage] = field(default_factory=list)
    ended: bool = False

    def fulfill(self, fulfillment: Fulfillment, response_type: int) -> None:
        """Presets first, so the messages of the same fulfillment already see their values."""
        for action in fulfillment.set_parameters:
            value = resolve(action.value, self._references())
            if value is None:
                self.parameters.pop(action.parameter, None)
            else:
                self.parameters[action.parameter] = value
        for message in fulfillment.messages:
            if message.kind == "endInteraction":
                self.ended = True
                continue
            seed = Seed(self.session, self.number, len(self.messages))
            self.messages.append(render(message, self._references(), seed, response_type))

    def transition(self, target: str | None) -> None:
        if target in (None, CURRENT_PAGE) or self.ended:
            return
        if target in (END_SESSION, END_FLOW):
            self.ended = True
        elif target == START_PAGE:
            self._enter(None)
        elif target == PREVIOUS_PAGE:
            self._enter(self.previous)
        else:
            self._enter(self.agent.flow.page(str(target)))

    def finish(self) -> CxSession:
        """The session to keep: a fresh one after ``END_SESSION``."""
        if self.ended:
            self.messages.append(end_interaction())
            return CxSession(turns=self.number)
        return CxSession(
            page=None if self.page is None else self.page.display_name,
            previous_page=None if self.previous is None else self.previous.display_name,
            parameters=dict(self.parameters),
            turns=self.number,
        )

    def _enter(self, page: Page | None) -> None:
        self.previous, self.page = self.page, page
        if page is not None:
            self.fulfill(page.entry, ResponseType.ENTRY_PROMPT)

    def _references(self) -> References:
        return References(self.parameters, self.intent_parameters, self.originals)


class CxEmulator:
    """A scripted CX agent plus its in-memory sessions."""

    def __init__(self, agent: CxAgent, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.agent = agent
        self.matcher = ScopedMatcher(agent)
        self.sessions = CxSessionStore(clock=clock)

    def detect_intent(self, session: str, request: types.DetectIntentRequest) -> types.DetectIntentResponse:
        """Run one turn of ``session`` (a full session path)."""
        agent_path = session_agent(session, _SESSION)
        query = self._query(request.query_input)
        turn = self._begin(session, request.query_params)
        match = IntentMatch(None)
        if query.event is not None:
            match_type = MatchType.EVENT
            self._handle(turn, query.event)
        else:
            match = self.matcher.match(str(query.text), turn.page)
            match_type = MatchType.INTENT if match.intent is not None else MatchType.NO_MATCH
            if match.intent is not None:
                self._route(turn, match)
            else:
                self._handle(turn, NO_MATCH_EVENT)
        parameters = dict(turn.parameters)
        self.sessions.save(session, turn.finish())
        outcome = CxOutcome(
            agent_path=agent_path,
            session=session,
            turn=turn.number,
            language=query.language,
            text=query.text,
            event=query.event,
            match_type=match_type,
            intent=match.intent,
            confidence=match.confidence,
            intent_parameters=match.parameters,
            parameters=parameters,
            messages=tuple(turn.messages),
            page=None if turn.ended else turn.page,
            ended=turn.ended,
            flow_name=self.agent.flow.display_name,
        )
        return build_response(outcome)

    def _begin(self, session: str, params: types.QueryParameters) -> _Turn:
        state = self.sessions.load(session)
        parameters = dict(state.parameters)
        for name, value in plain_map(params.parameters).items():
            if value is None:
                parameters.pop(name, None)
            else:
                parameters[name] = value
        return _Turn(
            agent=self.agent,
            session=session,
            number=state.turns + 1,
            page=self._page(state.page),
            previous=self._page(state.previous_page),
            parameters=parameters,
        )

    def _route(self, turn: _Turn, match: IntentMatch) -> None:
        assert match.intent is not None
        route = _find_route(self.agent, turn.page, match.intent.display_name)
        turn.intent_parameters, turn.originals = match.parameters, match.originals
        turn.parameters.update(match.parameters)
        turn.fulfill(route.fulfillment, ResponseType.HANDLER_PROMPT)
        turn.transition(route.target)

    def _handle(self, turn: _Turn, event: str) -> None:
        handler = _find_handler(self.agent, turn.page, event)
        if handler is not None:
            turn.fulfill(handler.fulfillment, ResponseType.HANDLER_PROMPT)
            turn.transition(handler.target)

    def _page(self, name: str | None) -> Page | None:
        if name is None:
            return None
        try:
            return self.agent.flow.page(name)
        except KeyError:
            return None

    def _query(self, query_input: types.QueryInput) -> _Query:
        which = types.QueryInput.pb(query_input).WhichOneof("input")
        if which == "text":
            text = checked_text(query_input.text.text)
            return _Query(self._language(query_input.language_code), text=text)
        if which == "event":
            if not query_input.event.event.strip():
                raise DetectIntentError("Event name not set.")
            return _Query(self._language(query_input.language_code), event=query_input.event.event)
        if which is not None:
            raise DetectIntentError(
                f"Query input {which!r} is not supported by the emulator.", code=501, status="UNIMPLEMENTED"
            )
        raise DetectIntentError("Query input not set: send queryInput.text or queryInput.event.")

    def _language(self, code: str) -> str:
        code = code.strip()
        if not code:
            raise DetectIntentError("Language code not set: the query input needs a languageCode.")
        same_base = code.lower().replace("_", "-").split("-")[0] == self.agent.language.split("-")[0]
        return code if same_base else self.agent.language


def _find_route(agent: CxAgent, page: Page | None, intent: str) -> Route:
    """The page's route for ``intent`` wins over the flow's (the matcher only offers in-scope intents)."""
    routes = [*(page.routes if page is not None else ()), *agent.flow.routes]
    return next(route for route in routes if route.intent == intent)


def _find_handler(agent: CxAgent, page: Page | None, event: str) -> EventHandler | None:
    handlers = [*(page.handlers if page is not None else ()), *agent.flow.handlers]
    return next((handler for handler in handlers if handler.event == event), None)


__all__ = ["SESSION_PATTERN", "CxEmulator"]
