"""Engine options and the settings every new connection gets, on each database."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert, text
from sqlalchemy.exc import DBAPIError, OperationalError

from api import database
from api.config import Settings, load_settings
from api.db import db
from api.models import Activity

from .conftest import JWT_SECRET, ROOT_PASSWORD, make_app

MYSQL_URL = "mysql+pymysql://user@db.example:3306/recommender"
POSTGRESQL_URL = "postgresql+psycopg://user@db.example:5432/recommender"


def settings_for(database_url: str, tmp_path: Path, **overrides: Any) -> Settings:
    return load_settings(
        environ={},
        database_url=database_url,
        jwt_secret=JWT_SECRET,
        root_password=ROOT_PASSWORD,
        instance_path=tmp_path,
        **overrides,
    )


def test_engine_options_sqlite(tmp_path: Path) -> None:
    settings = settings_for(f"sqlite:///{tmp_path / 'x.sqlite3'}", tmp_path)
    assert database.engine_options(settings) == {"connect_args": {"timeout": 30}, "pool_size": 10}


def test_engine_options_mysql(tmp_path: Path) -> None:
    settings = settings_for(MYSQL_URL, tmp_path)
    assert database.engine_options(settings) == {
        "pool_size": 10,
        "pool_pre_ping": True,
        "pool_recycle": 280,
        "pool_timeout": 2,
        "isolation_level": "READ COMMITTED",
        "connect_args": {
            "charset": "utf8mb4",
            "sql_mode": database.MYSQL_SQL_MODE,
            "connect_timeout": 2,
            "ssl_disabled": True,
            "read_timeout": 2,
            "write_timeout": 2,
        },
    }


def test_engine_options_mysql_without_statement_timeout(tmp_path: Path) -> None:
    settings = settings_for(MYSQL_URL, tmp_path, database_statement_timeout=None)
    assert database.engine_options(settings)["connect_args"] == {
        "charset": "utf8mb4",
        "sql_mode": database.MYSQL_SQL_MODE,
        "connect_timeout": 2,
        "ssl_disabled": True,
    }


def test_mysql_tls_from_url_options(tmp_path: Path) -> None:
    url = MYSQL_URL + "?ssl_ca=/etc/ssl/certs/rds-global-bundle.pem"
    connect_args = database.engine_options(settings_for(url, tmp_path))["connect_args"]
    assert "ssl_disabled" not in connect_args


def test_mysql_tls_required_shared_context(tmp_path: Path) -> None:
    import ssl

    settings = settings_for(MYSQL_URL, tmp_path, database_tls="required")
    first = database.engine_options(settings)["connect_args"]
    second = database.autocommit_bind(settings)["connect_args"]

    assert "ssl_disabled" not in first
    assert isinstance(first["ssl"], ssl.SSLContext)
    assert first["ssl"] is second["ssl"]
    assert first["ssl"].verify_mode == ssl.CERT_NONE


def test_mysql_url_tls_options_win(tmp_path: Path) -> None:
    url = MYSQL_URL + "?ssl_cipher=ECDHE-RSA-AES128-GCM-SHA256"
    connect_args = database.engine_options(settings_for(url, tmp_path))["connect_args"]
    assert "ssl_disabled" not in connect_args
    assert "ssl" not in connect_args


def test_mysql_bare_ssl_option_rejected(tmp_path: Path) -> None:
    from api.config import ConfigError

    with pytest.raises(ConfigError, match="ssl_ca=PATH"):
        settings_for(MYSQL_URL + "?ssl=true", tmp_path)


def test_database_tls_rejects_unknown_mode(tmp_path: Path) -> None:
    from api.config import ConfigError

    with pytest.raises(ConfigError, match="DATABASE_TLS"):
        load_settings(environ={"DATABASE_TLS": "maybe", "INSTANCE_PATH": str(tmp_path)})


def test_autocommit_bind_pool_settings(tmp_path: Path) -> None:
    settings = settings_for(MYSQL_URL, tmp_path)
    bind = database.autocommit_bind(settings)
    default = database.engine_options(settings)

    assert bind["url"] == MYSQL_URL
    assert bind["isolation_level"] == "AUTOCOMMIT"
    assert bind["skip_autocommit_rollback"] is True
    assert bind["pool_pre_ping"] is False
    assert bind["pool_size"] == default["pool_size"]
    assert bind["connect_args"] == default["connect_args"]


def test_engine_options_postgresql(tmp_path: Path) -> None:
    settings = settings_for(
        POSTGRESQL_URL,
        tmp_path,
        database_connect_timeout=3.5,
        database_statement_timeout=1.5,
    )
    assert database.engine_options(settings) == {
        "pool_size": 10,
        "pool_pre_ping": True,
        "pool_recycle": 280,
        "pool_timeout": 3.5,
        "connect_args": {
            "connect_timeout": 4,
            "options": "-c statement_timeout=1500",
            "tcp_user_timeout": 1500,
        },
    }


def test_engine_options_postgresql_keeps_url_options(tmp_path: Path) -> None:
    url = POSTGRESQL_URL + "?options=-csearch_path%3Dapp"
    options = database.engine_options(settings_for(url, tmp_path))
    assert options["connect_args"]["options"] == "-csearch_path=app -c statement_timeout=2000"


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("DATABASE_CONNECT_TIMEOUT", "0"),
        ("DATABASE_STATEMENT_TIMEOUT", "-1"),
        ("DATABASE_STATEMENT_TIMEOUT", "soon"),
    ],
)
def test_database_timeouts_reject_invalid(variable: str, value: str, tmp_path: Path) -> None:
    from api.config import ConfigError

    with pytest.raises(ConfigError, match=variable):
        load_settings(environ={variable: value, "INSTANCE_PATH": str(tmp_path)})


def session_values(app: Any, query: str) -> tuple[Any, ...]:
    with app.app.app_context():
        row = db.session.execute(text(query)).one()
        db.session.remove()
    return tuple(row)


def test_connection_settings_sqlite(app: Any, database_kind: str) -> None:
    if database_kind != "sqlite":
        pytest.skip("SQLite pragmas")
    assert session_values(app, "PRAGMA journal_mode") == ("wal",)
    assert session_values(app, "PRAGMA busy_timeout") == (30000,)
    assert session_values(app, "PRAGMA foreign_keys") == (1,)


def test_connection_settings_mariadb(app: Any, database_kind: str) -> None:
    if database_kind != "mariadb":
        pytest.skip("MariaDB session variables")
    values = session_values(
        app,
        "SELECT @@SESSION.sql_mode, @@character_set_connection, @@character_set_results,"
        " @@SESSION.max_statement_time, @@SESSION.innodb_lock_wait_timeout,"
        " @@SESSION.tx_isolation",
    )
    # The server lists the modes in its own order.
    assert set(values[0].split(",")) == set(database.MYSQL_SQL_MODE.split(","))
    assert values[1:] == ("utf8mb4", "utf8mb4", 2.0, 2, "READ-COMMITTED")


def test_connection_settings_postgresql(app: Any, database_kind: str) -> None:
    if database_kind != "postgresql":
        pytest.skip("PostgreSQL settings")
    assert session_values(app, "SHOW statement_timeout") == ("2s",)
    with app.app.app_context():
        raw = db.engine.raw_connection()
        parameters = raw.driver_connection.info.get_parameters()  # type: ignore[union-attr]
        raw.close()
    assert parameters["connect_timeout"] == "2"
    assert parameters["tcp_user_timeout"] == "2000"
    assert session_values(app, "SHOW server_encoding") == ("UTF8",)
    assert session_values(app, "SHOW client_encoding") == ("UTF8",)


def test_strict_mode_rejects_long_name(app: Any, database_kind: str) -> None:
    """A value too long for its column fails instead of being cut to fit."""
    if database_kind == "sqlite":
        pytest.skip("SQLite does not enforce VARCHAR lengths")
    with app.app.app_context():
        with pytest.raises(DBAPIError):
            db.session.execute(
                insert(Activity).values(name="x" * 65, male_players=0, female_players=0)
            )
        db.session.rollback()
        db.session.remove()


def test_statement_timeout_raises_operational_error(
    database_kind: str, database_url: str, tmp_path: Path
) -> None:
    sleep = {"mariadb": "SELECT SLEEP(5)", "postgresql": "SELECT pg_sleep(5)"}
    if database_kind not in sleep:
        pytest.skip("SQLite has no statement timeout")
    app = make_app(database_url, tmp_path, database_statement_timeout=0.5)
    with app.app.app_context():
        with pytest.raises(OperationalError):
            db.session.execute(text(sleep[database_kind]))
        db.session.remove()
        for engine in db.engines.values():
            engine.dispose()


@pytest.mark.parametrize("idle", [True, False], ids=["idle", "just-used"])
def test_dropped_connection_replaced(
    app: Any, database_kind: str, monkeypatch: pytest.MonkeyPatch, idle: bool
) -> None:
    """A pooled connection that the server closed is replaced, not used.

    One idle for longer than `IDLE_PING_SECONDS` is pinged. One used a moment ago is
    found by its readable socket, without waiting for the idle time.
    """
    if database_kind == "sqlite":
        pytest.skip("SQLite is a local file: there are no server connections to drop")
    own_id = {"mariadb": "SELECT CONNECTION_ID()", "postgresql": "SELECT pg_backend_pid()"}
    kill = {"mariadb": "KILL {}", "postgresql": "SELECT pg_terminate_backend({})"}
    if idle:
        # Every checkout counts as idle, so that the test need not wait.
        monkeypatch.setattr(database, "IDLE_PING_SECONDS", -1.0)
    else:
        monkeypatch.setattr(database, "IDLE_PING_SECONDS", 3600.0)

    with app.app.app_context():
        engine = db.engines[database.AUTOCOMMIT_BIND]
        with engine.connect() as connection:
            dropped = connection.execute(text(own_id[database_kind])).scalar_one()
        with db.engine.connect() as admin:
            admin.execute(text(kill[database_kind].format(int(dropped))))
            admin.commit()
        # The server's closing of the socket reaches the client within this.
        time.sleep(0.2)

        with engine.connect() as connection:
            replacement = connection.execute(text(own_id[database_kind])).scalar_one()

    assert replacement != dropped
