"""Which Google credentials the Dialogflow client uses."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import google.auth
import google.oauth2.credentials
from google.auth.credentials import Credentials
from google.oauth2 import service_account

from livehandoff.errors import ConfigurationError

SCOPES = ("https://www.googleapis.com/auth/cloud-platform", "https://www.googleapis.com/auth/dialogflow")
GOOGLE_ENDPOINT_SUFFIX = "dialogflow.googleapis.com"
FILE_TYPES = ("service_account", "authorized_user")
"""What a named credentials file may hold: a service-account key, or the user credentials that
``gcloud auth application-default login`` writes."""


def load_credentials(*, endpoint: str, credentials_file: str) -> Credentials | None:
    """A credentials file when one is named; Application Default Credentials for Google's own
    endpoints; none for anything else (the offline emulator needs no credentials).

    A named file is read as the type it says it is, and only the types in ``FILE_TYPES`` are accepted:
    a file is configuration, and one of another type (say, an external account that runs a command)
    is refused rather than trusted.
    """
    try:
        if credentials_file:
            return _from_file(Path(credentials_file))
        if endpoint.rstrip("/").endswith(GOOGLE_ENDPOINT_SUFFIX):
            credentials, _ = google.auth.default(scopes=SCOPES)
            return credentials
    except google.auth.exceptions.GoogleAuthError as exc:
        raise ConfigurationError(f"Google credentials could not be loaded: {exc}") from exc
    return None


def _from_file(path: Path) -> Credentials:
    problem = f"Google credentials could not be loaded from {path}"
    try:
        info: Any = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigurationError(f"{problem}: {exc.strerror or exc}") from None
    except ValueError:
        raise ConfigurationError(f"{problem}: it is not a JSON document") from None
    kind = info.get("type") if isinstance(info, dict) else None
    if kind not in FILE_TYPES:
        allowed = " or ".join(FILE_TYPES)
        raise ConfigurationError(f"{problem}: its type is {kind!r}, expected {allowed}")
    try:
        if kind == "service_account":
            return service_account.Credentials.from_service_account_info(  # type: ignore[no-untyped-call,no-any-return]
                info, scopes=SCOPES
            )
        return google.oauth2.credentials.Credentials.from_authorized_user_info(  # type: ignore[no-untyped-call,no-any-return]
            info, scopes=SCOPES
        )
    except (ValueError, TypeError) as exc:
        # The messages name missing fields or say the key cannot be read; they never quote the file.
        raise ConfigurationError(f"{problem}: {exc}") from None
