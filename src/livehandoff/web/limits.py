"""Request body size limits, enforced before any route sees a byte of the body.

A declared ``Content-Length`` over the limit is refused without reading the body. A body without one
(chunked) is read only up to the limit and refused as soon as it passes it. A body that fits is handed
to the app as one message, so nothing ever holds more than the limit, and a refused request cannot have
changed anything: the app never ran.
"""

from __future__ import annotations

from collections.abc import Mapping

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from livehandoff.web.errors import error_response

_INVALID = -1


class BodySizeLimit:
    """Answers ``413 too_large`` for bodies over ``limit`` bytes (or the limit of their path)."""

    def __init__(self, app: ASGIApp, *, limit: int, path_limits: Mapping[str, int] | None = None) -> None:
        self._app = app
        self._limit = limit
        self._path_limits = {path.rstrip("/"): size for path, size in (path_limits or {}).items()}

    def limit_for(self, path: str) -> int:
        return self._path_limits.get(path.rstrip("/"), self._limit)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        limit = self.limit_for(scope["path"])
        declared = _content_length(scope)
        if declared == _INVALID:
            await error_response(400, "bad_request", "Content-Length is not a number")(scope, receive, send)
            return
        if declared is not None and declared > limit:
            await _too_large(limit)(scope, receive, send)
            return
        first = await _read_body(receive, limit)
        if first is None:
            await _too_large(limit)(scope, receive, send)
            return
        await self._app(scope, _replay(first, receive), send)


def _too_large(limit: int) -> ASGIApp:
    return error_response(413, "too_large", f"the request body is larger than {limit} bytes")


def _content_length(scope: Scope) -> int | None:
    """The declared length, None when there is none, ``_INVALID`` when it is not a number."""
    for name, value in scope["headers"]:
        if name.lower() == b"content-length":
            return int(value) if value.isdigit() else _INVALID
    return None


async def _read_body(receive: Receive, limit: int) -> Message | None:
    """The whole body as one ``http.request`` message, or None once it passes ``limit`` bytes.

    A disconnect before the body is complete is passed on as it is, so the app sees the client leave.
    """
    body = bytearray()
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return message
        body += message.get("body", b"")
        if len(body) > limit:
            return None
        if not message.get("more_body", False):
            return {"type": "http.request", "body": bytes(body), "more_body": False}


def _replay(first: Message, receive: Receive) -> Receive:
    """``first`` once, then the server's own messages (a streaming response watches them for a
    disconnect)."""
    pending: list[Message] = [first]

    async def replayed() -> Message:
        if pending:
            return pending.pop()
        return await receive()

    return replayed
