"""Dialogflow: the bot engine adapters, ES (``client.py``) and CX (``cx.py``)."""

from livehandoff.integrations.dialogflow.client import DialogflowES, session_path
from livehandoff.integrations.dialogflow.cx import DialogflowCX, cx_endpoint, cx_session_path

__all__ = ["DialogflowCX", "DialogflowES", "cx_endpoint", "cx_session_path", "session_path"]
