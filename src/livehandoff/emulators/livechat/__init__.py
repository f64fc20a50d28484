"""An offline LiveChat (v3.6): real paths, methods, auth schemes and JSON shapes.

Tests drive :attr:`LiveChatEmulator.app` through ``httpx.ASGITransport``; ``make demo`` serves it
with uvicorn (``python -m livehandoff.emulators.livechat``). Act as an agent through the Agent
Chat API with the seeded PAT (``emu.credentials.pat_authorization``), or in a browser at ``/console``,
the agent console (:mod:`.console`).
"""

from livehandoff.emulators.livechat.app import LiveChatEmulator
from livehandoff.emulators.livechat.faults import ApiFaults, FaultConfig, WebhookFaults, load_faults
from livehandoff.emulators.livechat.seed import Seed, default_seed, load_seed, parse_seed
from livehandoff.emulators.livechat.state import Credentials
from livehandoff.emulators.livechat.testing import AgentConsole, WebhookRecorder
from livehandoff.emulators.livechat.webhooks import DeliveryAttempt

__all__ = [
    "AgentConsole",
    "ApiFaults",
    "Credentials",
    "DeliveryAttempt",
    "FaultConfig",
    "LiveChatEmulator",
    "Seed",
    "WebhookFaults",
    "WebhookRecorder",
    "default_seed",
    "load_faults",
    "load_seed",
    "parse_seed",
]
