"""One detectIntent turn: validate the request, match, update the session, build the response.

Request rules that Google enforces and the emulator copies, so a bridge that passes here will not
be refused by the real service: the session id is at most 36 characters (``session.proto``), text
input is at most 256 characters (error text as Google words it: "Input text exceeds 256
characters."), ``languageCode`` is required for text and events. Audio input is not emulated.

Languages: an exact agent language wins (``en-us``), then the base language (``en`` for ``en-GB``),
then any agent language with the same base; an unsupported language falls back to the agent's
default language rather than failing, so a bridge's language code never breaks a local demo.

Event queries report the event name as ``queryText``; the event's parameters fill ``$name``
parameters of the intent and ``#event_name.name`` references, as the ``EventInput`` docs describe.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field

from google.cloud.dialogflow_v2 import types

from livehandoff.emulators.dialogflow.matcher import Match, Matcher
from livehandoff.emulators.dialogflow.model import Agent, Intent, JsonValue
from livehandoff.emulators.dialogflow.responses import TurnOutcome, build_response, choose_variant
from livehandoff.emulators.dialogflow.sessions import (
    SessionState,
    SessionStore,
    begin_turn,
    context_id,
    end_turn,
)
from livehandoff.emulators.dialogflow.slotfilling import PendingSlots, alias, answer, is_cancel, next_prompt

MAX_TEXT_LENGTH = 256
MAX_SESSION_ID_LENGTH = 36

#: The four session name patterns of ``session.proto`` (with or without location and environment).
SESSION_PATTERN = (
    r"(?P<agent>projects/[^/]+(?:/locations/[^/]+)?/agent)"
    r"(?:/environments/[^/]+/users/[^/]+)?/sessions/(?P<id>[^/:]+)"
)
_SESSION = re.compile(f"^{SESSION_PATTERN}$")

References = Mapping[str, Mapping[str, JsonValue]]


class DetectIntentError(Exception):
    """A request Google would refuse; ``code``/``status`` follow ``google.rpc.Code``."""

    def __init__(self, message: str, *, code: int = 400, status: str = "INVALID_ARGUMENT") -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status


def checked_text(text: str) -> str:
    """A text query as Dialogflow accepts it: not blank, at most ``MAX_TEXT_LENGTH`` characters."""
    if not text.strip():
        raise DetectIntentError("Input text not set.")
    if len(text) > MAX_TEXT_LENGTH:
        raise DetectIntentError(f"Input text exceeds {MAX_TEXT_LENGTH} characters.")
    return text


@dataclass(frozen=True, slots=True)
class _Query:
    text: str
    language: str
    event: str | None = None
    event_parameters: Mapping[str, JsonValue] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class _Turn:
    """What matching decided, before contexts and the response are worked out."""

    match: Match
    cancels: bool = False


class Emulator:
    """An agent's matcher plus its in-memory sessions."""

    def __init__(
        self, agent: Agent, *, threshold: float | None = None, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.agent = agent
        self.matcher = Matcher(agent, threshold=threshold)
        self.sessions = SessionStore(clock=clock)

    def detect_intent(self, session: str, request: types.DetectIntentRequest) -> types.DetectIntentResponse:
        """Run one turn of ``session`` (a full session path)."""
        agent_path = session_agent(session)
        query = self._query(request.query_input)
        state = self.sessions.load(session)
        params = request.query_params
        contexts = begin_turn(
            state.contexts,
            reset=params.reset_contexts,
            supplied=[
                (context_id(c.name), c.lifespan_count, plain_map(c.parameters)) for c in params.contexts
            ],
        )
        references: dict[str, Mapping[str, JsonValue]] = {n: c.parameters for n, c in contexts.items()}
        if query.event is not None:
            references[query.event.lower()] = query.event_parameters
        turn = self._match(query, state, set(contexts))
        values, originals = _parameters(turn.match, references)
        prompt = None if turn.match.intent is None else self._prompt(turn.match, values, query.language)
        pending = None if prompt is None else prompt[1]
        context_values = {**values, **{f"{k}.original": v for k, v in originals.items()}}
        after = end_turn(contexts, None if pending else turn.match.intent, context_values)
        number = state.turns + 1
        self.sessions.save(session, after, number, pending)
        outcome = TurnOutcome(
            session=session,
            agent_path=agent_path,
            turn=number,
            query_text=query.text,
            language=query.language,
            intent=turn.match.intent,
            confidence=turn.match.confidence,
            parameters=values,
            originals=originals,
            all_required_present=_required_present(turn.match.intent, values),
            contexts=after,
            references=references,
            prompt=None if prompt is None else choose_variant(prompt[0], session, number, 0),
            cancels_slot_filling=turn.cancels,
        )
        return build_response(self.agent, outcome)

    def _match(self, query: _Query, state: SessionState, contexts: Collection[str]) -> _Turn:
        if query.event is not None:
            found = self.matcher.match_event(query.event, contexts)
            return _Turn(Match(found.intent, found.confidence, query.event_parameters))
        pending = _pending_intent(self.agent, state.pending)
        if pending is not None and state.pending is not None:
            if is_cancel(query.text):
                return _Turn(Match(None, 1.0), cancels=True)
            return _Turn(self._continue(pending, state.pending, query))
        return _Turn(self.matcher.match_text(query.text, query.language, contexts))

    def _continue(self, intent: Intent, pending: PendingSlots, query: _Query) -> Match:
        found, originals = dict(pending.found), dict(pending.originals)
        parameter = next((p for p in intent.parameters if p.name == pending.asking), None)
        if parameter is not None:
            recognizer = self.matcher.index(query.language).recognizer
            reply = answer(parameter, query.text, recognizer)
            if reply is not None:
                found[alias(parameter)], originals[alias(parameter)] = reply
        return Match(intent, 1.0, found, originals)

    def _prompt(
        self, match: Match, values: Mapping[str, JsonValue], language: str
    ) -> tuple[tuple[str, ...], PendingSlots] | None:
        assert match.intent is not None
        asked = next_prompt(match.intent, values, language, self.agent.default_language)
        if asked is None:
            return None
        parameter, prompts = asked
        pending = PendingSlots(match.intent.id, parameter.name, dict(match.parameters), dict(match.originals))
        return prompts, pending

    def _query(self, query_input: types.QueryInput) -> _Query:
        which = types.QueryInput.pb(query_input).WhichOneof("input")
        if which == "text":
            text = checked_text(query_input.text.text)
            return _Query(text, self._language(query_input.text.language_code))
        if which == "event":
            event = query_input.event
            if not event.name:
                raise DetectIntentError("Event name not set.")
            return _Query(
                event.name, self._language(event.language_code), event.name, plain_map(event.parameters)
            )
        if which == "audio_config":
            raise DetectIntentError(
                "Audio input is not supported by the emulator.", code=501, status="UNIMPLEMENTED"
            )
        raise DetectIntentError("Query input not set: send queryInput.text or queryInput.event.")

    def _language(self, code: str) -> str:
        if not code.strip():
            raise DetectIntentError("Language code not set: the query input needs a languageCode.")
        return resolve_language(self.agent, code)


def resolve_language(agent: Agent, code: str) -> str:
    """The agent language that serves ``code`` (see the module docstring for the order)."""
    tag = code.strip().lower().replace("_", "-")
    base = tag.split("-")[0]
    for candidate in (tag, base):
        if candidate in agent.languages:
            return candidate
    same_base = [lang for lang in agent.languages if lang.split("-")[0] == base]
    return same_base[0] if same_base else agent.default_language


def plain(value: object) -> JsonValue:
    """A Struct value from proto-plus (``MapComposite``/``RepeatedComposite``) as plain JSON data."""
    if value is None or isinstance(value, str | bool | int | float):
        return value
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if hasattr(value, "__iter__"):
        return [plain(item) for item in value]
    return str(value)


def plain_map(value: object) -> dict[str, JsonValue]:
    converted = plain(value)
    return converted if isinstance(converted, dict) else {}


def session_agent(session: str, pattern: re.Pattern[str] = _SESSION) -> str:
    """The agent part of a session name matching ``pattern`` (with groups ``agent`` and ``id``)."""
    path = pattern.match(session)
    if path is None:
        raise DetectIntentError(f"Session path {session!r} is not a valid session name.")
    if len(path.group("id")) > MAX_SESSION_ID_LENGTH:
        raise DetectIntentError(f"Session ID must not exceed {MAX_SESSION_ID_LENGTH} characters.")
    return path.group("agent")


def _pending_intent(agent: Agent, pending: PendingSlots | None) -> Intent | None:
    if pending is None:
        return None
    return next((i for i in agent.intents if i.id == pending.intent_id and not i.is_disabled), None)


def _parameters(match: Match, references: References) -> tuple[dict[str, JsonValue], dict[str, JsonValue]]:
    """The intent's parameters: ``$alias`` from the text, ``#context.param`` from contexts/event."""
    values: dict[str, JsonValue] = {}
    originals: dict[str, JsonValue] = {}
    if match.intent is None:
        return values, originals
    for parameter in match.intent.parameters:
        value = _resolve(parameter.value, match.parameters, references)
        if value in (None, "", []) and parameter.default_value:
            value = _resolve(parameter.default_value, match.parameters, references)
        if value is None:
            value = [] if parameter.is_list else ""
        values[parameter.name] = value
        originals[parameter.name] = match.originals.get(
            alias(parameter), value if isinstance(value, str) else ""
        )
    return values, originals


def _resolve(expression: str, found: Mapping[str, JsonValue], references: References) -> JsonValue:
    if expression.startswith("$"):
        return found.get(expression[1:])
    if expression.startswith("#") and "." in expression:
        context, _, name = expression[1:].partition(".")
        return references.get(context.lower(), {}).get(name)
    return expression


def _required_present(intent: Intent | None, values: Mapping[str, JsonValue]) -> bool:
    if intent is None:
        return True
    return all(values.get(p.name) not in (None, "", []) for p in intent.parameters if p.required)


__all__ = ["DetectIntentError", "Emulator", "resolve_language"]
