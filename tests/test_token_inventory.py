"""Listing and revoking issued tokens: `GET /v1/users/{username}/tokens` and `DELETE .../{jti}`."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import jwt

from api.auth import utc_now
from api.db import db
from api.models import Token, User

from .conftest import JWT_SECRET, bearer

TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")


def issue(client: Any, root_token: str, username: str, days: float = 30) -> dict[str, Any]:
    response = client.post(
        f"/v1/users/{username}/tokens", json={"expires_in_days": days}, headers=bearer(root_token)
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


def jti_of(token: str) -> str:
    claims = jwt.decode(token, JWT_SECRET, algorithms=["HS256"], audience="activity-recommender")
    return str(claims["jti"])


def test_issued_token_names_its_jti(client, root_token):
    client.post("/v1/users", json={"username": "alice"}, headers=bearer(root_token))

    issued = issue(client, root_token, "alice")

    assert issued["jti"] == jti_of(issued["access_token"])


def test_list_user_tokens(client, root_token):
    client.post("/v1/users", json={"username": "alice"}, headers=bearer(root_token))
    first = issue(client, root_token, "alice", days=1)
    second = issue(client, root_token, "alice", days=2)

    response = client.get("/v1/users/alice/tokens", headers=bearer(root_token))

    assert response.status_code == 200
    records = response.json()
    # Oldest first; tokens issued in the same second are ordered by jti.
    assert records == sorted(records, key=lambda record: (record["issued_at"], record["jti"]))
    by_jti = {record["jti"]: record for record in records}
    assert set(by_jti) == {first["jti"], second["jti"]}
    for issued in (first, second):
        record = by_jti[issued["jti"]]
        assert record["username"] == "alice"
        assert record["role"] == "user"
        assert record["expires_at"] == issued["expires_at"]
        assert TIMESTAMP.fullmatch(record["issued_at"])
        assert record["last_used_at"] is None


def test_list_shows_last_use(client, root_token):
    client.post("/v1/users", json={"username": "alice"}, headers=bearer(root_token))
    issued = issue(client, root_token, "alice")
    assert client.get("/v1/me", headers=bearer(issued["access_token"])).status_code == 200

    (record,) = client.get("/v1/users/alice/tokens", headers=bearer(root_token)).json()

    assert TIMESTAMP.fullmatch(record["last_used_at"])


def test_list_leaves_out_expired_tokens(client, root_token, app_context):
    client.post("/v1/users", json={"username": "alice"}, headers=bearer(root_token))
    issued = issue(client, root_token, "alice")
    user = db.session.query(User).filter_by(username="alice").one()
    now = utc_now().replace(microsecond=0)
    db.session.add(
        Token(
            jti="e" * 32,
            user_id=user.id,
            subject="alice",
            role="user",
            issued_at=now - timedelta(days=2),
            expires_at=now - timedelta(days=1),
        )
    )
    db.session.commit()

    records = client.get("/v1/users/alice/tokens", headers=bearer(root_token)).json()

    assert [record["jti"] for record in records] == [issued["jti"]]


def test_list_root_tokens(client, root_token):
    records = client.get("/v1/users/root/tokens", headers=bearer(root_token)).json()

    assert [record["jti"] for record in records] == [jti_of(root_token)]
    assert records[0]["role"] == "root"
    assert records[0]["username"] == "root"


def test_list_tokens_of_unknown_user(client, root_token):
    response = client.get("/v1/users/nobody/tokens", headers=bearer(root_token))

    assert response.status_code == 404
    assert response.json()["detail"] == "User 'nobody' not found."


def test_list_tokens_needs_root(client, user_token):
    response = client.get("/v1/users/alice/tokens", headers=bearer(user_token))

    assert response.status_code == 403


def test_revoked_token_rejected_from_next_request(client, root_token):
    client.post("/v1/users", json={"username": "alice"}, headers=bearer(root_token))
    kept = issue(client, root_token, "alice")
    revoked = issue(client, root_token, "alice")
    assert client.get("/v1/me", headers=bearer(revoked["access_token"])).status_code == 200

    response = client.delete(f"/v1/users/alice/tokens/{revoked['jti']}", headers=bearer(root_token))

    assert response.status_code == 204
    assert client.get("/v1/me", headers=bearer(revoked["access_token"])).status_code == 401
    assert client.get("/v1/me", headers=bearer(kept["access_token"])).status_code == 200
    listed = client.get("/v1/users/alice/tokens", headers=bearer(root_token)).json()
    assert [record["jti"] for record in listed] == [kept["jti"]]


def test_revoke_root_token(client, root_token):
    response = client.delete(
        f"/v1/users/root/tokens/{jti_of(root_token)}", headers=bearer(root_token)
    )

    assert response.status_code == 204
    assert client.get("/v1/me", headers=bearer(root_token)).status_code == 401


def test_revoke_twice_not_found(client, root_token):
    client.post("/v1/users", json={"username": "alice"}, headers=bearer(root_token))
    issued = issue(client, root_token, "alice")
    path = f"/v1/users/alice/tokens/{issued['jti']}"
    client.delete(path, headers=bearer(root_token))

    response = client.delete(path, headers=bearer(root_token))

    assert response.status_code == 404
    assert response.json()["detail"] == f"Token '{issued['jti']}' of user 'alice' not found."


def test_revoke_other_users_token_not_found(client, root_token):
    for name in ("alice", "bob"):
        client.post("/v1/users", json={"username": name}, headers=bearer(root_token))
    bobs = issue(client, root_token, "bob")

    response = client.delete(f"/v1/users/alice/tokens/{bobs['jti']}", headers=bearer(root_token))

    assert response.status_code == 404
    assert client.get("/v1/me", headers=bearer(bobs["access_token"])).status_code == 200


def test_revoke_malformed_jti(client, root_token):
    response = client.delete("/v1/users/alice/tokens/not-a-jti", headers=bearer(root_token))

    assert response.status_code == 400


def test_revoke_needs_root(client, user_token):
    response = client.delete(
        f"/v1/users/alice/tokens/{jti_of(user_token)}", headers=bearer(user_token)
    )

    assert response.status_code == 403
    assert client.get("/v1/me", headers=bearer(user_token)).status_code == 200
