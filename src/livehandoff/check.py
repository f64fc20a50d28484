"""Every setting checked before anything starts, each problem named by its environment variable.

``livehandoff check`` and ``livehandoff serve`` both use this module, so what ``check`` passes ``serve``
starts with. Three layers:

* :func:`load_settings` reads the environment; what pydantic refuses (a port that is not a number, a URL
  that is not ``http(s)://``, an unknown trigger) becomes one :class:`Problem` per setting.
* :func:`problems` looks at what a value cannot say about itself: a credentials file that does not exist,
  a SQLite directory that cannot be written, LiveChat credentials left empty.
* :func:`warnings` names settings that work but are probably not what a deployment wants, such as a
  ``PUBLIC_URL`` that LiveChat cannot reach.

Messages never quote a value: a person may have pasted a secret into the wrong variable.
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pydantic import AliasChoices, SecretStr, ValidationError
from pydantic_settings import SettingsError

from livehandoff.config import Settings
from livehandoff.errors import ConfigurationError, LiveHandoffError
from livehandoff.integrations.dialogflow.credentials import GOOGLE_ENDPOINT_SUFFIX, load_credentials
from livehandoff.storage.engine import is_memory, normalise_url

ENV_PREFIX = "LIVEHANDOFF_"
_DEMO_PROJECT = Settings.model_fields["dialogflow_project_id"].default
_LOOPBACK_NAMES = frozenset({"localhost", "0.0.0.0", "::"})  # noqa: S104 (names compared, nothing bound)


def variable(field: str) -> str:
    """The environment variable of the setting ``field`` (``public_url`` → ``LIVEHANDOFF_PUBLIC_URL``)."""
    info = Settings.model_fields.get(field)
    if info is not None and isinstance(info.validation_alias, AliasChoices):
        return str(info.validation_alias.choices[0])
    return ENV_PREFIX + field.upper()


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with the settings; ``variable`` is the environment variable to change."""

    variable: str
    message: str

    def __str__(self) -> str:
        return f"{self.variable}: {self.message}" if self.variable else self.message


class InvalidSettings(LiveHandoffError):
    """The environment does not make valid settings; ``problems`` says why, one per setting."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(str(problem) for problem in problems))
        self.problems = problems


def load_settings(**overrides: Any) -> Settings:
    """The settings from the environment (and ``overrides``), or ``InvalidSettings``."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        raise InvalidSettings([_from_pydantic(error) for error in exc.errors()]) from None
    except SettingsError as exc:  # a source could not read a value at all
        raise InvalidSettings([Problem("", str(exc))]) from None


def _from_pydantic(error: Any) -> Problem:
    message = str(error["msg"]).removeprefix("Value error, ")
    location = [str(part) for part in error["loc"]]
    if not location:  # a rule across settings; its message names the variables
        return Problem("", message)
    field, *inside = location
    name = variable(field) if field in Settings.model_fields else field
    if inside:
        where = f"item {int(inside[0]) + 1}" if inside[0].isdigit() else inside[0]
        message = f"{where}: {message}"
    return Problem(name, message)


# --- what a value cannot say about itself ----------------------------------------------------------


def problems(settings: Settings) -> list[Problem]:
    """What stops livehandoff from working with these settings, without contacting anything."""
    return [*_database(settings), *_credentials(settings), *_livechat(settings)]


def _database(settings: Settings) -> list[Problem]:
    name = variable("database_url")
    try:
        url = normalise_url(settings.database_url)
    except ConfigurationError as exc:
        return [Problem(name, str(exc))]
    if url.get_backend_name() != "sqlite" or is_memory(url) or not url.database:
        return []
    if url.database.startswith("file:"):  # a URI filename: SQLite resolves it
        return []
    return [Problem(name, problem) for problem in _writable(Path(url.database))]


def _writable(path: Path) -> list[str]:
    """Why a SQLite file at ``path`` could not be opened for writing, or nothing."""
    if path.exists():
        if path.is_dir():
            return [f"{path} is a directory, not a database file"]
        return [] if os.access(path, os.R_OK | os.W_OK) else [f"{path} cannot be written by this user"]
    parent = path.absolute().parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir() or not os.access(parent, os.W_OK | os.X_OK):
        return [f"{path} cannot be created: {parent} is not a directory this user can write to"]
    return []


def _credentials(settings: Settings) -> list[Problem]:
    if not settings.google_application_credentials:
        return []
    try:
        load_credentials(
            endpoint=settings.dialogflow_api_endpoint,
            credentials_file=settings.google_application_credentials,
        )
    except ConfigurationError as exc:
        return [Problem(variable("google_application_credentials"), str(exc))]
    return []


def _livechat(settings: Settings) -> list[Problem]:
    found = []
    required = {
        "livechat_client_id": "required: the Client Id of your LiveChat app (Developer Console)",
        "livechat_client_secret": "required: the Client Secret of your LiveChat app (Developer Console)",
        "livechat_refresh_token": "required: the refresh token of the agent the bridge acts through; "
        "`livehandoff livechat authorize` prints it",
    }
    for field, message in required.items():
        value = getattr(settings, field)
        if not (value.get_secret_value() if isinstance(value, SecretStr) else value):
            found.append(Problem(variable(field), message))
    if settings.livechat_license_id and not settings.livechat_license_id.isdigit():
        found.append(Problem(variable("livechat_license_id"), "must be a number (LiveChat's license id)"))
    if settings.livechat_register_webhooks and not settings.livechat_webhook_secret.get_secret_value():
        found.append(
            Problem(
                variable("livechat_webhook_secret"),
                "required to register LiveChat's webhooks (LIVEHANDOFF_LIVECHAT_REGISTER_WEBHOOKS is on): "
                "choose a long random value, e.g. `openssl rand -hex 32`",
            )
        )
    return found


# --- what works but is probably not meant --------------------------------------------------------


def warnings(settings: Settings) -> list[Problem]:
    """Settings that work, but probably not as a deployment wants."""
    found = []
    public = variable("public_url")
    if is_loopback_url(settings.public_url):
        found.append(
            Problem(
                public,
                f"{settings.public_url} is a loopback address: LiveChat cannot deliver webhooks to it and "
                "Dialogflow cannot call the fulfillment webhooks; set the bridge's public https:// URL",
            )
        )
    elif settings.public_url.startswith("http://"):
        found.append(
            Problem(public, "is not https://: webhook secrets and customer tokens cross the network")
        )
    if not settings.livechat_register_webhooks and not settings.livechat_webhook_secret.get_secret_value():
        found.append(
            Problem(
                variable("livechat_webhook_secret"),
                "is empty: every LiveChat webhook will be refused, so agents' replies never reach customers; "
                "set the secret the webhooks were registered with",
            )
        )
    if _google(settings) and settings.dialogflow_project_id == _DEMO_PROJECT:
        demo = "is still the demo's project: set the Google Cloud project of your agent"
        found.append(Problem(variable("dialogflow_project_id"), demo))
    return found


def is_loopback_url(url: str) -> bool:
    """Whether ``url`` names this machine only (nothing outside can reach it)."""
    host = (urlsplit(url).hostname or "").lower()
    if host in _LOOPBACK_NAMES or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _google(settings: Settings) -> bool:
    return settings.dialogflow_api_endpoint.rstrip("/").endswith(GOOGLE_ENDPOINT_SUFFIX)
