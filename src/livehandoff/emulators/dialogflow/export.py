"""Load a Dialogflow ES "Export as ZIP" file (or the unpacked folder) into an :class:`Agent`.

The export format is documented only by example, so the loader is lenient where real exports differ
(``"type": "0"`` or ``0``, ``speech`` as a list or a single string, an optional top folder inside
the ZIP) and strict where a mistake would silently change behaviour (unparsable JSON, an intent
without a name, phrases whose intent file is missing). Every problem is an :class:`AgentExportError`,
which is a ``ValueError``, naming the file at fault.

File names are derived from display names with unsafe characters replaced, so the intent's ``name``
field is the display name; file stems are only used to pair ``<stem>_usersays_<lang>.json`` with
``<stem>.json``.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Mapping
from pathlib import Path, PurePosixPath
from types import MappingProxyType
from typing import Any

from livehandoff.emulators.dialogflow.model import (
    DEFAULT_ML_MIN_CONFIDENCE,
    NORMAL_PRIORITY,
    Agent,
    Button,
    ContextSpec,
    EntityEntry,
    EntityType,
    Intent,
    IntentParameter,
    MessageKind,
    PhrasePart,
    ResponseMessage,
    TrainingPhrase,
)
from livehandoff.errors import InvalidInput

_USERSAYS = "_usersays_"
_ENTRIES = "_entries_"

#: V1 message ``type`` codes of the Default platform (dialogflow.com message objects).
_MESSAGE_KINDS: Mapping[str, MessageKind] = {
    "0": "text",
    "1": "card",
    "2": "quick_replies",
    "3": "image",
    "4": "payload",
}


class AgentExportError(InvalidInput, ValueError):
    """The export is missing a file, holds invalid JSON, or a record lacks a required field."""


def load_agent(path: str | Path) -> Agent:
    """Read an export ZIP or folder; raises :class:`AgentExportError` (a ``ValueError``)."""
    files = _read_files(Path(path))
    agent_json = _json_object(files, "agent.json")
    language = _language(_text(agent_json.get("language")) or "en")
    intents = _load_intents(files)
    return Agent(
        display_name=_text(agent_json.get("displayName")),
        default_language=language,
        supported_languages=tuple(_language(_text(x)) for x in _list(agent_json.get("supportedLanguages"))),
        ml_min_confidence=_float(agent_json.get("mlMinConfidence"), DEFAULT_ML_MIN_CONFIDENCE),
        time_zone=_text(agent_json.get("defaultTimezone")),
        intents=intents,
        entities=MappingProxyType(_load_entities(files)),
    )


def _read_files(path: Path) -> dict[str, bytes]:
    """All JSON files of the export, keyed by their path relative to the folder holding agent.json."""
    if path.is_dir():
        raw = {p.relative_to(path).as_posix(): p.read_bytes() for p in path.rglob("*.json") if p.is_file()}
    elif path.is_file():
        raw = _read_zip(path)
    else:
        raise AgentExportError(f"agent export {str(path)!r} does not exist")
    roots = sorted(
        (PurePosixPath(name).parent for name in raw if PurePosixPath(name).name == "agent.json"),
        key=lambda root: len(root.parts),
    )
    if not roots:
        raise AgentExportError(f"agent export {str(path)!r} has no agent.json")
    root = roots[0]
    return {
        PurePosixPath(name).relative_to(root).as_posix(): data
        for name, data in raw.items()
        if PurePosixPath(name).is_relative_to(root)
    }


def _read_zip(path: Path) -> dict[str, bytes]:
    try:
        with zipfile.ZipFile(path) as archive:
            return {
                info.filename: archive.read(info)
                for info in archive.infolist()
                if not info.is_dir() and info.filename.endswith(".json")
            }
    except zipfile.BadZipFile as exc:
        raise AgentExportError(f"agent export {str(path)!r} is neither a folder nor a ZIP file") from exc


def _json(files: Mapping[str, bytes], name: str) -> Any:
    try:
        return json.loads(files[name].decode("utf-8-sig"))
    except KeyError:
        raise AgentExportError(f"agent export has no {name}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise AgentExportError(f"{name} is not valid JSON: {exc}") from exc


def _json_object(files: Mapping[str, bytes], name: str) -> dict[str, Any]:
    data = _json(files, name)
    if not isinstance(data, dict):
        raise AgentExportError(f"{name} must hold a JSON object")
    return data


def _json_list(files: Mapping[str, bytes], name: str) -> list[Any]:
    data = _json(files, name)
    if not isinstance(data, list):
        raise AgentExportError(f"{name} must hold a JSON array")
    return data


def _load_intents(files: Mapping[str, bytes]) -> tuple[Intent, ...]:
    stems = sorted(
        name[len("intents/") : -len(".json")]
        for name in files
        if name.startswith("intents/") and name.count("/") == 1 and _USERSAYS not in name
    )
    phrases = _load_phrases(files, set(stems))
    return tuple(_intent(files, stem, phrases.get(stem, {})) for stem in stems)


def _load_phrases(
    files: Mapping[str, bytes], stems: set[str]
) -> dict[str, dict[str, tuple[TrainingPhrase, ...]]]:
    found: dict[str, dict[str, tuple[TrainingPhrase, ...]]] = {}
    for name in sorted(files):
        if not (name.startswith("intents/") and _USERSAYS in name):
            continue
        stem, _, lang = name[len("intents/") : -len(".json")].rpartition(_USERSAYS)
        if stem not in stems:
            raise AgentExportError(f"{name} has no intent file intents/{stem}.json")
        language = _language(lang)
        found.setdefault(stem, {})[language] = tuple(
            _phrase(item, language, name) for item in _json_list(files, name)
        )
    return found


def _phrase(item: object, language: str, name: str) -> TrainingPhrase:
    if not isinstance(item, dict) or not isinstance(item.get("data"), list):
        raise AgentExportError(f"{name}: every training phrase needs a 'data' list")
    parts = tuple(
        PhrasePart(
            text=_text(part.get("text")),
            entity_type=_text(part.get("meta")) or None,
            alias=_text(part.get("alias")) or None,
        )
        for part in item["data"]
        if isinstance(part, dict)
    )
    return TrainingPhrase(parts=parts, language=language)


def _intent(files: Mapping[str, bytes], stem: str, phrases: dict[str, tuple[TrainingPhrase, ...]]) -> Intent:
    name = f"intents/{stem}.json"
    data = _json_object(files, name)
    display_name = _text(data.get("name"))
    if not display_name:
        raise AgentExportError(f"{name} has no 'name'")
    responses = _list(data.get("responses"))
    response: dict[str, Any] = responses[0] if responses and isinstance(responses[0], dict) else {}
    return Intent(
        id=_text(data.get("id")) or display_name,
        display_name=display_name,
        action=_text(response.get("action")),
        input_contexts=tuple(_text(c).lower() for c in _list(data.get("contexts")) if _text(c)),
        output_contexts=tuple(
            _context(c) for c in _list(response.get("affectedContexts")) if isinstance(c, dict)
        ),
        reset_contexts=bool(response.get("resetContexts", False)),
        events=tuple(_text(e.get("name")) for e in _list(data.get("events")) if isinstance(e, dict)),
        parameters=tuple(_parameter(p) for p in _list(response.get("parameters")) if isinstance(p, dict)),
        messages=tuple(m for m in map(_message, _list(response.get("messages"))) if m is not None),
        phrases=MappingProxyType(phrases),
        priority=int(_float(data.get("priority"), NORMAL_PRIORITY)),
        is_fallback=bool(data.get("fallbackIntent", False)),
        ml_enabled=bool(data.get("auto", True)),
        live_agent_handoff=bool(data.get("liveAgentHandoff", False)),
        end_interaction=bool(data.get("endInteraction", False)),
        webhook_used=bool(data.get("webhookUsed", False)),
    )


def _context(data: dict[str, Any]) -> ContextSpec:
    params = data.get("parameters")
    return ContextSpec(
        name=_text(data.get("name")).lower(),
        lifespan=int(_float(data.get("lifespan"), 5)),
        parameters=MappingProxyType(dict(params) if isinstance(params, dict) else {}),
    )


def _parameter(data: dict[str, Any]) -> IntentParameter:
    name = _text(data.get("name"))
    return IntentParameter(
        name=name,
        entity_type=_text(data.get("dataType")),
        value=_text(data.get("value")) or f"${name}",
        default_value=_text(data.get("defaultValue")),
        required=bool(data.get("required", False)),
        is_list=bool(data.get("isList", False)),
        prompts=tuple(
            (_language(_text(p.get("lang"))), _text(p.get("value")))
            for p in _list(data.get("prompts"))
            if isinstance(p, dict) and _text(p.get("value"))
        ),
    )


def _message(data: object) -> ResponseMessage | None:
    """One V1 message object; ``None`` for kinds the v2 Default platform cannot carry."""
    if not isinstance(data, dict):
        return None
    kind = _MESSAGE_KINDS.get(str(data.get("type", "")))
    if kind is None:
        return None
    speech = data.get("speech", [])
    texts = tuple(_text(s) for s in ([speech] if isinstance(speech, str) else _list(speech)) if _text(s))
    if kind == "text" and not texts:
        return None
    payload = data.get("payload")
    return ResponseMessage(
        kind=kind,
        language=_language(_text(data.get("lang"))),
        platform=_text(data.get("platform")),
        texts=texts,
        title=_text(data.get("title")),
        subtitle=_text(data.get("subtitle")),
        image_uri=_text(data.get("imageUrl")),
        buttons=tuple(
            Button(text=_text(b.get("text")), postback=_text(b.get("postback")))
            for b in _list(data.get("buttons"))
            if isinstance(b, dict)
        ),
        replies=tuple(_text(r) for r in _list(data.get("replies"))),
        payload=MappingProxyType(dict(payload) if isinstance(payload, dict) else {}),
    )


def _load_entities(files: Mapping[str, bytes]) -> dict[str, EntityType]:
    entities: dict[str, EntityType] = {}
    for name in sorted(files):
        if not name.startswith("entities/") or _ENTRIES in name or name.count("/") != 1:
            continue
        stem = name[len("entities/") : -len(".json")]
        data = _json_object(files, name)
        entity_name = _text(data.get("name")) or stem
        entries = {
            _language(other[len(f"entities/{stem}{_ENTRIES}") : -len(".json")]): _entries(files, other)
            for other in sorted(files)
            if other.startswith(f"entities/{stem}{_ENTRIES}")
        }
        entities[entity_name] = EntityType(
            name=entity_name,
            entries=MappingProxyType(entries),
            is_regexp=bool(data.get("isRegexp", False)),
            is_enum=bool(data.get("isEnum", False)),
        )
    return entities


def _entries(files: Mapping[str, bytes], name: str) -> tuple[EntityEntry, ...]:
    entries = []
    for item in _json_list(files, name):
        if not isinstance(item, dict) or not _text(item.get("value")):
            raise AgentExportError(f"{name}: every entry needs a 'value'")
        value = _text(item["value"])
        synonyms = tuple(_text(s) for s in _list(item.get("synonyms")) if _text(s)) or (value,)
        entries.append(EntityEntry(value=value, synonyms=synonyms))
    return tuple(entries)


def _language(tag: str) -> str:
    return tag.strip().lower().replace("_", "-")


def _text(value: object) -> str:
    return value if isinstance(value, str) else "" if value is None else str(value)


def _list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def _float(value: object, default: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return default
    try:
        return float(value)
    except ValueError:
        return default


__all__ = ["AgentExportError", "load_agent"]
