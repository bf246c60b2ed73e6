"""Engine options and per-connection settings for SQLite, MySQL/MariaDB and PostgreSQL.

The pool and timeout settings are for a long-running service behind a load balancer:
a pooled connection that the server dropped is replaced before use (pre-ping), and a
database that stops responding fails a request within about two timeouts, which the
error handlers turn into 503, instead of holding a worker until the client gives up.
"""

from __future__ import annotations

import functools
import math
import re
import select
import sqlite3
import ssl
import time
from typing import Any, TypeGuard

from sqlalchemy import MetaData, event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import DBAPIError, DisconnectionError
from sqlalchemy.orm import Session, scoped_session

from .config import Settings
from .wsgi_bridge import THREADS

#: Strict mode makes MySQL reject out-of-range or too-long values instead of
#: silently clipping them. Every mode here exists in both MySQL 8 and MariaDB 10.11.
MYSQL_SQL_MODE = ",".join(
    (
        "STRICT_ALL_TABLES",
        "NO_ZERO_IN_DATE",
        "NO_ZERO_DATE",
        "ERROR_FOR_DIVISION_BY_ZERO",
        "NO_ENGINE_SUBSTITUTION",
        "ONLY_FULL_GROUP_BY",
    )
)

#: Seconds after which a pooled connection is replaced. Firewalls and NAT gateways
#: often drop idle TCP connections after 5 minutes; pre-ping catches any other drop.
POOL_RECYCLE_SECONDS = 280

#: Connections the pool keeps open per worker: one for each thread that runs Flask. The
#: pool closes a returned connection beyond this number, so a smaller pool would open
#: and close a connection for many requests under load (the SQLAlchemy default is 5).
POOL_SIZE = THREADS

#: Flask-SQLAlchemy's bind key of the engine whose connections commit every statement
#: as it runs (see `autocommit_bind`).
AUTOCOMMIT_BIND = "autocommit"

#: A connection of the autocommit engine that sat in its pool this long is pinged
#: before use. Under load connections go back into use within milliseconds.
IDLE_PING_SECONDS = 1.0

#: Seconds a SQLite writer waits for another worker's write lock before failing.
SQLITE_BUSY_TIMEOUT_SECONDS = 30

#: MySQL's error numbers for a database, table or column that does not exist.
MYSQL_MISSING_SCHEMA_ERRORS = frozenset(
    {
        1049,  # ER_BAD_DB_ERROR
        1054,  # ER_BAD_FIELD_ERROR
        1146,  # ER_NO_SUCH_TABLE
    }
)

#: PostgreSQL's SQLSTATEs for a missing table or column: undefined_table and
#: undefined_column. A missing database fails the connection, for which libpq reports no
#: SQLSTATE, so it gets the same 503 as an unreachable server.
POSTGRESQL_MISSING_SCHEMA_STATES = frozenset({"42P01", "42703"})

#: SQLite's messages for a missing table or column (from SELECT, UPDATE or INSERT).
#: SQLite has no error code for them.
SQLITE_MISSING_SCHEMA_MESSAGE = re.compile(
    r"no such (table|column): |table \S+ has no column named "
)


def backend_name(database_url: str) -> str:
    """Return `sqlite`, `mysql`, `mariadb` or `postgresql` for a SQLAlchemy URL."""
    return make_url(database_url).get_backend_name()


def is_mysql(database_url: str) -> bool:
    return backend_name(database_url) in ("mysql", "mariadb")


def engine_options(settings: Settings) -> dict[str, Any]:
    """Return the `create_engine` options for the database at `settings.database_url`."""
    if backend_name(settings.database_url) == "sqlite":
        return {"connect_args": {"timeout": SQLITE_BUSY_TIMEOUT_SECONDS}, "pool_size": POOL_SIZE}

    options: dict[str, Any] = {
        "pool_size": POOL_SIZE,
        "pool_pre_ping": True,
        "pool_recycle": POOL_RECYCLE_SECONDS,
        # Waiting for a free pooled connection is bounded like connecting.
        "pool_timeout": settings.database_connect_timeout,
    }
    if is_mysql(settings.database_url):
        options["connect_args"] = mysql_connect_args(settings)
        # Under MySQL's default REPEATABLE READ, an UPDATE that matches no row locks
        # the gap where the row would go, so two requests creating one name deadlock
        # on their INSERTs. READ COMMITTED takes no such locks, as on PostgreSQL.
        options["isolation_level"] = "READ COMMITTED"
    elif backend_name(settings.database_url) == "postgresql":
        options["connect_args"] = postgresql_connect_args(settings)
    return options


