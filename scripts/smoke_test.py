#!/usr/bin/env python3
"""Smoke-test a running Activity Recommender over HTTP; standard library only.

Without credentials it checks what every deployment must serve: liveness, readiness (the
database answers), the spec, and a 401 for a request without a token. With the root
password it also logs in, creates a user, issues them a token and gets recommendations as
that user. The deploy workflow runs it without credentials against the public URL, so it
changes no data there; the image check runs it with credentials against a fresh database.

Usage: smoke_test.py BASE_URL [--root-password-env NAME] [--timeout SECONDS]
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any


class SmokeTestError(Exception):
    """Raised when a response differs from what the running service must return."""


def request(
    base_url: str,
    method: str,
    path: str,
    *,
    token: str | None = None,
    json_body: Any = None,
    form: dict[str, str] | None = None,
) -> tuple[int, dict[str, str], Any]:
    """Send one request; return the status, the headers (names in lowercase) and the JSON body."""
    headers = {"Accept": "application/json, application/problem+json"}
    data = None
    if token:
        headers["Authorization"] = f"Bearer {token}"
    if json_body is not None:
        data = json.dumps(json_body).encode()
        headers["Content-Type"] = "application/json"
    if form is not None:
        data = urllib.parse.urlencode(form).encode()
        headers["Content-Type"] = "application/x-www-form-urlencoded"

    prepared = urllib.request.Request(base_url + path, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(prepared, timeout=10) as response:
            status, response_headers, raw = response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        status, response_headers, raw = error.code, dict(error.headers), error.read()
    body = json.loads(raw) if raw else None
    return status, {name.lower(): value for name, value in response_headers.items()}, body


def expect(condition: bool, message: str) -> None:
    if not condition:
        raise SmokeTestError(message)


def wait_until_live(base_url: str, timeout: float) -> None:
    """Poll /health until it returns 200, for a service that is still starting."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            status, _, _ = request(base_url, "GET", "/health")
            if status == 200:
                return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        if time.monotonic() > deadline:
            raise SmokeTestError(f"{base_url}/health did not return 200 within {timeout} s")
        time.sleep(2)


def check_anonymous(base_url: str) -> None:
    """Check the endpoints that need no credentials."""
    status, _, body = request(base_url, "GET", "/health")
    expect(status == 200 and body == {"status": "ok"}, f"GET /health: {status} {body}")

    status, _, body = request(base_url, "GET", "/ready")
    expect(status == 200 and body == {"status": "ok"}, f"GET /ready: {status} {body}")

    status, _, body = request(base_url, "GET", "/openapi.json")
    expect(status == 200 and "openapi" in body, f"GET /openapi.json: {status}")

    status, headers, body = request(base_url, "GET", "/v1/recommendations/female")
    expect(status == 401, f"GET /v1/recommendations/female without a token: {status} {body}")
    expect(
        headers.get("www-authenticate", "").startswith("Bearer"),
        f"401 without a WWW-Authenticate: Bearer header: {headers}",
    )


def check_as_user(base_url: str, root_username: str, root_password: str) -> None:
    """Log in as root, create a user with a token, and get recommendations as that user."""
    status, _, body = request(
        base_url,
        "POST",
        "/v1/token",
        form={"grant_type": "password", "username": root_username, "password": root_password},
    )
    expect(status == 200, f"POST /v1/token as {root_username}: {status} {body}")
    root_token = body["access_token"]

    username = f"smoke-{secrets.token_hex(4)}"
    status, _, body = request(
        base_url, "POST", "/v1/users", token=root_token, json_body={"username": username}
    )
    expect(status == 201, f"POST /v1/users {username}: {status} {body}")

    status, _, body = request(
        base_url,
        "POST",
        f"/v1/users/{username}/tokens",
        token=root_token,
        json_body={"expires_in_days": 1},
    )
    expect(status == 201, f"POST /v1/users/{username}/tokens: {status} {body}")
    user_token = body["access_token"]

    status, _, body = request(
        base_url, "GET", "/v1/recommendations/female?count=2&seed=7", token=user_token
    )
    expect(status == 200, f"GET /v1/recommendations/female: {status} {body}")
    expect(body["gender"] == "female", f"recommendations for the wrong gender: {body}")
    expect(len(body["recommendations"]) == 2, f"expected 2 recommendations: {body}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("base_url", help="the service's URL, such as https://api.example.com")
    parser.add_argument(
        "--root-password-env",
        metavar="NAME",
        help="environment variable that contains the root password; enables the login checks",
    )
    parser.add_argument(
        "--root-username", default="root", help="the root user's name (default: root)"
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=60,
        help="seconds to wait for /health to return 200 before checking (default: 60)",
    )
    args = parser.parse_args(argv)
    base_url = args.base_url.rstrip("/")

    try:
        wait_until_live(base_url, args.timeout)
        check_anonymous(base_url)
        if args.root_password_env:
            password = os.environ.get(args.root_password_env)
            if not password:
                raise SmokeTestError(f"environment variable {args.root_password_env} is not set")
            check_as_user(base_url, args.root_username, password)
    except SmokeTestError as error:
        print(f"smoke test failed: {error}", file=sys.stderr)
        return 1
    print(f"smoke test passed: {base_url}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
