"""Fixtures shared by the whole suite: a database per session, fresh data per test."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable, Iterator

import flask_migrate
import pytest
from argon2 import PasswordHasher, profiles
from sqlalchemy import delete

from api import create_app
from api.app import register_migrations
from api.activities import reset_activities
from api.auth import issue_token
from api.db import db
from api.models import Activity, LoginFailure, Token, User

from .databases import KINDS, temporary_database

JWT_SECRET = "test-secret-of-at-least-32-bytes-long"
ROOT_PASSWORD = "test-root-password"
#: The Argon2 hash of ROOT_PASSWORD with the cheapest parameters, which the apps and
#: servers of the suite are given, so that the many root logins stay fast.
ROOT_PASSWORD_HASH = PasswordHasher.from_parameters(profiles.CHEAPEST).hash(ROOT_PASSWORD)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--db",
        choices=KINDS,
        default=os.environ.get("TEST_DATABASE", "sqlite"),
        help="database server to run the suite on (default: $TEST_DATABASE or sqlite)",
    )


def pytest_report_header(config: pytest.Config) -> str:
    return f"database: {config.getoption('--db')}"


@pytest.fixture(scope="session")
def database_kind(request: pytest.FixtureRequest) -> str:
    return str(request.config.getoption("--db"))


@pytest.fixture(scope="session")
def database_url(database_kind: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A new database at the head migration, dropped after the session."""
    folder = tmp_path_factory.mktemp("database")
    with temporary_database(database_kind, folder) as url:
        app = make_app(url, folder)
        with app.app.app_context():
            flask_migrate.upgrade()
            db.engine.dispose()
        yield url


def make_app(database_url: str, instance_path: Path, **overrides: Any) -> Any:
    """Build the app the way tests need it: fixed secrets, responses validated."""
    settings: dict[str, Any] = {
        "database_url": database_url,
        "jwt_secret": JWT_SECRET,
        "root_password": ROOT_PASSWORD_HASH,
        "instance_path": instance_path,
        "validate_responses": True,
    }
    settings.update(overrides)
    application = create_app(**settings)
    register_migrations(application.app)
    return application


def dispose_engines(application: Any) -> None:
    """Close the pooled connections of both of `application`'s engines."""
    with application.app.app_context():
        for engine in db.engines.values():
            engine.dispose()


@pytest.fixture(scope="session")
def app(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    application = make_app(database_url, tmp_path_factory.mktemp("instance"))
    yield application
    dispose_engines(application)


@pytest.fixture(autouse=True)
def fresh_data(request: pytest.FixtureRequest) -> None:
    """Give every test the state of a new database: default activities, no users or tokens."""
    if "app" not in request.fixturenames and "server" not in request.fixturenames:
        return
    application = request.getfixturevalue("app")
    with application.app.app_context():
        db.session.execute(delete(Token))
        db.session.execute(delete(LoginFailure))
        db.session.execute(delete(User))
        db.session.execute(delete(Activity))
        db.session.commit()
        reset_activities()
        db.session.remove()


@pytest.fixture
def client(app: Any) -> Any:
    return app.test_client()


@pytest.fixture
def app_context(app: Any) -> Iterator[None]:
    with app.app.app_context():
        yield
        db.session.remove()


@pytest.fixture
def root_token(client: Any) -> str:
    response = client.post("/v1/token", data={"username": "root", "password": ROOT_PASSWORD})
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


@pytest.fixture
def make_user_token(client: Any, root_token: str) -> Callable[[str], str]:
    """Create a user through the API and return a 30-day token for them."""

    def make(username: str = "alice") -> str:
        headers = bearer(root_token)
        created = client.post("/v1/users", json={"username": username}, headers=headers)
        assert created.status_code == 201, created.text
        issued = client.post(
            f"/v1/users/{username}/tokens", json={"expires_in_days": 30}, headers=headers
        )
        assert issued.status_code == 201, issued.text
        return str(issued.json()["access_token"])

    return make


@pytest.fixture
def user_token(make_user_token: Callable[[str], str]) -> str:
    return make_user_token("alice")


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


__all__ = [
    "bearer",
    "issue_token",
    "make_app",
    "JWT_SECRET",
    "ROOT_PASSWORD",
    "ROOT_PASSWORD_HASH",
]
