"""Root login, bearer tokens, roles on every operation, and tokens that must be rejected."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from pathlib import Path

import jwt
import pytest
import yaml

from .conftest import JWT_SECRET, ROOT_PASSWORD, bearer

SPEC = Path(__file__).resolve().parents[1] / "spec" / "openapi.yaml"

#: Every `/v1` operation that needs a token: (method, path, JSON body, root only).
#: The bodies are valid, so a user's request reaches the role check.
OPERATIONS = [
    ("GET", "/v1/me", None, False),
    ("GET", "/v1/users", None, True),
    ("POST", "/v1/users", {"username": "bob"}, True),
    ("GET", "/v1/users/alice", None, True),
    ("DELETE", "/v1/users/alice", None, True),
    ("GET", "/v1/users/alice/tokens", None, True),
    ("POST", "/v1/users/alice/tokens", {"expires_in_days": 1}, True),
    ("DELETE", "/v1/users/alice/tokens/" + "0" * 32, None, True),
    ("GET", "/v1/activities", None, False),
    ("GET", "/v1/activities/swimming", None, False),
    ("PUT", "/v1/activities/swimming", {"male_players": 1, "female_players": 2}, False),
    ("DELETE", "/v1/activities/swimming", None, False),
    ("POST", "/v1/activities/swimming/players", {"male": 1, "female": 0}, False),
    ("GET", "/v1/probabilities", None, False),
    ("GET", "/v1/recommendations/male", None, False),
    ("POST", "/v1/reset", None, True),
]

SPEC_TEMPLATES = {
    "/v1/users/alice": "/v1/users/{username}",
    "/v1/users/alice/tokens": "/v1/users/{username}/tokens",
    "/v1/users/alice/tokens/" + "0" * 32: "/v1/users/{username}/tokens/{jti}",
    "/v1/activities/swimming": "/v1/activities/{name}",
    "/v1/activities/swimming/players": "/v1/activities/{name}/players",
    "/v1/recommendations/male": "/v1/recommendations/{gender}",
}

OTHER_SECRET = "another-secret-of-at-least-32-bytes-long"


def spec_operations() -> dict[tuple[str, str], dict]:
    spec = yaml.safe_load(SPEC.read_text())
    return {
        (method.upper(), path): operation
        for path, item in spec["paths"].items()
        if path.startswith("/v1/")
        for method, operation in item.items()
        if method in {"get", "put", "post", "delete", "patch"}
        and operation.get("security", spec["security"])
    }


def call(client, method, path, body, headers):
    return client.request(method, path, json=body, headers=headers)


def login(client, **form):
    data = {"username": "root", "password": ROOT_PASSWORD, **form}
    return client.post("/v1/token", data={k: v for k, v in data.items() if v is not None})


def claims_of(token: str) -> dict:
    return jwt.decode(token, JWT_SECRET, algorithms=["HS256"], options={"verify_aud": False})


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def sign_hs512(claims: dict, key: str) -> str:
    """Sign with HS512, which the service does not accept, by hand: PyJWT warns on short keys."""
    signing_input = (
        b64(json.dumps({"alg": "HS512", "typ": "JWT"}).encode())
        + "."
        + b64(json.dumps(claims).encode())
    )
    signature = hmac.new(key.encode(), signing_input.encode(), hashlib.sha512).digest()
    return signing_input + "." + b64(signature)


def assert_unauthorized(response) -> None:
    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["title"] == "Unauthorized"


def test_operations_table_covers_spec():
    documented = spec_operations()
    tabled = {(method, SPEC_TEMPLATES.get(path, path)) for method, path, _, _ in OPERATIONS}

    assert tabled == set(documented)


@pytest.mark.parametrize(("method", "path", "body", "root_only"), OPERATIONS)
def test_operations_table_root_only_matches_spec(method, path, body, root_only):
    operation = spec_operations()[(method, SPEC_TEMPLATES.get(path, path))]

    assert ("403" in operation["responses"]) is root_only


def test_login_root(client):
    response = login(client)

    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 3600
    claims = claims_of(body["access_token"])
    assert claims["sub"] == "root"
    assert claims["role"] == "root"
    assert claims["exp"] - claims["iat"] == 3600
    assert len(claims["jti"]) == 32


def test_login_with_password_grant_type(client):
    response = login(client, grant_type="password")

    assert response.status_code == 200


def test_login_ignores_oauth_client_fields(client):
    response = login(client, scope="anything", client_id="cli", client_secret="s")

    assert response.status_code == 200


@pytest.mark.parametrize("grant_type", ["client_credentials", "authorization_code", "", "PASSWORD"])
def test_login_other_grant_type(client, grant_type):
    response = login(client, grant_type=grant_type)

    assert response.status_code == 400
    assert response.json()["detail"] == f"'grant_type' must be 'password', not {grant_type!r}."


@pytest.mark.parametrize(
    ("username", "password"),
    [
        ("root", "wrong-password"),
        ("root", ""),
        ("root", ROOT_PASSWORD + " "),
        ("Root", ROOT_PASSWORD),
        ("alice", ROOT_PASSWORD),
        ("", ROOT_PASSWORD),
    ],
)
def test_login_wrong_credentials(client, username, password):
    response = login(client, username=username, password=password)

    assert_unauthorized(response)
    assert response.json()["detail"] == "Incorrect username or password."


@pytest.mark.parametrize(
    ("form", "detail"),
    [
        ({"password": None}, "'password' is required."),
        ({"username": None}, "'username' is required."),
        ({"other": "x"}, "Unknown form field 'other'."),
    ],
)
def test_login_invalid_form(client, form, detail):
    response = login(client, **form)

    assert response.status_code == 400
    assert response.json()["detail"] == detail


def test_login_json_body_rejected(client):
    response = client.post("/v1/token", json={"username": "root", "password": ROOT_PASSWORD})

    assert response.status_code == 415


def test_login_user_cannot_log_in(client, user_token):
    response = login(client, username="alice")

    assert_unauthorized(response)


def test_me_root(client, root_token):
    response = client.get("/v1/me", headers=bearer(root_token))

    assert response.status_code == 200
    assert response.json() == {"username": "root", "role": "root"}


def test_me_user(client, user_token):
    response = client.get("/v1/me", headers=bearer(user_token))

    assert response.status_code == 200
    assert response.json() == {"username": "alice", "role": "user"}


@pytest.mark.parametrize(("method", "path", "body", "root_only"), OPERATIONS)
def test_operation_without_token(client, method, path, body, root_only):
    response = call(client, method, path, body, {})

    assert_unauthorized(response)
    assert response.json()["detail"] == "No authorization token provided"


@pytest.mark.parametrize(("method", "path", "body", "root_only"), OPERATIONS)
def test_operation_with_user_token(client, user_token, method, path, body, root_only):
    response = call(client, method, path, body, bearer(user_token))

    if root_only:
        assert response.status_code == 403
        assert response.json()["detail"] == "This operation requires the root role."
    else:
        assert response.status_code < 400, response.text


@pytest.mark.parametrize(("method", "path", "body", "root_only"), OPERATIONS)
def test_operation_with_root_token(client, root_token, user_token, method, path, body, root_only):
    response = call(client, method, path, body, bearer(root_token))

    assert response.status_code not in (401, 403), response.text


def test_root_only_operation_changes_nothing_for_user(client, root_token, user_token):
    response = client.delete("/v1/users/alice", headers=bearer(user_token))

    assert response.status_code == 403
    assert client.get("/v1/users/alice", headers=bearer(root_token)).status_code == 200


@pytest.mark.parametrize(
    "authorization",
    ["", "Bearer", "Bearer ", "Basic cm9vdDpwdw==", "Bearer abc", "Bearer a.b.c", "Token abc"],
)
def test_malformed_authorization_header(client, authorization):
    response = client.get("/v1/me", headers={"Authorization": authorization})

    assert_unauthorized(response)


def test_resigned_unchanged_claims_accepted(client, user_token):
    """The harness for the cases below: re-signing the same claims gives a working token."""
    token = jwt.encode(claims_of(user_token), JWT_SECRET, algorithm="HS256")

    assert client.get("/v1/me", headers=bearer(token)).status_code == 200


@pytest.mark.parametrize(
    "change",
    [
        {"exp": -60, "iat": -120},
        {"exp": -3600, "iat": -7200},
        {"role": "root"},
        {"role": "admin"},
        {"sub": "root"},
        {"sub": "bob"},
        {"iss": "someone-else"},
        {"aud": "someone-else"},
    ],
)
def test_token_changed_claim_rejected(client, user_token, change):
    claims = claims_of(user_token)
    now = int(time.time())
    for key, value in change.items():
        claims[key] = now + value if key in ("exp", "iat") else value

    token = jwt.encode(claims, JWT_SECRET, algorithm="HS256")

    assert_unauthorized(client.get("/v1/me", headers=bearer(token)))


def test_token_unknown_jti_rejected(client, user_token):
    """A well-signed token that the service never issued, or whose record is gone."""
    token = jwt.encode(
        {**claims_of(user_token), "jti": uuid.uuid4().hex}, JWT_SECRET, algorithm="HS256"
    )

    response = client.get("/v1/me", headers=bearer(token))

    assert_unauthorized(response)
    assert response.json()["detail"] == "The token was revoked or its user was deleted."


@pytest.mark.parametrize("claim", ["sub", "role", "iat", "exp", "jti", "iss", "aud"])
def test_token_missing_claim_rejected(client, user_token, claim):
    claims = claims_of(user_token)
    del claims[claim]

    token = jwt.encode(claims, JWT_SECRET, algorithm="HS256")

    assert_unauthorized(client.get("/v1/me", headers=bearer(token)))


def test_token_wrong_secret_rejected(client, user_token):
    token = jwt.encode(claims_of(user_token), OTHER_SECRET, algorithm="HS256")

    assert_unauthorized(client.get("/v1/me", headers=bearer(token)))


def test_token_alg_none_rejected(client, user_token):
    token = jwt.encode(claims_of(user_token), None, algorithm="none")

    assert token.endswith(".")
    assert_unauthorized(client.get("/v1/me", headers=bearer(token)))


def test_token_other_hmac_algorithm_rejected(client, user_token):
    token = sign_hs512(claims_of(user_token), JWT_SECRET)

    assert_unauthorized(client.get("/v1/me", headers=bearer(token)))


def test_token_tampered_payload_rejected(client, user_token):
    header, _, signature = user_token.split(".")
    claims = {**claims_of(user_token), "role": "root"}
    payload = b64(json.dumps(claims).encode())

    token = f"{header}.{payload}.{signature}"

    assert_unauthorized(client.get("/v1/users", headers=bearer(token)))


def test_token_tampered_signature_rejected(client, user_token):
    header, payload, signature = user_token.split(".")
    middle = len(signature) // 2
    flipped = "A" if signature[middle] != "A" else "B"

    token = f"{header}.{payload}.{signature[:middle]}{flipped}{signature[middle + 1 :]}"

    assert_unauthorized(client.get("/v1/me", headers=bearer(token)))


def test_token_without_signature_rejected(client, user_token):
    header, payload, _ = user_token.split(".")

    assert_unauthorized(client.get("/v1/me", headers=bearer(f"{header}.{payload}.")))


def test_token_expired_user_token_rejected(client, root_token):
    client.post("/v1/users", json={"username": "alice"}, headers=bearer(root_token))
    token = client.post(
        "/v1/users/alice/tokens",
        json={"expires_in_days": 1 / 86400},
        headers=bearer(root_token),
    ).json()["access_token"]
    claims = claims_of(token)

    # The service allows 10 seconds of clock difference; move the claims past it.
    expired = jwt.encode(
        {**claims, "iat": claims["iat"] - 60, "exp": claims["exp"] - 60},
        JWT_SECRET,
        algorithm="HS256",
    )

    assert_unauthorized(client.get("/v1/me", headers=bearer(expired)))


def test_deleted_user_token_rejected_at_once(client, root_token, user_token):
    assert client.get("/v1/me", headers=bearer(user_token)).status_code == 200

    assert client.delete("/v1/users/alice", headers=bearer(root_token)).status_code == 204

    response = client.get("/v1/activities", headers=bearer(user_token))
    assert_unauthorized(response)
    assert response.json()["detail"] == "The token was revoked or its user was deleted."


def test_recreated_user_does_not_revive_old_token(client, root_token, user_token):
    client.delete("/v1/users/alice", headers=bearer(root_token))
    client.post("/v1/users", json={"username": "alice"}, headers=bearer(root_token))

    assert_unauthorized(client.get("/v1/me", headers=bearer(user_token)))

    fresh = client.post(
        "/v1/users/alice/tokens", json={"expires_in_days": 1}, headers=bearer(root_token)
    ).json()["access_token"]
    assert client.get("/v1/me", headers=bearer(fresh)).status_code == 200
    assert_unauthorized(client.get("/v1/me", headers=bearer(user_token)))


def test_deleting_one_user_keeps_other_tokens(client, root_token, make_user_token):
    alice = make_user_token("alice")
    bob = make_user_token("bob")

    client.delete("/v1/users/alice", headers=bearer(root_token))

    assert_unauthorized(client.get("/v1/me", headers=bearer(alice)))
    assert client.get("/v1/me", headers=bearer(bob)).json() == {"username": "bob", "role": "user"}
    assert client.get("/v1/me", headers=bearer(root_token)).status_code == 200
