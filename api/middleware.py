"""Pure ASGI middleware around Connexion's stack: request ids, headers, logs, metrics, limits.

Each class wraps `send` or `receive` and touches nothing else, so a request pays only a
few function calls for it. All set-up work happens once per worker, in `__init__`.
"""

from __future__ import annotations

import json
import logging
import os
import re
from functools import partial
from http import HTTPStatus
from time import perf_counter
from typing import Any

from starlette.datastructures import Headers
from starlette.middleware.cors import CORSMiddleware as StarletteCORSMiddleware
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from . import framework
from .config import Settings
from .logs import RequestContext, current_request
from .metrics import Metrics

access_log = logging.getLogger("api.access")

REQUEST_ID_HEADER = b"x-request-id"

#: A request id from the client is kept only when it is short and safe to log and echo.
VALID_REQUEST_ID = re.compile(rb"[A-Za-z0-9._-]{1,128}")

NOSNIFF = (b"x-content-type-options", b"nosniff")

#: The operationId that /metrics is counted and logged under.
METRICS_OPERATION = "get_metrics"

#: Methods a browser may use from an allowed origin, and the headers it may send and read.
CORS_METHODS = ("GET", "POST", "PUT", "DELETE")
CORS_REQUEST_HEADERS = ("Authorization", "Content-Type", "X-Request-ID")
CORS_RESPONSE_HEADERS = ("Location", "Retry-After", "WWW-Authenticate", "X-Request-ID")


def problem_body(status: int, detail: str) -> bytes:
    """Return an RFC 9457 problem document, for responses sent before Connexion's stack."""
    return json.dumps(
        {
            "type": "about:blank",
            "title": HTTPStatus(status).phrase,
            "status": status,
            "detail": detail,
        }
    ).encode()


