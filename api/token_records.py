"""The per-request revocation check's query, shared by concurrent requests.

Every authenticated request needs its token's row, read after the request arrived, so
that a revocation committed before it counts. Under load a worker's threads run the
check at the same time, and on MySQL each query costs about 0.1 ms of the worker's CPU
in PyMySQL, a sixth of a recommendation. So the reader coalesces them, as group commit
does: one query runs at a time per worker, and the requests that arrive meanwhile wait
and share the next one, `SELECT ... WHERE jti IN (...)`. A request never joins a query
that has already started, so no request reads a row older than its own arrival.

The query is compiled once per batch size and runs on a DBAPI cursor of the autocommit
engine's pool (`database.autocommit_bind`, `prepared`): one round trip, and nothing to
end after it.

That pool checks a connection before use only after it sat idle, or when its socket
shows the server closed it (`database.ping_when_idle`). So after an error that comes at
once, the reader runs the query again through a `Connection` of the default engine,
which pings every connection first and fails with a 503 for an unreachable database. An
error after a timeout is raised at once.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Collection, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask import Flask, current_app
from sqlalchemy import BindParameter, bindparam, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError

from .models import Token
from .prepared import PreparedStatement

#: Seconds within which a DBAPI error means the connection was already dead, so the
#: default engine can replace it. A later error means the database timed out.
FAST_FAILURE_SECONDS = 0.5

_TOKENS = Token.__table__
_COLUMNS = (_TOKENS.c.jti, _TOKENS.c.subject, _TOKENS.c.role, _TOKENS.c.last_used_at)


@dataclass(frozen=True)
class TokenRecord:
    subject: str
    role: str
    last_used_at: datetime | None


@dataclass
class _Batch:
    """The `jti`s of the requests that share one query, and its outcome."""

    jtis: set[str] = field(default_factory=set)
    records: Future[dict[str, TokenRecord]] = field(default_factory=Future)


class TokenRecordReader:
    """A reader of `tokens` rows by `jti` for one engine, running one query at a time."""

    def __init__(self, engine: Engine, fallback: Engine) -> None:
        dialect = engine.dialect
        self._engine = engine
        self._fallback = fallback
        self._statements: dict[int, PreparedStatement] = {}
        # SQLite returns timestamps as text; the column type's own processor parses them.
        column_type = _TOKENS.c.last_used_at.type.dialect_impl(dialect)
        self._to_last_used = column_type.result_processor(dialect, None)

        self._lock = threading.Lock()  # Guards `_open`.
        # The batch that arriving requests join. Its first request runs it when its turn comes.
        self._open: _Batch | None = None
        self._turn = threading.Lock()  # Held while a batch's query runs.

    def read(self, jti: str) -> TokenRecord | None:
        """Return the token's record, or None when no row has this `jti`."""
        with self._lock:
            batch = self._open
            leads = batch is None
            if batch is None:
                batch = self._open = _Batch()
            batch.jtis.add(jti)

        if leads:
            with self._turn:
                # Close the batch: a request that arrives from now on waits for the next query.
                with self._lock:
                    self._open = None
                try:
                    batch.records.set_result(self.read_many(batch.jtis))
                except BaseException as exc:
                    # Every request of the batch gets the error, as from its own query.
                    batch.records.set_exception(exc)

        return batch.records.result().get(jti)

    def read_many(self, jtis: Collection[str]) -> dict[str, TokenRecord]:
        """Return the records of `jtis` that exist, by `jti`, from one query."""
        ordered = sorted(jtis)
        values = {f"jti_{index}": jti for index, jti in enumerate(ordered)}
        started = time.monotonic()
        try:
            rows = self._fetch(self._statement(len(ordered)), values)
        except DBAPIError:
            if time.monotonic() - started >= FAST_FAILURE_SECONDS:
                # A database that stopped responding fails only after the read timeout,
                # so a second query through the default engine would double the wait.
                raise
            return self._read_through_connection(ordered)
        return {row[0]: self._record(row) for row in rows}

    def _statement(self, count: int) -> PreparedStatement:
        statement = self._statements.get(count)
        if statement is None:
            # One bound parameter per `jti`, named by its place in the sorted batch.
            matches: list[BindParameter[str]] = [
                bindparam(f"jti_{index}") for index in range(count)
            ]
            query = select(*_COLUMNS).where(_TOKENS.c.jti.in_(matches))
            statement = self._statements[count] = PreparedStatement(query, self._engine)
        return statement

    def _record(self, row: Sequence[Any]) -> TokenRecord:
        last_used_at = row[3] if self._to_last_used is None else self._to_last_used(row[3])
        return TokenRecord(row[1], row[2], last_used_at)

    @staticmethod
    def _fetch(statement: PreparedStatement, values: dict[str, str]) -> list[Any]:
        return statement.run(values, lambda cursor: list(cursor.fetchall()))

    def _read_through_connection(self, jtis: Sequence[str]) -> dict[str, TokenRecord]:
        query = select(*_COLUMNS).where(_TOKENS.c.jti.in_(jtis))
        with self._fallback.connect() as connection:
            rows = connection.execute(query).all()
        # SQLAlchemy's result has converted the timestamps already.
        return {
            jti: TokenRecord(subject, role, last_used) for jti, subject, role, last_used in rows
        }


#: The `app.extensions` key of an app's reader.
EXTENSION_KEY = "activity_recommender.token_records"


def init_app(flask_app: Flask, engine: Engine, fallback: Engine) -> None:
    """Give `flask_app` its reader, one per worker, so that its requests share queries.

    `engine` is in autocommit mode, and `fallback` checks its connections before use.
    """
    flask_app.extensions[EXTENSION_KEY] = TokenRecordReader(engine, fallback)


def read_token_record(jti: str) -> TokenRecord | None:
    """Return the current app's record of token `jti`, or None if it has none."""
    reader: TokenRecordReader = current_app.extensions[EXTENSION_KEY]
    return reader.read(jti)
