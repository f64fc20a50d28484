"""The edge's one error body, ``{"error": {"type", "message"}}``, and the status for each error."""

from __future__ import annotations

import math
import traceback
from collections.abc import Iterator
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from livehandoff.errors import ConversationNotFound, InvalidInput, InvalidToken

log = structlog.get_logger("livehandoff.web")

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
        unreadable = _unreadable_body(exc.errors())
        if unreadable:
            return error_response(400, "bad_request", unreadable)
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


def _unreadable_body(errors: Any) -> str | None:
    """Why the body could not be read as JSON at all, if that is what the validation errors say.

    FastAPI reports such bodies as validation errors (422); the API answers ``400 bad_request`` for them,
    as for a body that is not UTF-8 (docs/api.md): invalid JSON, and a body sent with another content
    type, which FastAPI hands over as bytes.
    """
    for error in errors:
        if error.get("type") == "json_invalid":
            return "the body is not valid JSON"
        if tuple(error.get("loc", ())) == ("body",) and isinstance(error.get("input"), bytes):
            return "the body must be JSON, sent with Content-Type: application/json"
    return None


class InternalErrors:
    """The last line: an exception no handler took becomes ``500 internal`` in the one error body.

    Starlette's own last line answers in plain text and raises the exception again, and the server then
    logs it with its message; a database error's message is its SQL statement with the parameters:
    customers' texts and names, token hashes. Here it is logged by its types and stack frames only, and
    not raised again. An exception after the response started (an event stream) can only end it.
    """

    def __init__(self, app: ASGIApp) -> None:
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        started = False

        async def watched(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self._app(scope, receive, watched)
        except Exception as exc:
            # The path may hold a conversation id; the query (with ``?token=``) is left out.
            log.error(
                "request.failed",
                method=scope["method"],
                path=scope["path"],
                error=" <- ".join(type(link).__qualname__ for link in _chain(exc)),
                frames=_frames(exc),
            )
            if not started:
                internal = error_response(500, "internal", "the request failed on our side")
                await internal(scope, receive, send)


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and the exceptions it was raised from or during, newest first."""
    seen: set[int] = set()
    link: BaseException | None = exc
    while link is not None and id(link) not in seen:
        seen.add(id(link))
        yield link
        link = link.__cause__ or link.__context__


def _frames(exc: BaseException) -> str:
    """Where each exception of the chain was raised: file, line, function and source line, no values."""
    parts = [
        f"{type(link).__qualname__}:\n{''.join(traceback.format_tb(link.__traceback__))}"
        for link in _chain(exc)
    ]
    return "\n".join(parts)
