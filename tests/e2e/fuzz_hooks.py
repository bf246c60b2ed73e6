"""Schemathesis hooks for `make fuzz`: the bearer token each operation is called with.

Root-only operations get the root token that `test_fuzz.py` passes in the environment.
Every other operation gets a user token, which `UserToken` issues through the API.
Schemathesis still removes or spoils both for its `ignored_auth` check.
"""

from __future__ import annotations

import os
from typing import Any

import requests
import schemathesis

#: Tags whose operations all require the root role.
ROOT_TAGS = ["users", "admin"]
#: Legacy operations that require the root role; the rest of the tag takes any token.
ROOT_OPERATIONS = ["legacy_generate_token", "legacy_check_root_token", "legacy_reset"]

#: Set by test_fuzz.py.
BASE_URL_VARIABLE = "FUZZ_BASE_URL"
ROOT_TOKEN_VARIABLE = "FUZZ_ROOT_TOKEN"

#: The owner of the user token.
TOKEN_OWNER = "schemathesis-token-owner"


def _set_bearer(case: Any, token: str) -> None:
    case.headers["Authorization"] = f"Bearer {token}"


# Providers are tried in the order they are registered, so root goes first.
@schemathesis.auth().apply_to(tag=ROOT_TAGS).apply_to(operation_id=ROOT_OPERATIONS)
class RootToken:
    """The root token from the environment; nothing the fuzzer sends can revoke it."""

    def get(self, case: Any, context: Any) -> str:
        return os.environ[ROOT_TOKEN_VARIABLE]

    def set(self, case: Any, data: str, context: Any) -> None:
        _set_bearer(case, data)


@schemathesis.auth()
class UserToken:
    """A token of `TOKEN_OWNER`, who is created first when missing.

    The fuzzer finds the owner in `GET /v1/users` and may delete them, which revokes
    the token. Schemathesis then calls `get` again on the next 401, so the user is
    recreated and the rest of the run keeps a valid token.
    """

    def get(self, case: Any, context: Any) -> str:
        base_url = os.environ[BASE_URL_VARIABLE]
        root = {"Authorization": f"Bearer {os.environ[ROOT_TOKEN_VARIABLE]}"}
        created = requests.post(
            f"{base_url}/v1/users", json={"username": TOKEN_OWNER}, headers=root, timeout=10
        )
        if created.status_code not in (201, 409):
            raise RuntimeError(
                f"creating {TOKEN_OWNER} failed: {created.status_code} {created.text}"
            )
        issued = requests.post(
            f"{base_url}/v1/users/{TOKEN_OWNER}/tokens",
            json={"expires_in_days": 1},
            headers=root,
            timeout=10,
        )
        if issued.status_code != 201:
            raise RuntimeError(f"issuing a token failed: {issued.status_code} {issued.text}")
        return str(issued.json()["access_token"])

    def set(self, case: Any, data: str, context: Any) -> None:
        _set_bearer(case, data)
