"""Tokens for end-to-end tests, issued over HTTP by a running server."""

from __future__ import annotations

import requests

from ..conftest import ROOT_PASSWORD


def user_headers(base_url: str, username: str = "loader") -> dict[str, str]:
    """Create `username` as root and return the Authorization header of a user token."""
    login = requests.post(
        f"{base_url}/v1/token", data={"username": "root", "password": ROOT_PASSWORD}, timeout=10
    )
    assert login.status_code == 200, login.text
    root = {"Authorization": f"Bearer {login.json()['access_token']}"}

    created = requests.post(
        f"{base_url}/v1/users", json={"username": username}, headers=root, timeout=10
    )
    assert created.status_code == 201, created.text
    issued = requests.post(
        f"{base_url}/v1/users/{username}/tokens",
        json={"expires_in_days": 1},
        headers=root,
        timeout=10,
    )
    assert issued.status_code == 201, issued.text
    return {"Authorization": f"Bearer {issued.json()['access_token']}"}
