"""Root password hashing, production settings, clock leeway and the login throttle."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import jwt
import pytest
from argon2 import PasswordHasher, profiles

from api.auth import utc_now
from api.config import ConfigError, load_settings
from api.db import db
from api.models import LoginFailure

from .conftest import JWT_SECRET, ROOT_PASSWORD, bearer, dispose_engines, make_app

CHEAP = PasswordHasher.from_parameters(profiles.CHEAPEST)

PRODUCTION = {
    "APP_ENV": "production",
    "JWT_SECRET": JWT_SECRET,
    "ROOT_PASSWORD": "a-root-password",
}


def login(client: Any, username: str = "root", password: str = ROOT_PASSWORD) -> Any:
    return client.post("/v1/token", data={"username": username, "password": password})


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"JWT_SECRET": ""}, "JWT_SECRET must be set to at least 32 bytes in production"),
        ({"JWT_SECRET": "x" * 31}, "JWT_SECRET must be set to at least 32 bytes in production"),
        ({"ROOT_PASSWORD": ""}, "ROOT_PASSWORD must be set in production"),
        (
            {"ROOT_PASSWORD": "$argon2id$v=19$broken"},
            "invalid ROOT_PASSWORD: the value starts with $argon2 but is not a valid Argon2 hash",
        ),
    ],
)
def test_production_rejects_weak_settings(environ, message):
    with pytest.raises(ConfigError) as raised:
        load_settings({**PRODUCTION, **environ})

    assert str(raised.value) == message


def test_production_accepts_strong_settings():
    settings = load_settings({**PRODUCTION, "JWT_SECRET": "x" * 32})

    assert settings.is_production
    assert settings.jwt_secret == "x" * 32


def test_plain_root_password_hashed_at_start():
    settings = load_settings(PRODUCTION)

    assert settings.root_password.startswith("$argon2id$")
    assert "a-root-password" not in settings.root_password
    assert PasswordHasher().verify(settings.root_password, "a-root-password")


def test_argon2_root_password_kept():
    password_hash = CHEAP.hash("s3cret")

    settings = load_settings({**PRODUCTION, "ROOT_PASSWORD": password_hash})

    assert settings.root_password == password_hash


def test_settings_repr_hides_secrets():
    settings = load_settings(PRODUCTION)

    assert JWT_SECRET not in repr(settings)
    assert settings.root_password not in repr(settings)


@pytest.fixture
def hashed_root_app(database_url: str, tmp_path: Any, app: Any) -> Iterator[Any]:
    application = make_app(database_url, tmp_path, root_password=CHEAP.hash("s3cret"))
    yield application
    dispose_engines(application)


def test_login_with_argon2_root_password(hashed_root_app):
    client = hashed_root_app.test_client()

    assert login(client, password="s3cret").status_code == 200
    assert login(client, password=CHEAP.hash("s3cret")).status_code == 401


def test_token_expired_past_leeway_rejected(client, root_token):
    claims = jwt.decode(
        root_token, JWT_SECRET, algorithms=["HS256"], audience="activity-recommender"
    )
    now = int(time.time())
    # The clock leeway must stay at most 30 seconds: 31 seconds late is too late.
    expired = jwt.encode(
        {**claims, "iat": now - 120, "exp": now - 31}, JWT_SECRET, algorithm="HS256"
    )

    assert client.get("/v1/me", headers=bearer(expired)).status_code == 401


def add_failures(
    count: int, ago: timedelta, username: str = "root", address: str = "testclient"
) -> None:
    failed_at = utc_now() - ago
    db.session.add_all(
        LoginFailure(username=username, address=address, failed_at=failed_at) for _ in range(count)
    )
    db.session.commit()


def failure_count() -> int:
    return db.session.query(LoginFailure).count()


def test_five_failures_lock_out_correct_password(client, app_context):
    for _ in range(5):
        assert login(client, password="wrong").status_code == 401

    response = login(client)

    assert response.status_code == 429
    assert response.headers["content-type"] == "application/problem+json"
    retry_after = int(response.headers["retry-after"])
    assert 290 <= retry_after <= 300
    assert response.json()["detail"] == f"Too many failed logins. Retry in {retry_after} seconds."
    assert failure_count() == 5


def test_four_failures_do_not_lock_out(client, app_context):
    for _ in range(4):
        assert login(client, password="wrong").status_code == 401

    assert login(client).status_code == 200


def test_retry_after_counts_from_fifth_newest_failure(client, app_context):
    add_failures(5, ago=timedelta(seconds=100))

    response = login(client)

    assert response.status_code == 429
    assert 195 <= int(response.headers["retry-after"]) <= 200


def test_failures_older_than_window_ignored(client, app_context):
    add_failures(5, ago=timedelta(minutes=5, seconds=1))

    assert login(client).status_code == 200


def test_lockout_per_username_from_any_address(client, app_context):
    add_failures(5, ago=timedelta(seconds=10), address="203.0.113.7")

    assert login(client).status_code == 429
    assert login(client, username="someone-else", password="wrong").status_code == 401


def test_lockout_per_address_for_any_username(client, app_context):
    for number in range(5):
        assert login(client, username=f"guess{number}", password="wrong").status_code == 401

    assert login(client).status_code == 429


def test_success_clears_username_failures(client, app_context):
    for _ in range(4):
        login(client, password="wrong")
    assert login(client).status_code == 200

    for _ in range(4):
        assert login(client, password="wrong").status_code == 401
    assert login(client).status_code == 200


def test_locked_out_attempts_not_recorded(client, app_context):
    add_failures(5, ago=timedelta(seconds=10))

    for _ in range(3):
        assert login(client, password="wrong").status_code == 429

    assert failure_count() == 5


def test_legacy_login_throttled_too(client, app_context):
    add_failures(5, ago=timedelta(seconds=10))

    response = client.post("/token/", data={"username": "root", "password": ROOT_PASSWORD})

    assert response.status_code == 429
    assert "retry-after" in response.headers
