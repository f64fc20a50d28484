"""The edge's one error body, ``{"error": {"type", "message"}}``, and the status for each error."""

from __future__ import annotations

import math
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from livehandoff.errors import ConversationNotFound, InvalidInput, InvalidToken

STATUS_TYPES = {
    400: "bad_request",
    401: "unauthorized",
    404: "not_found",
    405: "method_not_allowed",
    413: "too_large",
    429: "rate_limited",
}


def error_response(status: int, error_type: str, message: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"error": {"type": error_type, "message": message, **extra}}, status_code=status)


def rate_limited_response(wait_seconds: float) -> JSONResponse:
    """``429`` with ``Retry-After`` in whole seconds, rounded up: a client that waits that long gets in."""
    seconds = max(1, math.ceil(wait_seconds))
    response = error_response(
        429, "rate_limited", f"too many requests; retry in {seconds} s", retry_after=seconds
    )
    response.headers["retry-after"] = str(seconds)
    return response


def install_error_handlers(app: FastAPI) -> None:
    """Every 4xx leaves in the same shape, whoever raised it."""

    async def validation(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        details = [
            {"location": ".".join(str(part) for part in error["loc"]), "problem": error["msg"]}
            for error in exc.errors()
        ]
        return error_response(422, "validation", "the request is not valid", details=details)

    async def http_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, HTTPException)
        error_type = STATUS_TYPES.get(exc.status_code, "error")
        response = error_response(exc.status_code, error_type, str(exc.detail))
        response.headers.update(exc.headers or {})  # e.g. the ``Allow`` of a 405
        return response

    async def not_found(request: Request, exc: Exception) -> JSONResponse:
        return error_response(404, "not_found", "no such conversation")

    async def invalid_token(request: Request, exc: Exception) -> JSONResponse:
        return error_response(401, "unauthorized", "the token does not open this conversation")

    async def invalid_input(request: Request, exc: Exception) -> JSONResponse:
        return error_response(400, "bad_request", str(exc))

    app.add_exception_handler(RequestValidationError, validation)
    app.add_exception_handler(HTTPException, http_error)
    app.add_exception_handler(ConversationNotFound, not_found)
    app.add_exception_handler(InvalidToken, invalid_token)
    app.add_exception_handler(InvalidInput, invalid_input)
