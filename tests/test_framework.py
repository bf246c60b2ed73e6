"""Connexion set up once per worker, and the WSGI bridge that runs Flask."""

from __future__ import annotations

import asyncio
import contextvars
import sys
from typing import Any

from connexion.middleware.response_validation import ResponseValidationMiddleware

from api import framework
from api.framework import PreparedFlaskOperation, SwaggerUIOnOwnPaths
from api.wsgi_bridge import BufferedWSGIBridge

from .conftest import make_app

request_tag: contextvars.ContextVar[str] = contextvars.ContextVar("request_tag", default="unset")


def run_asgi(
    app: Any, body_parts: list[bytes], path: str = "/"
) -> tuple[int, dict[bytes, bytes], bytes]:
    """Send one HTTP request through an ASGI app; return status, headers and body."""
    messages = [
        {"type": "http.request", "body": part, "more_body": i < len(body_parts) - 1}
        for i, part in enumerate(body_parts)
    ]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"q=1",
        "root_path": "",
        "headers": [(b"content-type", b"text/plain")],
        "client": ("127.0.0.1", 5000),
        "server": ("127.0.0.1", 80),
    }

    async def call() -> None:
        request_tag.set("from the event loop")
        await app(scope, receive, send)

    asyncio.run(call())
    start, body = sent[0], sent[1]
    assert start["type"] == "http.response.start"
    assert body == {"type": "http.response.body", "body": body["body"]}
    return start["status"], dict(start["headers"]), body["body"]


def echo_app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    body = environ["wsgi.input"].read()
    start_response("201 Created", [("Content-Type", "text/plain"), ("X-Tag", request_tag.get())])
    return [b"got ", body, b"", b" for " + environ["QUERY_STRING"].encode()]


def test_bridge_reads_body_and_joins_response():
    status, headers, body = run_asgi(BufferedWSGIBridge(echo_app), [b"he", b"llo"])

    assert status == 201
    assert headers[b"content-type"] == b"text/plain"
    assert body == b"got hello for q=1"


def test_bridge_passes_context_variables_to_the_thread():
    _, headers, _ = run_asgi(BufferedWSGIBridge(echo_app), [b""])

    assert headers[b"x-tag"] == b"from the event loop"


def test_bridge_error_page_replaces_headers():
    def failing_app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "text/plain")])
        try:
            raise ValueError("broken")
        except ValueError:
            start_response("500 Internal Server Error", [("X-Error", "1")], sys.exc_info())
        return [b"error page"]

    status, headers, body = run_asgi(BufferedWSGIBridge(failing_app), [b""])

    assert status == 500
    assert headers == {b"x-error": b"1"}
    assert body == b"error page"


def test_bridge_write_callable_and_close():
    closed = []

    class Body(list):
        def close(self) -> None:
            closed.append(True)

    def writing_app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        write = start_response("200 OK", [])
        write(b"written, ")
        return Body([b"returned"])

    _, _, body = run_asgi(BufferedWSGIBridge(writing_app), [b""])

    assert body == b"written, returned"
    assert closed == [True]


def test_app_views_are_prepared(tmp_path, database_url):
    app = make_app(database_url, tmp_path)

    operations = {
        endpoint: view for endpoint, view in app.app.view_functions.items() if endpoint != "static"
    }

    assert operations
    assert all(isinstance(view, PreparedFlaskOperation) for view in operations.values())


def test_app_compact_json(client):
    response = client.get("/health")

    assert response.content == b'{"status":"ok"}\n'


def test_app_swagger_ui_prefixes(app):
    swagger = [m for m in app.middleware.middleware_stack if isinstance(m, SwaggerUIOnOwnPaths)]

    assert len(swagger) == 1
    assert swagger[0]._prefixes == (
        "/docs",
        "/docs/",
        "/docs/index.html",
        "/openapi.json",
        "/openapi.yaml",
    )


def test_app_swagger_ui_still_served(client):
    assert client.get("/docs/").status_code == 200
    assert client.get("/openapi.json").json()["info"]["title"] == "Activity Recommender"


def test_middlewares_response_validation_only_when_on():
    assert ResponseValidationMiddleware in framework.connexion_middlewares(validate_responses=True)
    assert ResponseValidationMiddleware not in framework.connexion_middlewares(
        validate_responses=False
    )
