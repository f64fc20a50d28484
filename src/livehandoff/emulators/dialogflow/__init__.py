"""A local stand-in for Dialogflow ES: detectIntent over REST, answered from an agent export.

It loads what the Dialogflow console's "Export as ZIP" produces and answers
``POST /v2/{session}:detectIntent`` with JSON the official ``google-cloud-dialogflow`` client
parses, so the bridge can be developed and tested without a Google project::

    agent = load_agent("Support.zip")     # or the unpacked folder
    app = create_app(agent)               # a Starlette app; no lifespan needed

Matching is a deterministic approximation of Dialogflow's classifier (``matcher.py``); contexts,
events, parameters, fallback and the intent flags behave as the ES documentation describes.
"""

from livehandoff.emulators.dialogflow.app import create_app
from livehandoff.emulators.dialogflow.export import AgentExportError, load_agent
from livehandoff.emulators.dialogflow.model import Agent

__all__ = ["Agent", "AgentExportError", "create_app", "load_agent"]
