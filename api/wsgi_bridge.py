"""Serve the Flask app inside Connexion's ASGI stack with one thread round trip per request.

Connexion runs Flask through a2wsgi, which calls the WSGI app in a thread pool and hands
each part of the response (status and headers, every body chunk, the end) back to the
event loop separately, with the thread waiting for the loop each time; reading a request
body costs more round trips the other way. This bridge reads the body on the event loop
first, runs the app in the thread pool, collects the response there and sends it from
the event loop afterwards. The outer middleware caps the body size (`MAX_REQUEST_BYTES`).

NOTE: responses are buffered whole, so a streaming Flask response would arrive in one
piece. The service streams nothing: its Flask responses are small JSON documents.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import io
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from a2wsgi.wsgi import build_environ
from a2wsgi.wsgi_typing import Environ
from starlette.types import Message, Receive, Scope, Send

#: Threads per worker that run Flask, as many as a2wsgi's default.
THREADS = 10


class BufferedWSGIBridge:
    """An ASGI app that runs a WSGI app in a thread pool and buffers its response."""

    def __init__(self, app: Any, threads: int = THREADS) -> None:
        # Named `app` like a2wsgi's attribute, which `FlaskApp.add_wsgi_middleware` wraps.
        self.app = app
        self.executor = ThreadPoolExecutor(thread_name_prefix="WSGI", max_workers=threads)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _answer_lifespan(receive, send)
            return
        if scope["type"] != "http":
            await send({"type": "websocket.close", "code": 1000})
            return

        body = await _read_body(receive)
        environ = build_environ(scope, io.BytesIO(body))  # type: ignore[arg-type]
        # Connexion's context variables (operation, token_info) must reach the handler.
        context = contextvars.copy_context()
        loop = asyncio.get_running_loop()
        status, headers, chunks = await loop.run_in_executor(
            self.executor, functools.partial(context.run, self._call_app, environ)
        )
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": b"".join(chunks)})

    def _call_app(self, environ: Environ) -> tuple[int, list[tuple[bytes, bytes]], list[bytes]]:
        """Run the WSGI app to the end; return its status, headers and body chunks."""
        response: dict[str, Any] = {}
        chunks: list[bytes] = []

        def start_response(
            status: str, headers: list[tuple[str, str]], exc_info: Any = None
        ) -> Any:
            # Nothing is sent before the app returns, so a second call with `exc_info`
            # (an error page after an exception) may replace the status and headers.
            response["status"] = int(status.split(" ", 1)[0])
            response["headers"] = [
                (name.strip().encode("latin1").lower(), value.strip().encode("latin1"))
                for name, value in headers
            ]
            return chunks.append

        iterable = self.app(environ, start_response)
        try:
            chunks.extend(chunk for chunk in iterable if chunk)
        finally:
            close = getattr(iterable, "close", None)
            if close is not None:
                close()
        return response["status"], response["headers"], chunks


async def _read_body(receive: Receive) -> bytes:
    """Read the whole request body; a client that went away leaves what arrived."""
    parts = []
    while True:
        message: Message = await receive()
        if message["type"] != "http.request":
            break
        parts.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(parts)


async def _answer_lifespan(receive: Receive, send: Send) -> None:
    # The Flask app has nothing to start or stop.
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
