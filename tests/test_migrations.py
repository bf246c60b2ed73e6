"""The migrations make exactly the schema the models describe, on every database."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import flask_migrate
import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from api.db import db

from .conftest import JWT_SECRET, ROOT_PASSWORD, make_app
from .databases import temporary_database

TABLES = {"activities", "users", "tokens"}
PROJECT_ROOT = Path(__file__).resolve().parent.parent


def schema_differences(app: Any) -> list[Any]:
    """Return what `flask db migrate` would write: the models' differences from the schema."""
    with app.app.app_context(), db.engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "compare_server_default": True}
        )
        return list(compare_metadata(context, db.metadata))


def test_models_match_migrations(app: Any) -> None:
    assert schema_differences(app) == []


def test_mysql_tables_compare_bytes(app: Any, database_kind: str, database_url: str) -> None:
    """Every table and text column uses utf8mb4 with the binary collation.

    The test database's own default is utf8mb4_general_ci, so this fails for a table
    or column that does not set the collation itself.
    """
    if database_kind != "mariadb":
        pytest.skip("MySQL collations")
    name = sa.make_url(database_url).database
    with app.app.app_context():
        tables = db.session.execute(
            sa.text(
                "SELECT TABLE_NAME, TABLE_COLLATION FROM information_schema.TABLES"
                " WHERE TABLE_SCHEMA = :name AND TABLE_NAME <> 'alembic_version'"
            ),
            {"name": name},
        ).all()
        columns = db.session.execute(
            sa.text(
                "SELECT CONCAT(TABLE_NAME, '.', COLUMN_NAME), CHARACTER_SET_NAME, COLLATION_NAME"
                " FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = :name"
                " AND TABLE_NAME <> 'alembic_version'"
                " AND COLLATION_NAME IS NOT NULL"
            ),
            {"name": name},
        ).all()
        db.session.remove()

    assert dict(tables) == {table: "utf8mb4_bin" for table in db.metadata.tables}
    assert {column for column, *_ in columns} >= {
        "activities.name",
        "users.username",
        "tokens.subject",
        "tokens.jti",
    }
    assert {(charset, collation) for _, charset, collation in columns} == {
        ("utf8mb4", "utf8mb4_bin")
    }


def test_downgrade_then_upgrade(database_kind: str, tmp_path: Path) -> None:
    """Every migration can be undone and redone on an empty database."""
    with temporary_database(database_kind, tmp_path) as url:
        app = make_app(url, tmp_path)
        with app.app.app_context():
            flask_migrate.upgrade()
            flask_migrate.downgrade(revision="base")
            assert set(sa.inspect(db.engine).get_table_names()) == {"alembic_version"}
            flask_migrate.upgrade()
            assert set(sa.inspect(db.engine).get_table_names()) >= TABLES | {"alembic_version"}
            for engine in db.engines.values():
                engine.dispose()
        assert schema_differences(app) == []
        with app.app.app_context():
            for engine in db.engines.values():
                engine.dispose()


def test_cli_upgrade_creates_schema(database_kind: str, tmp_path: Path) -> None:
    """`activity-recommender db upgrade`, which `make migrate` runs, brings a database to head."""
    with temporary_database(database_kind, tmp_path) as url:
        environment = {
            **os.environ,
            "DATABASE_URL": url,
            "JWT_SECRET": JWT_SECRET,
            "ROOT_PASSWORD": ROOT_PASSWORD,
            "INSTANCE_PATH": str(tmp_path),
        }
        command = [str(Path(sys.executable).parent / "activity-recommender"), "db", "upgrade"]
        result = subprocess.run(
            command, cwd=PROJECT_ROOT, env=environment, capture_output=True, text=True, timeout=120
        )
        assert result.returncode == 0, result.stderr

        engine = sa.create_engine(url)
        try:
            with engine.connect() as connection:
                names = (
                    connection.execute(sa.text("SELECT name FROM activities ORDER BY name"))
                    .scalars()
                    .all()
                )
            assert set(sa.inspect(engine).get_table_names()) >= TABLES | {"alembic_version"}
        finally:
            engine.dispose()
        assert names == ["basketball", "swimming"]
