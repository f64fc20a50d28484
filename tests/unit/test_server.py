"""What a failed start-up says: the setting to change, in one line; nothing for a failure not understood."""

from __future__ import annotations

import pytest
from alembic.util.exc import CommandError
from sqlalchemy.exc import OperationalError

from livehandoff.errors import (
    ConfigurationError,
    DeskAuthError,
    DeskError,
    DeskRateLimited,
    DeskUnavailable,
)
from livehandoff.server import explain


@pytest.mark.parametrize(
    ("failure", "expected"),
    [
        (
            DeskAuthError("refresh_agent_token failed: invalid_grant", error_type="invalid_grant"),
            "LiveChat refused the refresh token (refresh_agent_token failed: invalid_grant): check "
            "LIVEHANDOFF_LIVECHAT_REFRESH_TOKEN, or get a new one with `livehandoff livechat authorize`",
        ),
        (
            DeskAuthError("refresh_agent_token failed: invalid_client", error_type="invalid_client"),
            "LiveChat refused the app (refresh_agent_token failed: invalid_client): "
            "check LIVEHANDOFF_LIVECHAT_CLIENT_ID and LIVEHANDOFF_LIVECHAT_CLIENT_SECRET",
        ),
        (
            DeskUnavailable("refresh_agent_token: ConnectError"),
            "LiveChat could not be reached (refresh_agent_token: ConnectError): "
            "check LIVEHANDOFF_LIVECHAT_API_URL and LIVEHANDOFF_LIVECHAT_ACCOUNTS_URL, "
            "and that this host can reach them",
        ),
        (
            DeskError("list_webhooks failed: authorization", error_type="authorization"),
            "LiveChat refused a call for lack of a scope (list_webhooks failed: authorization): "
            "give the app the scopes in docs/deploy.md, then get a new LIVEHANDOFF_LIVECHAT_REFRESH_TOKEN "
            "with `livehandoff livechat authorize`",
        ),
        (DeskRateLimited("list_webhooks failed: too_many_requests"), "LiveChat asked to slow down"),
        (
            DeskError("register_webhook failed: validation", error_type="validation"),
            "LiveChat refused a call",
        ),
        (ConfigurationError("no schema of the PostgreSQL search path exists"), "no schema of the PostgreSQL"),
        (
            CommandError("Can't locate revision identified by '0009'"),
            "the database could not be migrated (Can't locate revision identified by '0009'): "
            "check LIVEHANDOFF_DATABASE_URL",
        ),
        (
            OperationalError(
                "SELECT 1", {"text": "customer words"}, Exception("unable to open database file")
            ),
            "the database could not be opened (unable to open database file): check LIVEHANDOFF_DATABASE_URL",
        ),
        (
            ConnectionRefusedError(111, "Connect call failed ('127.0.0.1', 5432)"),
            "the database could not be opened ([Errno 111] Connect call failed ('127.0.0.1', 5432)): "
            "check LIVEHANDOFF_DATABASE_URL",
        ),
    ],
)
def test_a_known_failure_is_one_line_naming_the_fix(failure: BaseException, expected: str) -> None:
    explained = explain(failure)
    assert explained is not None
    assert explained.startswith(expected)
    assert "\n" not in explained


def test_a_failure_in_a_group_of_one_is_explained_too() -> None:
    failure = ExceptionGroup("start", [DeskUnavailable("down")])
    assert (explain(failure) or "").startswith("LiveChat could not be reached (down)")


@pytest.mark.parametrize("failure", [KeyError("settings"), RuntimeError("a bug")])
def test_a_failure_not_understood_keeps_its_traceback(failure: BaseException) -> None:
    assert explain(failure) is None
