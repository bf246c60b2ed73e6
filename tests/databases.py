"""Throwaway databases for the test suite, one per test session, on each supported server.

`TEST_DATABASE` (or `pytest --db`) picks the server: `sqlite` (default), `mariadb` or
`postgresql`. The server URLs default to this machine's services and can be changed with
`TEST_MARIADB_URL` and `TEST_POSTGRESQL_URL`.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path
from typing import Iterator

import sqlalchemy as sa

KINDS = ("sqlite", "mariadb", "postgresql")

SERVER_URLS = {
    "mariadb": os.environ.get("TEST_MARIADB_URL", "mysql+pymysql://root@127.0.0.1:3306/test"),
    "postgresql": os.environ.get(
        "TEST_POSTGRESQL_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
    ),
}


@contextlib.contextmanager
def temporary_database(kind: str, folder: Path) -> Iterator[str]:
    """Create an empty database with a random name, yield its URL, then drop it."""
    if kind == "sqlite":
        yield f"sqlite:///{folder / 'test.sqlite3'}"
        return

    name = f"ar_test_{secrets.token_hex(6)}"
    server_url = sa.make_url(SERVER_URLS[kind])
    admin = sa.create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        if kind == "mariadb":
            # A case- and accent-folding default, as production servers often have, so
            # that a table without its own utf8mb4_bin collation fails test_migrations.
            connection.execute(
                sa.text(f"CREATE DATABASE {name} CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci")
            )
        else:
            connection.execute(sa.text(f"CREATE DATABASE {name} ENCODING 'UTF8'"))
            # A throwaway database needs no crash safety: commits that skip the wait
            # for the WAL flush make the suite faster on PostgreSQL.
            connection.execute(sa.text(f"ALTER DATABASE {name} SET synchronous_commit = off"))
    try:
        yield server_url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            if kind == "postgresql":
                connection.execute(sa.text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            else:
                connection.execute(sa.text(f"DROP DATABASE IF EXISTS {name}"))
        admin.dispose()


def kill_connections(kind: str, database_url: str) -> int:
    """Kill the server sessions connected to the test database at `database_url`.

    Only that database's sessions are killed, never other clients' sessions on the
    shared server. Returns how many were killed.
    """
    name = sa.make_url(database_url).database
    admin = sa.create_engine(SERVER_URLS[kind], isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            if kind == "postgresql":
                killed = connection.execute(
                    sa.text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                        " WHERE datname = :name AND pid <> pg_backend_pid()"
                    ),
                    {"name": name},
                ).all()
                return sum(1 for (terminated,) in killed if terminated)

            ids = (
                connection.execute(
                    sa.text(
                        "SELECT ID FROM information_schema.PROCESSLIST"
                        " WHERE DB = :name AND ID <> CONNECTION_ID()"
                    ),
                    {"name": name},
                )
                .scalars()
                .all()
            )
            for session_id in ids:
                connection.execute(sa.text(f"KILL CONNECTION {int(session_id)}"))
            return len(ids)
    finally:
        admin.dispose()
