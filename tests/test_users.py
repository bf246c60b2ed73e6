"""Users and the tokens root issues them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import jwt
import pytest

from .conftest import JWT_SECRET, bearer

INVALID_USERNAME = (
    "'username' must be 1 to 64 ASCII letters, digits, '_', '.' or '-', and not '.' or '..'."
)


def create(client, root_token, username="alice"):
    return client.post("/v1/users", json={"username": username}, headers=bearer(root_token))


def issue(client, root_token, username="alice", body=None):
    return client.post(
        f"/v1/users/{username}/tokens",
        json={"expires_in_days": 30} if body is None else body,
        headers=bearer(root_token),
    )


def parse_time(value: str) -> datetime:
    assert value.endswith("Z"), value
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def claims_of(token: str) -> dict:
    return jwt.decode(token, JWT_SECRET, algorithms=["HS256"], options={"verify_aud": False})


def test_create_user(client, root_token):
    before = datetime.now(UTC).replace(microsecond=0)

    response = create(client, root_token)

    assert response.status_code == 201
    assert response.headers["location"] == "/v1/users/alice"
    body = response.json()
    assert set(body) == {"username", "role", "created_at"}
    assert body["username"] == "alice"
    assert body["role"] == "user"
    created_at = parse_time(body["created_at"])
    assert before <= created_at <= datetime.now(UTC)


@pytest.mark.parametrize("username", ["a", "A.b-c_9", "a" * 64, "...", "-", "_.", "ROOT"])
def test_create_user_valid_names(client, root_token, username):
    response = create(client, root_token, username)

    assert response.status_code == 201
    assert response.json()["username"] == username


@pytest.mark.parametrize(
    "username", ["", "a b", "a" * 65, "\u00e4", "a/b", "a:b", "a\n", ".", "..", "al@ce"]
)
def test_create_user_invalid_names(client, root_token, username):
    response = create(client, root_token, username)

    assert response.status_code == 400
    assert response.json()["detail"] == INVALID_USERNAME


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ({}, "'username' is required."),
        ({"username": 5}, "'username' must be a string, not 5."),
        ({"username": None}, "'username' must be a string, not null."),
        ({"username": "alice", "role": "root"}, "The field 'role' is not allowed."),
        (["alice"], "The request body must be a JSON object."),
    ],
)
def test_create_user_invalid_body(client, root_token, body, detail):
    response = client.post("/v1/users", json=body, headers=bearer(root_token))

    assert response.status_code == 400
    assert response.json()["detail"] == detail


def test_create_user_duplicate(client, root_token):
    create(client, root_token)

    response = create(client, root_token)

    assert response.status_code == 409
    assert response.json() == {
        "type": "about:blank",
        "title": "Conflict",
        "status": 409,
        "detail": "User 'alice' already exists.",
    }


def test_create_user_names_are_case_sensitive(client, root_token):
    assert create(client, root_token, "alice").status_code == 201
    assert create(client, root_token, "Alice").status_code == 201


def test_create_user_root_name_taken(client, root_token):
    response = create(client, root_token, "root")

    assert response.status_code == 409
    assert response.json()["detail"] == "User 'root' already exists."


def test_list_users_sorted_without_root(client, root_token):
    for name in ("carol", "alice", "bob"):
        create(client, root_token, name)

    response = client.get("/v1/users", headers=bearer(root_token))

    assert response.status_code == 200
    assert [user["username"] for user in response.json()] == ["alice", "bob", "carol"]
    assert all(user["role"] == "user" for user in response.json())


def test_list_users_empty(client, root_token):
    response = client.get("/v1/users", headers=bearer(root_token))

    assert response.status_code == 200
    assert response.json() == []


def test_get_user(client, root_token):
    created = create(client, root_token).json()

    response = client.get("/v1/users/alice", headers=bearer(root_token))

    assert response.status_code == 200
    assert response.json() == created


def test_get_user_not_found(client, root_token):
    response = client.get("/v1/users/nobody", headers=bearer(root_token))

    assert response.status_code == 404
    assert response.json()["detail"] == "User 'nobody' not found."


@pytest.mark.parametrize("path", ["/v1/users/a%20b", "/v1/users/" + "a" * 65, "/v1/users/%C3%A4"])
def test_get_user_invalid_name(client, root_token, path):
    response = client.get(path, headers=bearer(root_token))

    assert response.status_code == 400
    assert response.json()["detail"] == INVALID_USERNAME


def test_delete_user(client, root_token):
    create(client, root_token)

    response = client.delete("/v1/users/alice", headers=bearer(root_token))

    assert response.status_code == 204
    assert response.content == b""
    assert client.get("/v1/users/alice", headers=bearer(root_token)).status_code == 404
    assert client.get("/v1/users", headers=bearer(root_token)).json() == []


def test_delete_user_not_found(client, root_token):
    response = client.delete("/v1/users/alice", headers=bearer(root_token))

    assert response.status_code == 404
    assert response.json()["detail"] == "User 'alice' not found."


def test_delete_user_then_create_again(client, root_token):
    create(client, root_token)
    client.delete("/v1/users/alice", headers=bearer(root_token))

    assert create(client, root_token).status_code == 201


def test_issue_token(client, root_token):
    create(client, root_token)

    response = issue(client, root_token)

    assert response.status_code == 201
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["token_type"] == "bearer"
    claims = claims_of(body["access_token"])
    assert claims["sub"] == "alice"
    assert claims["role"] == "user"
    assert claims["exp"] - claims["iat"] == 30 * 86400
    assert len(claims["jti"]) == 32
    assert parse_time(body["expires_at"]) == datetime.fromtimestamp(claims["exp"], UTC)


def test_issue_token_works_for_the_user(client, root_token):
    create(client, root_token)
    token = issue(client, root_token).json()["access_token"]

    response = client.get("/v1/me", headers=bearer(token))

    assert response.status_code == 200
    assert response.json() == {"username": "alice", "role": "user"}


@pytest.mark.parametrize(
    ("days", "seconds"),
    [(0.5, 43_200), (1, 86_400), (1 / 24, 3_600), (3650, 3650 * 86_400)],
)
def test_issue_token_lifetime(client, root_token, days, seconds):
    create(client, root_token)

    body = issue(client, root_token, body={"expires_in_days": days}).json()

    claims = claims_of(body["access_token"])
    assert claims["exp"] - claims["iat"] == seconds
    issued_at = datetime.fromtimestamp(claims["iat"], UTC)
    assert parse_time(body["expires_at"]) - issued_at == timedelta(seconds=seconds)


def test_issue_token_each_is_distinct(client, root_token):
    create(client, root_token)

    first = issue(client, root_token).json()["access_token"]
    second = issue(client, root_token).json()["access_token"]

    assert claims_of(first)["jti"] != claims_of(second)["jti"]
    assert client.get("/v1/me", headers=bearer(first)).status_code == 200
    assert client.get("/v1/me", headers=bearer(second)).status_code == 200


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ({"expires_in_days": 0}, "'expires_in_days' must be greater than 0, not 0."),
        ({"expires_in_days": -1}, "'expires_in_days' must be greater than 0, not -1."),
        ({"expires_in_days": 3650.5}, "'expires_in_days' must be at most 3650, not 3650.5."),
        ({"expires_in_days": 1e308}, "'expires_in_days' must be at most 3650, not 1e+308."),
        ({"expires_in_days": "30"}, "'expires_in_days' must be a number, not '30'."),
        ({"expires_in_days": None}, "'expires_in_days' must be a number, not null."),
        ({}, "'expires_in_days' is required."),
        ({"expires_in_days": 1, "role": "root"}, "The field 'role' is not allowed."),
    ],
)
def test_issue_token_invalid_body(client, root_token, body, detail):
    create(client, root_token)

    response = issue(client, root_token, body=body)

    assert response.status_code == 400
    assert response.json()["detail"] == detail


def test_issue_token_nan_lifetime(client, root_token):
    create(client, root_token)

    response = client.post(
        "/v1/users/alice/tokens",
        content=b'{"expires_in_days": NaN}',
        headers={**bearer(root_token), "Content-Type": "application/json"},
    )

    assert response.status_code == 400
    assert (
        response.json()["detail"] == "The request body is not valid JSON: NaN is not a JSON number."
    )


def test_issue_token_unknown_user(client, root_token):
    response = issue(client, root_token, username="nobody")

    assert response.status_code == 404
    assert response.json()["detail"] == "User 'nobody' not found."


def test_issue_token_for_root_name(client, root_token):
    response = issue(client, root_token, username="root")

    assert response.status_code == 404
    assert response.json()["detail"] == "User 'root' not found."
