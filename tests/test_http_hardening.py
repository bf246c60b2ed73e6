"""Response headers, body size limits, CORS and Swagger UI switches."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from .conftest import ROOT_PASSWORD, bearer, dispose_engines, make_app

ORIGIN = "https://app.example.com"


@pytest.fixture
def make_configured_app(database_url: str, tmp_path: Any, app: Any) -> Iterator[Any]:
    """Build apps with changed settings on the session's database; `app` resets the data."""
    built: list[Any] = []

    def make(**overrides: Any) -> Any:
        application = make_app(database_url, tmp_path, **overrides)
        built.append(application)
        return application

    yield make
    for application in built:
        dispose_engines(application)


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/health", 200),
        ("GET", "/openapi.json", 200),
        ("GET", "/docs/", 200),
        ("GET", "/v1/me", 401),
        ("GET", "/no-such-path", 404),
        ("PATCH", "/v1/users", 405),
    ],
)
def test_nosniff_on_every_response(client, method, path, status):
    response = client.request(method, path)

    assert response.status_code == status
    assert response.headers["x-content-type-options"] == "nosniff"


def test_nosniff_on_authenticated_responses(client, root_token):
    response = client.get("/v1/users", headers=bearer(root_token))

    assert response.status_code == 200
    assert response.headers["x-content-type-options"] == "nosniff"


def test_token_responses_not_cached(client, root_token):
    login = client.post("/v1/token", data={"username": "root", "password": ROOT_PASSWORD})
    client.post("/v1/users", json={"username": "alice"}, headers=bearer(root_token))
    issued = client.post(
        "/v1/users/alice/tokens", json={"expires_in_days": 1}, headers=bearer(root_token)
    )
    listed = client.get("/v1/users/alice/tokens", headers=bearer(root_token))

    for response in (login, issued, listed):
        assert response.status_code in (200, 201)
        assert response.headers["cache-control"] == "no-store"


def test_body_over_default_limit_rejected(client, root_token):
    body = b'{"username": "' + b"a" * (64 * 1024) + b'"}'

    response = client.post(
        "/v1/users",
        content=body,
        headers={**bearer(root_token), "Content-Type": "application/json"},
    )

    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json() == {
        "type": "about:blank",
        "title": "Request Entity Too Large",
        "status": 413,
        "detail": "The request body is larger than the limit of 65536 bytes.",
    }
    assert response.headers["x-request-id"]


def test_body_limit_checked_before_authentication(client):
    response = client.post("/v1/users", content=b"x" * (64 * 1024 + 1))

    assert response.status_code == 413


def test_body_limit_configurable(make_configured_app):
    client = make_configured_app(max_request_bytes=100).test_client()
    at_limit = b"username=root&password=" + b"x" * 77
    over_limit = at_limit + b"x"
    form = {"Content-Type": "application/x-www-form-urlencoded"}

    assert len(at_limit) == 100
    assert client.post("/v1/token", content=at_limit, headers=form).status_code == 401
    assert client.post("/v1/token", content=over_limit, headers=form).status_code == 413


def test_body_limit_rejects_invalid_content_length(client):
    response = client.post("/v1/users", content=b"{}", headers={"Content-Length": "abc"})

    assert response.status_code == 400
    assert response.json()["detail"] == "The Content-Length header is not a number."


def test_chunked_body_over_limit_rejected(make_configured_app):
    client = make_configured_app(max_request_bytes=100).test_client()

    def chunks() -> Iterator[bytes]:
        for _ in range(11):
            yield b"x" * 10

    response = client.post("/v1/users", content=chunks())

    assert response.status_code == 413


def test_chunked_body_under_limit_passed_on(make_configured_app):
    client = make_configured_app(max_request_bytes=100).test_client()

    def chunks() -> Iterator[bytes]:
        yield b"username=root&"
        yield b"password=" + ROOT_PASSWORD.encode()

    response = client.post(
        "/v1/token",
        content=chunks(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )

    assert response.status_code == 200, response.text


def preflight(client: Any, origin: str = ORIGIN, method: str = "POST") -> Any:
    return client.options(
        "/v1/users",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": method,
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )


def test_cors_off_by_default(client):
    response = preflight(client)

    assert "access-control-allow-origin" not in response.headers
    simple = client.get("/health", headers={"Origin": ORIGIN})
    assert "access-control-allow-origin" not in simple.headers


def test_cors_preflight_from_listed_origin(make_configured_app):
    client = make_configured_app(cors_origins=(ORIGIN,)).test_client()

    response = preflight(client)

    assert response.status_code == 204
    assert response.content == b""
    assert response.headers["access-control-allow-origin"] == ORIGIN
    assert response.headers["access-control-allow-methods"] == "GET, POST, PUT, DELETE"
    assert response.headers["access-control-allow-headers"] == (
        "Accept, Accept-Language, Authorization, Content-Language, Content-Type, X-Request-ID"
    )
    assert response.headers["access-control-max-age"] == "600"
    assert response.headers["x-content-type-options"] == "nosniff"


def test_cors_preflight_from_other_origin(make_configured_app):
    client = make_configured_app(cors_origins=(ORIGIN,)).test_client()

    response = preflight(client, origin="https://evil.example.com")

    assert response.status_code == 400
    assert "access-control-allow-origin" not in response.headers


def test_cors_preflight_unlisted_method(make_configured_app):
    client = make_configured_app(cors_origins=(ORIGIN,)).test_client()

    assert preflight(client, method="PATCH").status_code == 400


def test_cors_headers_on_actual_request(make_configured_app):
    client = make_configured_app(cors_origins=(ORIGIN,)).test_client()

    response = client.get("/v1/me", headers={"Origin": ORIGIN})

    assert response.status_code == 401
    assert response.headers["access-control-allow-origin"] == ORIGIN
    assert response.headers["access-control-expose-headers"] == (
        "Location, Retry-After, WWW-Authenticate, X-Request-ID"
    )


def test_swagger_ui_on_by_default(client):
    response = client.get("/docs/")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")


def test_swagger_ui_off(make_configured_app):
    client = make_configured_app(swagger_ui=False).test_client()

    assert client.get("/docs/").status_code == 404
    assert client.get("/health").status_code == 200