def autocommit_bind(settings: Settings) -> dict[str, Any]:
    """Return the options of a second engine on the same database, in autocommit mode.

    The token check on every authenticated request is one SELECT. In a transaction it
    costs three round trips on MySQL (the pre-ping, the statement, the rollback), and
    each round trip makes the thread wait for the GIL again under load. In autocommit
    mode it costs one, because the statement ends its own transaction.

    The pool checks a connection before use only when it has been idle; see
    `ping_when_idle`.
    """
    # Flask-SQLAlchemy applies SQLALCHEMY_ENGINE_OPTIONS to the default engine only.
    return {
        **engine_options(settings),
        "url": settings.database_url,
        "isolation_level": "AUTOCOMMIT",
        # Without this, SQLAlchemy still calls the DBAPI's rollback() when a connection
        # goes back to the pool, which PyMySQL sends to the server.
        "skip_autocommit_rollback": True,
        "pool_pre_ping": False,
    }


def mysql_connect_args(settings: Settings) -> dict[str, Any]:
    """Return PyMySQL's connection arguments: utf8mb4, strict mode and timeouts."""
    args: dict[str, Any] = {
        "charset": "utf8mb4",
        "sql_mode": MYSQL_SQL_MODE,
        "connect_timeout": settings.database_connect_timeout,
    }
    if not any(name.startswith("ssl_") for name in make_url(settings.database_url).query):
        # Options such as ?ssl_ca=PATH turn TLS on, verifying the server; SQLAlchemy
        # passes them to PyMySQL. Without them, PyMySQL 1.2 would try TLS without
        # verifying, and build an SSL context from the system's CA bundle for every
        # connection: about 0.8 MiB each, 16 MiB for a worker's two pools.
        if settings.database_tls == "required":
            args["ssl"] = _unverified_tls_context()
        else:
            args["ssl_disabled"] = True
    if settings.database_statement_timeout is not None:
        # The socket timeouts catch a server that stopped responding. PyMySQL also
        # waits for the server's greeting under the read timeout, not the connect one.
        args["read_timeout"] = settings.database_statement_timeout
        args["write_timeout"] = settings.database_statement_timeout
    return args


@functools.cache
def _unverified_tls_context() -> ssl.SSLContext:
    """Return the one TLS context that every MySQL connection of this process shares.

    It encrypts, which stops anyone who only reads the traffic, but checks no
    certificate: `?ssl_ca=PATH` in DATABASE_URL does that.
    """
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def postgresql_connect_args(settings: Settings) -> dict[str, Any]:
    """Return libpq's connection parameters: connect and statement timeouts.

    libpq counts `connect_timeout` in whole seconds and raises values under 2 to 2.
    """
    args: dict[str, Any] = {"connect_timeout": math.ceil(settings.database_connect_timeout)}
    timeout = settings.database_statement_timeout
    if timeout is not None:
        milliseconds = math.ceil(timeout * 1000)
        startup = f"-c statement_timeout={milliseconds}"
        user_options = make_url(settings.database_url).query.get("options")
        args["options"] = f"{user_options} {startup}" if user_options else startup
        # Drops a connection whose sent data the peer has not acknowledged for this
        # long (a lost network), which statement_timeout cannot see (Linux only).
        args["tcp_user_timeout"] = milliseconds
    return args


def add_connect_listeners(engine: Engine, settings: Settings) -> None:
    """Register what must run on every new connection of `engine`."""
    backend = engine.dialect.name
    if backend == "sqlite":
        event.listen(engine, "connect", _sqlite_on_connect)
    elif backend in ("mysql", "mariadb") and settings.database_statement_timeout is not None:
        timeout = settings.database_statement_timeout

        def set_mysql_timeouts(dbapi_connection: Any, _record: Any) -> None:
            _set_mysql_statement_timeout(dbapi_connection, timeout)

        event.listen(engine, "connect", set_mysql_timeouts)


