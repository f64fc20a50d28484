"""Dialogflow: the bot engine adapters."""

from livehandoff.integrations.dialogflow.client import DialogflowES, session_path

__all__ = ["DialogflowES", "session_path"]
