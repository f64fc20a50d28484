"""Loading ES exports: the demo folder, the real ZIPs, and broken exports."""

from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path

import pytest

from livehandoff.demo import demo_agent_path
from livehandoff.emulators.dialogflow import Agent, AgentExportError, load_agent
from livehandoff.errors import InvalidInput


def test_demo_agent_has_the_intents_the_bridge_relies_on(demo_agent: Agent) -> None:
    names = {intent.display_name for intent in demo_agent.intents}
    assert {
        "Default Welcome Intent",
        "Default Fallback Intent",
        "human.handoff",
        "livehandoff.ended",
    } <= names
    assert demo_agent.languages == ("en", "de")
    handoff = demo_agent.intent("human.handoff")
    assert handoff.live_agent_handoff
    assert handoff.action == "handoff"
    assert demo_agent.intent("livehandoff.ended").events == ("LIVEHANDOFF_ENDED",)
    assert demo_agent.intent("Default Welcome Intent").events == ("WELCOME",)
    fallback = demo_agent.intent("Default Fallback Intent")
    assert fallback.is_fallback
    assert fallback.action == "input.unknown"


def test_demo_agent_has_phrases_and_messages_in_both_languages(demo_agent: Agent) -> None:
    for intent in demo_agent.intents:
        languages = {message.language for message in intent.messages}
        assert languages == {"en", "de"}, intent.display_name
        if not intent.events and not intent.is_fallback:
            assert set(intent.phrases) == {"en", "de"}, intent.display_name


def test_demo_welcome_offers_quick_replies(demo_agent: Agent) -> None:
    welcome = demo_agent.intent("Default Welcome Intent")
    replies = [m for m in welcome.messages if m.kind == "quick_replies" and m.language == "en"]
    assert "Talk to a person" in replies[0].replies


def test_annotated_phrase_parts_are_kept(demo_agent: Agent) -> None:
    phrases = demo_agent.intent("order.status").phrases["en"]
    first = phrases[0]
    assert first.text == "where is my order 12345"
    assert [(p.text, p.entity_type, p.alias) for p in first.parts if p.is_annotated] == [
        ("12345", "@sys.number", "order_number")
    ]


def test_support_zip(support_agent: Agent) -> None:
    assert len(support_agent.intents) == 22
    assert support_agent.default_language == "en"
    assert "de" in support_agent.languages
    assert support_agent.ml_min_confidence == pytest.approx(0.3)
    assert sum(len(i.phrases.get("en", ())) for i in support_agent.intents) == 408
    live_agent = support_agent.intent("support.live_agent")
    assert live_agent.action == "support.live_agent"
    assert live_agent.parameters[0].required
    media = support_agent.entities["media"]
    assert any(entry.value == "Facebook" for entry in media.entries["en"])
    follow_up = support_agent.intent("support.contacts - context:support-contacts - comment:email")
    assert follow_up.input_contexts == ("support-contacts",)


def test_support_zip_keeps_platform_messages_apart(support_agent: Agent) -> None:
    offers = support_agent.intent("support.special_offers")
    assert {(m.kind, m.platform) for m in offers.messages if m.language == "en"} == {
        ("text", ""),
        ("card", "slack"),
    }


def test_small_talk_zip(small_talk_agent: Agent) -> None:
    assert len(small_talk_agent.intents) == 87
    assert small_talk_agent.ml_min_confidence == pytest.approx(0.6)
    assert "en-gb" in small_talk_agent.languages
    assert small_talk_agent.intent("smalltalk.greetings.bye").end_interaction


def test_zip_with_a_top_folder_loads_like_the_folder(tmp_path: Path, demo_agent: Agent) -> None:
    archive = tmp_path / "demo.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        for path in demo_agent_path().rglob("*.json"):
            zipped.write(path, f"livehandoff-demo/{path.relative_to(demo_agent_path()).as_posix()}")
    assert load_agent(archive) == demo_agent


def copy_demo(tmp_path: Path) -> Path:
    target = tmp_path / "agent"
    shutil.copytree(demo_agent_path(), target)
    return target


def test_missing_path(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="does not exist"):
        load_agent(tmp_path / "nothing.zip")


def test_not_a_zip(tmp_path: Path) -> None:
    path = tmp_path / "agent.zip"
    path.write_text("not a zip")
    with pytest.raises(ValueError, match="neither a folder nor a ZIP"):
        load_agent(path)


def test_no_agent_json(tmp_path: Path) -> None:
    folder = copy_demo(tmp_path)
    (folder / "agent.json").unlink()
    with pytest.raises(ValueError, match=r"no agent\.json"):
        load_agent(folder)


def test_invalid_json_names_the_file(tmp_path: Path) -> None:
    folder = copy_demo(tmp_path)
    (folder / "intents" / "faq.shipping.json").write_text("{oops")
    with pytest.raises(ValueError, match=r"intents/faq\.shipping\.json is not valid JSON"):
        load_agent(folder)


def test_intent_without_name(tmp_path: Path) -> None:
    folder = copy_demo(tmp_path)
    path = folder / "intents" / "faq.returns.json"
    data = json.loads(path.read_text())
    del data["name"]
    path.write_text(json.dumps(data))
    with pytest.raises(ValueError, match="has no 'name'"):
        load_agent(folder)


def test_phrases_without_their_intent(tmp_path: Path) -> None:
    folder = copy_demo(tmp_path)
    (folder / "intents" / "faq.returns.json").unlink()
    with pytest.raises(ValueError, match="has no intent file"):
        load_agent(folder)


def test_export_error_is_also_an_invalid_input(tmp_path: Path) -> None:
    with pytest.raises(AgentExportError) as caught:
        load_agent(tmp_path / "missing")
    assert isinstance(caught.value, InvalidInput)
