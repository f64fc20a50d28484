"""The project's own demo: a small shop's FAQ bot as a Dialogflow ES export folder.

``agent/`` has the layout of the console's "Export as ZIP" (``agent.json``, ``intents/``,
``entities/``), so the Dialogflow emulator serves it as it would any real export, and it can be
zipped and imported ("Restore from ZIP") into a real Dialogflow ES agent. It speaks English (default)
and German, hands over to a person with the ``human.handoff`` intent (``liveAgentHandoff: true``)
and greets the customer again when the bridge sends the ``LIVEHANDOFF_ENDED`` event.
"""

from __future__ import annotations

from pathlib import Path

_AGENT = Path(__file__).resolve().parent / "agent"


def demo_agent_path() -> Path:
    """The folder holding the demo agent export."""
    return _AGENT


__all__ = ["demo_agent_path"]
