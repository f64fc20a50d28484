"""The project's own demo: a small shop's FAQ bot as a Dialogflow ES export folder.

``agent/`` has the layout of the console's "Export as ZIP" (``agent.json``, ``intents/``,
``entities/``), so the Dialogflow emulator serves it as it would any real export, and it can be
zipped and imported ("Restore from ZIP") into a real Dialogflow ES agent. It speaks English (default)
and German, hands over to a person with the ``human.handoff`` intent (``liveAgentHandoff: true``)
and greets the customer again when the bridge sends the ``LIVEHANDOFF_ENDED`` event.

``cx_agent.json`` is the same shop as a scripted Dialogflow CX agent for the CX emulator
(``livehandoff.emulators.dialogflow.cx``): its handoff route answers with a ``liveAgentHandoff``
message whose metadata names the LiveChat group and the reason.
"""

from __future__ import annotations

from pathlib import Path

_AGENT = Path(__file__).resolve().parent / "agent"
_CX_AGENT = Path(__file__).resolve().parent / "cx_agent.json"


def demo_agent_path() -> Path:
    """The folder holding the demo agent export."""
    return _AGENT


def demo_cx_agent_path() -> Path:
    """The demo's CX agent definition file."""
    return _CX_AGENT


__all__ = ["demo_agent_path", "demo_cx_agent_path"]
