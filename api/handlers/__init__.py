"""HTTP handlers: one module per spec tag, one function per `operationId`.

Handlers only translate between HTTP and the plain functions in `api`; each
operation names its module with `x-openapi-router-controller`.
"""

from __future__ import annotations

from typing import Any

from flask import Response

#: Connexion cannot tell which of an operation's media types a body is in when the spec
#: documents both `application/json` and `application/problem+json`, so handlers name it.
JSON = {"Content-Type": "application/json"}

JsonResponse = tuple[Any, int, dict[str, str]]


def json_response(
    body: Any, status: int = 200, headers: dict[str, str] | None = None
) -> JsonResponse:
    return body, status, {**JSON, **(headers or {})}


def no_content() -> Response:
    response = Response(status=204)
    # Flask labels every response text/html, but a 204 has no body to label, and
    # Connexion's response validation rejects a media type that the spec does not list.
    del response.headers["Content-Type"]
    return response
