"""A local stand-in for Dialogflow CX: detectIntent over REST, answered from a scripted agent.

CX agents are flows of pages, and a CX export is a tree of many files; a scenario test needs far
less. So the CX mode reads one JSON *agent definition* (format in ``definition.py``): intents with
training phrases, one flow with routes and event handlers, pages with entry fulfillments, and
fulfillment messages (text, custom payload, ``liveAgentHandoff`` with metadata, ``endInteraction``)
with session-parameter presets. It answers ``POST /v3/{session}:detectIntent`` with JSON the official
``google-cloud-dialogflow-cx`` client parses::

    agent = load_cx_agent("cx_agent.json")
    app = create_cx_app(agent)            # a Starlette app; no lifespan needed

Intent detection reuses the ES emulator's matcher over the intents in scope on the current page;
sessions (current page, session parameters) live in memory per session path.
"""

from livehandoff.emulators.dialogflow.cx.app import create_cx_app
from livehandoff.emulators.dialogflow.cx.definition import CxAgentError, load_cx_agent, parse_cx_agent
from livehandoff.emulators.dialogflow.cx.model import CxAgent

__all__ = ["CxAgent", "CxAgentError", "create_cx_app", "load_cx_agent", "parse_cx_agent"]
