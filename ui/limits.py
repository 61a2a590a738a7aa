"""Request body limits for the whole server (API and page).

Neither uvicorn nor Starlette bounds a request body, and FastAPI reads a JSON body whole
before validating it, so one oversized POST could take all memory. This middleware refuses
a body over its path's limit with 413 and a one-line JSON error: at once when Content-Length
says so, or as soon as a chunked body passes the limit (a chunked body is read here, up to
the limit, before the app sees it).
"""

from __future__ import annotations

import json
from collections.abc import Mapping

#: Bytes of JSON any question, search or chat request needs, with room to spare
#: (a question is cut off at 1,000 characters, a chat history at a few turns).
DEFAULT_LIMIT = 1024 * 1024


class BodyLimit:
    """ASGI middleware: at most ``default`` bytes of request body, or the limit of the first
    matching path prefix in ``by_prefix`` (uploads).

    Args:
        app: the ASGI app to guard.
        default: bytes allowed on any other path.
        by_prefix: path prefix → bytes allowed, e.g. ``{"/api/documents": 51 MB}``.
    """

    def __init__(self, app, default: int = DEFAULT_LIMIT, by_prefix: Mapping[str, int] | None = None):
        self.app = app
        self.default = default
        self.by_prefix = dict(by_prefix or {})

    def limit_for(self, path: str) -> int:
        return next((n for prefix, n in self.by_prefix.items() if path.startswith(prefix)), self.default)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["path"])
        declared = dict(scope.get("headers") or []).get(b"content-length", b"")
        if declared.isdigit():
            # The server never delivers more than Content-Length bytes.
            if int(declared) > limit:
                await _refuse(receive, send, limit, more=int(declared) <= DRAIN_LIMIT)
                return
            await self.app(scope, receive, send)
            return
        # A chunked body: read it up to the limit here, then hand it on.
        messages, received = [], 0
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                break
            received += len(message.get("body", b""))
            if received > limit:
                await _refuse(receive, send, limit, more=bool(message.get("more_body")))
                return
            if not message.get("more_body"):
                break
        pending = iter(messages)

        async def replay():
            return next(pending, None) or await receive()

        await self.app(scope, replay, send)


#: Bytes of an oversized body read and thrown away before answering 413: a client that is
#: still sending a moderately large body then reads the answer instead of a reset
#: connection. Beyond this the answer goes out at once and the connection is closed.
DRAIN_LIMIT = 8 * 1024 * 1024


async def _refuse(receive, send, limit: int, more: bool = True) -> None:
    drained = 0
    while more and drained < DRAIN_LIMIT:
        message = await receive()
        if message["type"] != "http.request":
            return  # the client is gone
        drained += len(message.get("body", b""))
        more = bool(message.get("more_body"))
    body = json.dumps({"detail": f"request body over the {limit} byte limit"}).encode()
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})
