"""A database without this version's tables or columns: 503 and a failing /ready, never 500.

Such a database was dropped under the service, or never migrated. Each test builds its
own app on a new database of the suite's kind, so that it can break it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import flask_migrate
import pytest
from sqlalchemy import text

from api import auth
from api.app import SETTINGS_KEY
from api.db import db

from .conftest import ROOT_PASSWORD, bearer, dispose_engines, make_app
from .databases import temporary_database

UNAVAILABLE = {
    "type": "about:blank",
    "title": "Service Unavailable",
    "status": 503,
    "detail": "The database is unavailable. Retry later.",
}

MIGRATION_HINT = "503 the database lacks a table or column of this version"


@pytest.fixture
def empty_app(app: Any, database_kind: str, tmp_path: Path) -> Iterator[Any]:
    """An app on a new, empty database of the suite's kind."""
    with temporary_database(database_kind, tmp_path) as url:
        own = make_app(url, tmp_path)
        yield own
        dispose_engines(own)
    # The factory binds its settings for token checks, so give them back to the suite's app.
    auth.bind_settings(app.app.extensions[SETTINGS_KEY])


@pytest.fixture
def migrated_app(empty_app: Any) -> Any:
    with empty_app.app.app_context():
        flask_migrate.upgrade()
    return empty_app


def root_headers(application: Any) -> dict[str, str]:
    response = application.test_client().post(
        "/v1/token", data={"username": "root", "password": ROOT_PASSWORD}
    )
    assert response.status_code == 200, response.text
    return bearer(response.json()["access_token"])


def run_ddl(application: Any, statement: str) -> None:
    with application.app.app_context():
        db.session.execute(text(statement))
        db.session.commit()
        db.session.remove()


def assert_unavailable(response: Any) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json() == UNAVAILABLE


def test_ready_fails_before_migrations(empty_app: Any, caplog: pytest.LogCaptureFixture) -> None:
    client = empty_app.test_client()

    assert_unavailable(client.get("/ready"))
    # Issuing a token stores it, which needs the tokens table.
    assert_unavailable(
        client.post("/v1/token", data={"username": "root", "password": ROOT_PASSWORD})
    )
    assert MIGRATION_HINT in caplog.text


def test_dropped_table_gives_503(migrated_app: Any, caplog: pytest.LogCaptureFixture) -> None:
    client = migrated_app.test_client()
    headers = root_headers(migrated_app)
    assert client.get("/ready").status_code == 200

    run_ddl(migrated_app, "DROP TABLE activities")

    assert_unavailable(client.get("/ready"))
    assert_unavailable(client.get("/v1/activities", headers=headers))
    assert_unavailable(client.get("/v1/recommendations/male", headers=headers))
    assert_unavailable(client.get("/v1/probabilities", headers=headers))
    assert_unavailable(
        client.post(
            "/v1/activities/basketball/players", json={"male": 1, "female": 0}, headers=headers
        )
    )
    assert MIGRATION_HINT in caplog.text
    assert "Traceback" not in caplog.text
    # What does not need the lost table still works.
    assert client.get("/v1/me", headers=headers).status_code == 200


def test_missing_column_gives_503(migrated_app: Any) -> None:
    client = migrated_app.test_client()
    headers = root_headers(migrated_app)

    # Renamed, not dropped: SQLite cannot drop a column that a CHECK constraint names.
    run_ddl(migrated_app, "ALTER TABLE activities RENAME COLUMN female_players TO women")

    assert_unavailable(client.get("/ready"))
    assert_unavailable(client.get("/v1/activities", headers=headers))


def test_insert_missing_column_gives_503(
    migrated_app: Any, caplog: pytest.LogCaptureFixture
) -> None:
    client = migrated_app.test_client()
    headers = root_headers(migrated_app)

    # On SQLite, an INSERT reports a missing column with a different message than a SELECT.
    run_ddl(migrated_app, "ALTER TABLE users RENAME COLUMN created_at TO created")

    assert_unavailable(client.post("/v1/users", json={"username": "alice"}, headers=headers))
    assert MIGRATION_HINT in caplog.text
