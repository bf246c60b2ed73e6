"""The per-request revocation check's query, run on a pooled DBAPI cursor.

Every authenticated request reads its token's row by primary key. Through SQLAlchemy's
`Connection` that costs several times the query itself (a `Connection` with its event
dispatch per request, a cache key and an execution context per statement). This module
compiles the SELECT once per engine and runs it on a DBAPI cursor of the autocommit
engine's pool (`database.autocommit_bind`): one round trip, and nothing to end after it.

That pool checks a connection before use only after it sat idle
(`database.ping_when_idle`). So after a DBAPI error that comes at once, as from a
connection the server closed, the reader drops that connection and runs the query
again through a `Connection` of the default engine, which checks every connection and
raises SQLAlchemy's wrapped error (a 503 for an unreachable database). An error after a
timeout is raised at once, wrapped the same way.
"""

from __future__ import annotations

import time
import weakref
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError

from .models import Token

#: Seconds within which a DBAPI error means the connection was already dead, so the
#: default engine can replace it. A later error means the database timed out.
FAST_FAILURE_SECONDS = 0.5

_TOKENS = Token.__table__
_QUERY = select(_TOKENS.c.subject, _TOKENS.c.role, _TOKENS.c.last_used_at).where(
    _TOKENS.c.jti == bindparam("jti")
)


@dataclass(frozen=True)
class TokenRecord:
    subject: str
    role: str
    last_used_at: datetime | None


class TokenRecordReader:
    """Reads `tokens` rows by `jti` for one engine."""

    def __init__(self, engine: Engine, fallback: Engine) -> None:
        dialect = engine.dialect
        compiled = _QUERY.compile(dialect=dialect)
        self._engine = engine
        self._fallback = fallback
        self._sql = compiled.string
        self._positional = compiled.positional
        self._dbapi_error = dialect.loaded_dbapi.Error
        # SQLite returns timestamps as text; the column type's own processor parses them.
        column_type = _TOKENS.c.last_used_at.type.dialect_impl(dialect)
        self._to_last_used = column_type.result_processor(dialect, None)

    def read(self, jti: str) -> TokenRecord | None:
        """Return the token's record, or None when no row has this `jti`."""
        params: Any = (jti,) if self._positional else {"jti": jti}
        started = time.monotonic()
        try:
            row = self._fetch(params)
        except self._dbapi_error as exc:
            if time.monotonic() - started >= FAST_FAILURE_SECONDS:
                # A database that stopped responding fails only after the read timeout,
                # so a second query through the default engine would double the wait.
                raise DBAPIError.instance(self._sql, params, exc, self._dbapi_error) from exc
            return self._read_through_connection(jti)
        if row is None:
            return None
        last_used_at = row[2] if self._to_last_used is None else self._to_last_used(row[2])
        return TokenRecord(row[0], row[1], last_used_at)

    def _fetch(self, params: Any) -> Any:
        connection = self._engine.raw_connection()
        try:
            cursor = connection.cursor()
            try:
                cursor.execute(self._sql, params)
                return cursor.fetchone()
            finally:
                cursor.close()
        except self._dbapi_error:
            # The connection may be broken; the pool replaces an invalidated one.
            connection.invalidate()
            raise
        finally:
            connection.close()

    def _read_through_connection(self, jti: str) -> TokenRecord | None:
        with self._fallback.connect() as connection:
            row = connection.execute(_QUERY, {"jti": jti}).first()
        return None if row is None else TokenRecord(*row)


_readers: weakref.WeakKeyDictionary[Engine, TokenRecordReader] = weakref.WeakKeyDictionary()


def read_token_record(engine: Engine, fallback: Engine, jti: str) -> TokenRecord | None:
    """Return the record of token `jti`, or None if it has none.

    `engine` is in autocommit mode, and `fallback` checks its connections before use.
    """
    reader = _readers.get(engine)
    if reader is None:
        # Two threads may both build one; either is fine.
        reader = _readers[engine] = TokenRecordReader(engine, fallback)
    return reader.read(jti)