async def send_problem(send: Send, status: int, body: bytes) -> None:
    headers = [
        (b"content-type", b"application/problem+json"),
        (b"content-length", str(len(body)).encode()),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def request_id_from(headers: list[tuple[bytes, bytes]]) -> str:
    """Return the request's well-formed X-Request-ID, or a new random one."""
    for name, value in headers:
        if name == REQUEST_ID_HEADER:
            if VALID_REQUEST_ID.fullmatch(value):
                return value.decode("ascii")
            break
    # Random like a UUID4 in hex, at a fifth of uuid4()'s cost.
    return os.urandom(16).hex()


class RequestMiddleware:
    """Tag a request with an id, add X-Request-ID and nosniff, log and count it, serve /metrics.

    It is the outermost layer, so it receives every response: Connexion's 401s and 404s,
    the 413s of `BodySizeLimitMiddleware` and the 500s of the server error handler.
    """

    def __init__(
        self, app: ASGIApp, metrics: Metrics | None = None, metrics_port: int | None = None
    ) -> None:
        self.app = app
        self.metrics = metrics
        self.metrics_port = metrics_port
        self.not_found = problem_body(404, "The requested URL was not found on this port.")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        request_id = request_id_from(scope["headers"])
        app, fixed_operation_id = self._route(scope)
        # Connexion's routing layer copies the scope but shares this dictionary, and
        # records the matched operationId in it, where logs and metrics read it.
        extensions = scope.setdefault("extensions", {})
        context = RequestContext(request_id, extensions, fixed_operation_id)
        token = current_request.set(context)
        added_headers = [(b"x-request-id", request_id.encode("ascii")), NOSNIFF]
        status = 500  # what the client gets when no response was started

        async def send_with_headers(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message = {**message, "headers": [*message.get("headers", ()), *added_headers]}
            await send(message)

        if self.metrics is not None:
            self.metrics.in_progress.inc()
        started = perf_counter()
        try:
            await app(scope, receive, send_with_headers)
        finally:
            # After the response is sent, so a client may have it before it is counted.
            seconds = perf_counter() - started
            if self.metrics is not None:
                self.metrics.in_progress.dec()
                self.metrics.observe_request(context.operation_id, scope["method"], status, seconds)
            if access_log.isEnabledFor(logging.INFO):
                access_log.info(
                    "%s %s %s",
                    scope["method"],
                    scope["path"],
                    status,
                    extra={
                        "method": scope["method"],
                        "path": scope["path"],
                        "status": status,
                        "duration_ms": round(seconds * 1000, 3),
                    },
                )
            current_request.reset(token)

    def _route(self, scope: Scope) -> tuple[ASGIApp, str | None]:
        """Pick the app for the request, and its operationId when Connexion will not set it."""
        if self.metrics is None:
            return self.app, None
        if self.metrics_port is None:
            if scope["path"] == "/metrics":
                return self.metrics.asgi_app, METRICS_OPERATION
            return self.app, None
        server = scope.get("server")
        if server is None or server[1] != self.metrics_port:
            return self.app, None
        if scope["path"] == "/metrics":
            return self.metrics.asgi_app, METRICS_OPERATION
        return self._send_not_found, None

    async def _send_not_found(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send_problem(send, 404, self.not_found)


class BodySizeLimitMiddleware:
    """Reject a request whose body is larger than `max_bytes` with 413.

    A declared Content-Length is checked before any byte is read. A chunked body has
    no length up front, so it is read into memory up to the limit and then passed on
    with a Content-Length header in place of Transfer-Encoding.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.too_large = problem_body(
            413, f"The request body is larger than the limit of {max_bytes} bytes."
        )
        self.invalid_length = problem_body(400, "The Content-Length header is not a number.")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        content_length = None
        chunked = False
        for name, value in scope["headers"]:
            if name == b"content-length":
                content_length = value
            elif name == b"transfer-encoding":
                chunked = True

        if content_length is not None:
            # uvicorn rejects a Content-Length that is not a number; other servers may not.
            if not content_length.isdigit():
                await send_problem(send, 400, self.invalid_length)
                return
            if int(content_length) > self.max_bytes:
                await send_problem(send, 413, self.too_large)
                return
            await self.app(scope, receive, send)
        elif chunked:
            await self._limit_chunked(scope, receive, send)
        else:
            await self.app(scope, receive, send)

    async def _limit_chunked(self, scope: Scope, receive: Receive, send: Send) -> None:
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] != "http.request":
                # The client went away; let the app see the disconnect.
                await self.app(scope, _replay([message], receive), send)
                return
            body += message.get("body", b"")
            if len(body) > self.max_bytes:
                await send_problem(send, 413, self.too_large)
                return
            if not message.get("more_body", False):
                break
        whole = {"type": "http.request", "body": bytes(body), "more_body": False}
        # Connexion's body validators read Content-Length and take a body without it
        # for a missing one, so the buffered body is passed on with its length.
        headers = [
            (name, value) for name, value in scope["headers"] if name != b"transfer-encoding"
        ]
        headers.append((b"content-length", str(len(body)).encode()))
        await self.app({**scope, "headers": headers}, _replay([whole], receive), send)


def _replay(messages: list[Message], receive: Receive) -> Receive:
    """Return a `receive` that yields `messages` first, then reads on."""
    pending = list(messages)

    async def replay() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return replay


class CORSMiddleware(StarletteCORSMiddleware):
    """Starlette's CORS middleware, which sends 204 No Content to an allowed preflight."""

    def preflight_response(self, request_headers: Headers) -> Response:
        response = super().preflight_response(request_headers)
        if response.status_code != 200:
            return response
        headers = {
            name: value
            for name, value in response.headers.items()
            if name not in ("content-length", "content-type")
        }
        return Response(status_code=204, headers=headers)


def middleware_stack(settings: Settings, metrics: Metrics | None) -> list[Any]:
    """Return Connexion's middleware list with this service's layers outside it."""
    layers: list[Any] = [
        partial(RequestMiddleware, metrics=metrics, metrics_port=settings.metrics_port)
    ]
    if settings.cors_origins:
        layers.append(
            partial(
                CORSMiddleware,
                allow_origins=settings.cors_origins,
                allow_methods=CORS_METHODS,
                allow_headers=CORS_REQUEST_HEADERS,
                expose_headers=CORS_RESPONSE_HEADERS,
            )
        )
    layers.append(partial(BodySizeLimitMiddleware, max_bytes=settings.max_request_bytes))
    return [*layers, *framework.connexion_middlewares(settings.validate_responses)]