def ping_when_idle(engine: Engine) -> None:
    """Ping a pooled connection of `engine` before use when it may have been dropped.

    Pre-ping costs a round trip before every statement; on the autocommit engine that
    doubles the cost of its one-statement requests. So a connection is pinged only when
    it sat idle for over `IDLE_PING_SECONDS`, or when its socket has something to read.
    A connection at rest has nothing to read unless the server closed it or sent an
    error before closing, so that check finds a connection the server dropped a moment
    ago without a round trip. A ping that fails makes the pool connect again.
    """
    if engine.dialect.name == "sqlite":
        return  # a local file: no server or network can drop the connection

    def note_checkin(_dbapi_connection: Any, record: Any) -> None:
        record.info["checked_in_at"] = time.monotonic()

    def ping_if_idle(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        checked_in_at = record.info.get("checked_in_at")
        if checked_in_at is None:
            return  # A new connection: it was opened just now.
        idle = time.monotonic() - checked_in_at >= IDLE_PING_SECONDS
        if not idle and not _has_input(dbapi_connection):
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as exc:
            # The pool's documented signal to replace this connection and try again.
            raise DisconnectionError("A pooled connection failed its ping.") from exc

    event.listen(engine, "checkin", note_checkin)
    event.listen(engine, "checkout", ping_if_idle)


def _has_input(dbapi_connection: Any) -> bool:
    """Return whether the connection's socket is readable, or True if that is unknown.

    Data that arrived on a connection at rest means the server closed it or sent an
    error. A TLS session ticket or a PostgreSQL notice counts too, at the cost of a ping.
    """
    # psycopg has a public fileno(); PyMySQL keeps its socket as `_sock`.
    sock = getattr(dbapi_connection, "_sock", None)
    try:
        fileno = sock.fileno() if sock is not None else dbapi_connection.fileno()
    except Exception:  # psycopg raises its own error for a closed connection.
        return True
    poller = select.poll()
    poller.register(fileno, select.POLLIN)
    return bool(poller.poll(0))


def is_missing_schema(exc: BaseException) -> TypeGuard[DBAPIError]:
    """Return whether `exc` reports that the database lacks a table or column the code uses.

    The database was dropped, or a migration was not applied. It is not the request's
    fault, and no retry on this task helps until an operator acts.
    """
    if not isinstance(exc, DBAPIError):
        return False
    error = exc.orig
    code = error.args[0] if error is not None and error.args else None
    if isinstance(code, int):  # PyMySQL: (errno, message)
        return code in MYSQL_MISSING_SCHEMA_ERRORS
    if isinstance(error, sqlite3.Error):
        return SQLITE_MISSING_SCHEMA_MESSAGE.match(str(error)) is not None
    return getattr(error, "sqlstate", None) in POSTGRESQL_MISSING_SCHEMA_STATES


def check_schema(session: Session | scoped_session[Any], metadata: MetaData) -> None:
    """Select every column of every table in `metadata`, with LIMIT 0, so that no row is read.

    Raises the database's error when a table or column is missing, so that a readiness
    probe fails on a database that lost its tables or has not been migrated yet.
    """
    for table in metadata.sorted_tables:
        session.execute(table.select().limit(0)).close()


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets readers run beside one writer, and the busy timeout makes concurrent
    # writers in other workers wait for the lock instead of failing at once.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_SECONDS * 1000}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _set_mysql_statement_timeout(dbapi_connection: Any, seconds: float) -> None:
    """Bound statements and row-lock waits on the server side.

    MariaDB's `max_statement_time` (seconds) covers every statement; MySQL 8's
    `max_execution_time` (milliseconds) covers only SELECT, so the row-lock wait
    timeout bounds UPDATE and INSERT there.
    """
    if "MariaDB" in dbapi_connection.get_server_info():
        statement_limit = f"max_statement_time = {seconds:g}"
    else:
        # NOTE: only MariaDB is tested here; this branch is untested on MySQL 8.
        statement_limit = f"max_execution_time = {math.ceil(seconds * 1000)}"
    cursor = dbapi_connection.cursor()
    cursor.execute(
        f"SET SESSION {statement_limit}, SESSION innodb_lock_wait_timeout = {math.ceil(seconds)}"
    )
    cursor.close()
