"""Which Google credentials the Dialogflow clients get, from a file, from the environment, or none."""

from __future__ import annotations

import json
from pathlib import Path

import google.oauth2.credentials
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from google.oauth2 import service_account

from livehandoff.errors import ConfigurationError
from livehandoff.integrations.dialogflow.credentials import SCOPES, load_credentials

EMAIL = "bridge@livehandoff-test.iam.gserviceaccount.com"
GOOGLE = "https://dialogflow.googleapis.com"
REGIONAL = "https://europe-west1-dialogflow.googleapis.com/"
EMULATOR = "http://127.0.0.1:8081"
BROKEN_KEY = "c2VjcmV0LWtleS1tYXRlcmlhbA"


@pytest.fixture(scope="module")
def private_key() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return pem.decode()


@pytest.fixture
def key_file(tmp_path: Path, private_key: str) -> Path:
    """A service-account key file as the Google Cloud console downloads it."""
    path = tmp_path / "service-account.json"
    info = {
        "type": "service_account",
        "project_id": "livehandoff-test",
        "private_key_id": "0123456789abcdef",
        "private_key": private_key,
        "client_email": EMAIL,
        "client_id": "123456789012345678901",
        "token_uri": "https://oauth2.googleapis.com/token",
    }
    path.write_text(json.dumps(info), encoding="utf-8")
    return path


def test_a_named_key_file_gives_its_service_account_with_dialogflow_scopes(key_file: Path) -> None:
    credentials = load_credentials(endpoint=GOOGLE, credentials_file=str(key_file))

    assert isinstance(credentials, service_account.Credentials)
    assert credentials.service_account_email == EMAIL
    assert tuple(credentials.scopes) == SCOPES


@pytest.mark.parametrize("endpoint", [GOOGLE, REGIONAL])
def test_googles_endpoints_without_a_file_use_application_default_credentials(
    key_file: Path, endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(key_file))

    credentials = load_credentials(endpoint=endpoint, credentials_file="")

    assert isinstance(credentials, service_account.Credentials)
    assert credentials.service_account_email == EMAIL


def test_another_endpoint_without_a_file_needs_no_credentials(
    key_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(key_file))

    assert load_credentials(endpoint=EMULATOR, credentials_file="") is None


def test_user_credentials_from_gcloud_are_accepted(tmp_path: Path) -> None:
    path = tmp_path / "application_default_credentials.json"
    user = {"type": "authorized_user", "client_id": "id", "client_secret": "secret", "refresh_token": "token"}
    path.write_text(json.dumps(user), encoding="utf-8")

    credentials = load_credentials(endpoint=GOOGLE, credentials_file=str(path))

    assert isinstance(credentials, google.oauth2.credentials.Credentials)
    assert credentials.refresh_token == "token"


def test_a_missing_key_file_is_a_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match=r"nowhere\.json"):
        load_credentials(endpoint=GOOGLE, credentials_file=str(tmp_path / "nowhere.json"))


def test_missing_application_default_credentials_are_a_configuration_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(tmp_path / "nowhere.json"))

    with pytest.raises(ConfigurationError, match="Google credentials could not be loaded"):
        load_credentials(endpoint=GOOGLE, credentials_file="")


@pytest.mark.parametrize(
    "content",
    [
        "not json",
        json.dumps({"type": "service_account", "client_email": EMAIL}),
        json.dumps({"type": "external_account", "credential_source": {"executable": {"command": "x"}}}),
        json.dumps(["service_account"]),
    ],
    ids=["not-json", "no-private-key", "external-account", "not-an-object"],
)
def test_an_unusable_key_file_is_a_configuration_error(tmp_path: Path, content: str) -> None:
    path = tmp_path / "key.json"
    path.write_text(content, encoding="utf-8")

    with pytest.raises(ConfigurationError, match="Google credentials could not be loaded"):
        load_credentials(endpoint=GOOGLE, credentials_file=str(path))


def test_a_key_file_with_a_broken_key_is_refused_without_quoting_it(tmp_path: Path, key_file: Path) -> None:
    info = json.loads(key_file.read_text(encoding="utf-8"))
    info["private_key"] = (
        "-----BEGIN PRIVATE KEY-----\nc2VjcmV0LWtleS1tYXRlcmlhbA==\n-----END PRIVATE KEY-----\n"
    )
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(info), encoding="utf-8")

    with pytest.raises(ConfigurationError) as caught:
        load_credentials(endpoint=GOOGLE, credentials_file=str(path))

    assert BROKEN_KEY not in str(caught.value)
