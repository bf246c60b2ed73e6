"""405 responses list every method the spec documents for the path."""

from __future__ import annotations

from typing import Any

import pytest


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("OPTIONS", "/v1/users", "GET, HEAD, POST"),
        ("PATCH", "/v1/users/alice", "DELETE, GET, HEAD"),
        ("OPTIONS", "/v1/activities/swimming", "DELETE, GET, HEAD, PUT"),
        ("GET", "/v1/activities/swimming/players", "POST"),
        ("DELETE", "/token/", "POST"),
        ("POST", "/Activity/", "GET, HEAD"),
    ],
)
def test_method_not_allowed_lists_documented_methods(
    client: Any, method: str, path: str, allow: str
) -> None:
    response = client.request(method, path)

    assert response.status_code == 405
    assert response.headers["allow"] == allow
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["detail"] == f"{method} is not allowed here; use one of: {allow}."
