"""LiveChat's two error bodies and the HTTP status each error type gets in the emulator.

The chat and configuration APIs answer ``{"error": {"type": ..., "message": ...}}``; the accounts
service answers ``{"oauth_exception": ..., "exception_description": ...}`` (reference §1.1, §8).

LiveChat's v3 docs do not map error types to HTTP statuses and its SDKs branch on ``error.type``
only, so the statuses below are the emulator's own choice (reference §8 "UNCONFIRMED"):

    authentication                       401
    authorization, missing_access,
    customer_banned                      403
    validation, unsupported_version      400
    not_found, group_not_found,
    license_not_found                    404
    request_timeout                      408
    chat_inactive, groups_offline,
    group_offline, agent_offline,
    limit_reached, already_exists        409  (the request conflicts with the current state)
    entity_too_large                     413
    misdirected_request                  421
    too_many_requests                    429  (``Retry-After`` header when the error carries one)
    internal                             500
    service_unavailable                  503
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from starlette.responses import JSONResponse

STATUS_BY_TYPE: Mapping[str, int] = {
    "authentication": 401,
    "authorization": 403,
    "missing_access": 403,
    "customer_banned": 403,
    "validation": 400,
    "unsupported_version": 400,
    "not_found": 404,
    "group_not_found": 404,
    "license_not_found": 404,
    "request_timeout": 408,
    "chat_inactive": 409,
    "groups_offline": 409,
    "group_offline": 409,
    "agent_offline": 409,
    "limit_reached": 409,
    "already_exists": 409,
    "entity_too_large": 413,
    "misdirected_request": 421,
    "too_many_requests": 429,
    "internal": 500,
    "service_unavailable": 503,
}

AUTHENTICATION_MESSAGE = "Invalid access token"


class ApiError(Exception):
    """An error of the chat or configuration APIs, rendered as LiveChat's ``error`` body."""

    def __init__(
        self,
        error_type: str,
        message: str,
        *,
        data: Mapping[str, Any] | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(f"{error_type}: {message}")
        self.error_type = error_type
        self.message = message
        self.data = dict(data) if data else None
        self.retry_after = retry_after

    @property
    def status(self) -> int:
        """The HTTP status this error type is answered with (module docstring)."""
        return STATUS_BY_TYPE.get(self.error_type, 400)

    def body(self) -> dict[str, Any]:
        """LiveChat's error body; ``data`` only when the error has some (e.g. ``region``)."""
        error: dict[str, Any] = {"type": self.error_type, "message": self.message}
        if self.data is not None:
            error["data"] = self.data
        return {"error": error}

    def response(self) -> JSONResponse:
        """The whole HTTP answer, with ``Retry-After`` for rate limiting."""
        headers = {}
        if self.retry_after is not None:
            headers["Retry-After"] = str(max(0, round(self.retry_after)))
        return JSONResponse(self.body(), status_code=self.status, headers=headers)


class OAuthError(Exception):
    """An error of the accounts service (token endpoints), with its own body shape."""

    def __init__(self, code: str, description: str, *, status: int = 400) -> None:
        super().__init__(f"{code}: {description}")
        self.code = code
        self.description = description
        self.status = status

    def response(self) -> JSONResponse:
        """The ``oauth_exception`` body of the Customer Accounts API spec."""
        body = {"oauth_exception": self.code, "exception_description": self.description}
        return JSONResponse(body, status_code=self.status)


def authentication_error() -> ApiError:
    """The error every wrong, expired or misused token gets (asserted by lc-sdk-python's tests)."""
    return ApiError("authentication", AUTHENTICATION_MESSAGE)


def validation_error(message: str) -> ApiError:
    """A request that is not shaped as the method expects."""
    return ApiError("validation", message)
