"""The per-request revocation check's query, shared by concurrent requests.

Every authenticated request needs its token's row, read after the request arrived, so
that a revocation committed before it counts. On MariaDB each query cost about 0.1 ms of
the worker's CPU in PyMySQL, about a quarter of a recommendation. So the reader
coalesces them, as group commit does: one query runs at a time per worker, and the
requests that arrive meanwhile wait and share the next one, `SELECT ... WHERE jti IN
(...)`. A request never
joins a query that has already started, so no request reads a row older than its own
arrival.

The check runs in Connexion's security middleware, on the worker's event loop, before
the request takes one of the threads that run Flask. So a waiting request costs an
asyncio future, not a blocked thread, and up to `MAX_BATCH` requests that arrived on the
worker join the next query, not only those that hold a thread. The query itself runs on a
thread of the loop's default executor, since the drivers block.

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

import asyncio
import functools
import logging
import time
import weakref
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import Flask
from sqlalchemy import BindParameter, bindparam, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError

from .models import Token
from .prepared import PreparedStatement

log = logging.getLogger(__name__)

#: Seconds within which a DBAPI error means the connection was already dead, so the
#: default engine can replace it. A later error means the database timed out.
FAST_FAILURE_SECONDS = 0.5

#: The most `jti`s that one query reads. Later requests wait for the next query.
MAX_BATCH = 64

_TOKENS = Token.__table__
_COLUMNS = (_TOKENS.c.jti, _TOKENS.c.subject, _TOKENS.c.role, _TOKENS.c.last_used_at)


@dataclass(frozen=True)
class TokenRecord:
    subject: str
    role: str
    last_used_at: datetime | None


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
        # Futures belong to one event loop: a worker has one, a test may run several.
        self._queues: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Queue] = (
            weakref.WeakKeyDictionary()
        )

    async def read(self, jti: str) -> TokenRecord | None:
        """Return the token's record, or None when no row has this `jti`."""
        return await self._queue().read(jti)

    async def touch(self, jti: str, at: datetime) -> None:
        """Set the token's `last_used_at`, unless a request of this loop is setting it."""
        await self._queue().touch(jti, at)

    def _queue(self) -> _Queue:
        loop = asyncio.get_running_loop()
        queue = self._queues.get(loop)
        if queue is None:
            queue = self._queues[loop] = _Queue(self)
        return queue

    def read_many(self, jtis: Collection[str]) -> dict[str, TokenRecord]:
        """Return the records of `jtis` that exist, by `jti`, from one blocking query."""
        ordered = sorted(jtis)
        # Padded to a power of two with the last `jti` again, so that at most seven
        # statements are compiled for batches of up to 64.
        size = 1 << (len(ordered) - 1).bit_length()
        values = {f"jti_{index}": ordered[min(index, len(ordered) - 1)] for index in range(size)}
        started = time.monotonic()
        try:
            rows = self._fetch(self._statement(size), values)
        except DBAPIError:
            if time.monotonic() - started >= FAST_FAILURE_SECONDS:
                # A database that stopped responding fails only after the read timeout,
                # so a second query through the default engine would double the wait.
                raise
            return self._read_through_connection(ordered)
        return {row[0]: self._record(row) for row in rows}

    def write_last_used(self, jti: str, at: datetime) -> None:
        """Set the token's `last_used_at` to `at`, blocking until it is committed."""
        # Rare (once a minute per token), so the default engine's checks are worth it.
        with self._fallback.begin() as connection:
            connection.execute(update(_TOKENS).where(_TOKENS.c.jti == jti).values(last_used_at=at))

    def _statement(self, count: int) -> PreparedStatement:
        statement = self._statements.get(count)
        if statement is None:
            # One bound parameter per `jti`, named by its place in the padded batch.
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


class _Queue:
    """The requests of one event loop that wait for the next query, and the running query.

    Only the loop's own thread uses it, so it needs no lock. It keeps no reference to
    the loop, which would keep the loop's entry in the reader's weak dictionary alive.
    """

    def __init__(self, reader: TokenRecordReader) -> None:
        self._reader = reader
        # The futures of the requests that arrived since the running query started.
        self.waiting: dict[str, list[asyncio.Future[TokenRecord | None]]] = {}
        self.running = False
        self._touching: set[str] = set()

    def read(self, jti: str) -> asyncio.Future[TokenRecord | None]:
        future: asyncio.Future[TokenRecord | None] = asyncio.get_running_loop().create_future()
        self.waiting.setdefault(jti, []).append(future)
        if not self.running:
            self._start()
        return future

    async def touch(self, jti: str, at: datetime) -> None:
        if jti in self._touching:
            return
        self._touching.add(jti)
        try:
            loop = asyncio.get_running_loop()
            await loop.run_in_executor(None, self._reader.write_last_used, jti, at)
        finally:
            self._touching.discard(jti)

    def _start(self) -> None:
        if len(self.waiting) <= MAX_BATCH:
            batch, self.waiting = self.waiting, {}
        else:
            # The earliest arrivals go first, and the rest wait for the query after.
            batch = {jti: self.waiting.pop(jti) for jti in list(self.waiting)[:MAX_BATCH]}
        self.running = True
        loop = asyncio.get_running_loop()
        query = loop.run_in_executor(None, self._reader.read_many, list(batch))
        query.add_done_callback(functools.partial(self._finish, batch))

    def _finish(
        self,
        batch: dict[str, list[asyncio.Future[TokenRecord | None]]],
        query: asyncio.Future[dict[str, TokenRecord]],
    ) -> None:
        self.running = False
        # The next query starts first, so that its thread runs while this batch is resolved.
        if self.waiting:
            self._start()

        # The loop cancels the query only when it shuts down.
        cancelled = query.cancelled()
        error = None if cancelled else query.exception()
        records = {} if cancelled or error is not None else query.result()
        for jti, futures in batch.items():
            for future in futures:
                if future.done():
                    continue  # Cancelled with its request, because the client disconnected.
                if cancelled:
                    future.cancel()
                elif error is not None:
                    # Every request of the batch gets the error, as from its own query.
                    future.set_exception(error)
                else:
                    future.set_result(records.get(jti))


#: The `app.extensions` key of an app's reader.
EXTENSION_KEY = "activity_recommender.token_records"


def init_app(flask_app: Flask, engine: Engine, fallback: Engine) -> TokenRecordReader:
    """Give `flask_app` its reader, one per worker, so that its requests share queries.

    `engine` is in autocommit mode, and `fallback` checks its connections before use.
    """
    reader = flask_app.extensions[EXTENSION_KEY] = TokenRecordReader(engine, fallback)
    return reader
