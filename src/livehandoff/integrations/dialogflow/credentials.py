"""Which Google credentials the Dialogflow client uses."""

from __future__ import annotations

import google.auth
from google.auth.credentials import Credentials

from livehandoff.errors import ConfigurationError

SCOPES = ("https://www.googleapis.com/auth/cloud-platform", "https://www.googleapis.com/auth/dialogflow")
GOOGLE_ENDPOINT_SUFFIX = "dialogflow.googleapis.com"


def load_credentials(*, endpoint: str, credentials_file: str) -> Credentials | None:
    """A service-account file when one is named; Application Default Credentials for Google's own
    endpoints; none for anything else (the offline emulator needs no credentials)."""
    try:
        if credentials_file:
            loaded, _ = google.auth.load_credentials_from_file(  # type: ignore[no-untyped-call]
                credentials_file, scopes=SCOPES
            )
            return loaded  # type: ignore[no-any-return]
        if endpoint.rstrip("/").endswith(GOOGLE_ENDPOINT_SUFFIX):
            credentials, _ = google.auth.default(scopes=SCOPES)
            return credentials
    except google.auth.exceptions.GoogleAuthError as exc:
        raise ConfigurationError(f"Google credentials could not be loaded: {exc}") from exc
    return None
