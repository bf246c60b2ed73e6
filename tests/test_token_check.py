"""The per-request token check: remembered signatures, and the revocation query's fast path."""

from __future__ import annotations

import asyncio
import gc
import threading
from collections.abc import Callable, Collection
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest
import sqlalchemy as sa

from api import auth, token_records
from api.database import AUTOCOMMIT_BIND
from api.db import db
from api.models import Token
from api.token_records import TokenRecord, TokenRecordReader

from .conftest import JWT_SECRET, bearer


def issue(app: Any, lifetime: timedelta) -> auth.IssuedToken:
    with app.app.app_context():
        issued = auth.issue_token("root", auth.ROOT, lifetime)
        db.session.commit()
        db.session.remove()
    return issued


def test_decode_token_remembered_token_still_expires(app, monkeypatch):
    issued = issue(app, timedelta(minutes=5))
    expires = issued.expires_at.timestamp()

    assert auth.decode_token(issued.token) == {"sub": "root", "role": "root", "jti": issued.jti}
    # The signature check is remembered, but the expiry is checked on every use.
    monkeypatch.setattr(auth.time, "time", lambda: expires + auth.LEEWAY.total_seconds())

    assert auth.decode_token(issued.token) is None


def test_decode_token_returns_a_copy(app):
    issued = issue(app, timedelta(minutes=5))

    first = auth.decode_token(issued.token)
    assert first is not None
    first["role"] = "changed by a handler"

    assert auth.decode_token(issued.token) == {"sub": "root", "role": "root", "jti": issued.jti}


def test_decode_token_invalid_not_remembered(app):
    issued = issue(app, timedelta(minutes=5))
    forged = jwt.encode(
        {**jwt.decode(issued.token, options={"verify_signature": False}), "role": "root"},
        "another-secret-of-at-least-32-bytes!!",
        algorithm="HS256",
    )
    auth._verify_token.cache_clear()

    assert auth.decode_token(forged) is None
    assert auth.decode_token(forged) is None
    assert auth._verify_token.cache_info().currsize == 0


def test_decode_token_secret_is_part_of_the_key(app):
    issued = issue(app, timedelta(minutes=5))
    settings = auth.current_settings()

    assert auth.decode_token(issued.token) is not None
    with pytest.raises(jwt.InvalidSignatureError):
        auth._verify_token(issued.token, "x" * 40, settings.jwt_audience, settings.jwt_issuer)
    assert settings.jwt_secret == JWT_SECRET


def read_record(app: Any, jti: str) -> TokenRecord | None:
    """Read as the per-request check does, with the app's reader."""
    reader: TokenRecordReader = app.app.extensions[token_records.EXTENSION_KEY]
    return asyncio.run(reader.read(jti))


def test_read_token_record_found(app):
    issued = issue(app, timedelta(minutes=5))

    record = read_record(app, issued.jti)

    assert record == TokenRecord(subject="root", role="root", last_used_at=None)


def test_read_token_record_missing(app):
    assert read_record(app, "0" * 32) is None


def test_read_token_record_last_used_is_utc(app, client):
    issued = issue(app, timedelta(minutes=5))
    assert client.get("/v1/me", headers=bearer(issued.token)).status_code == 200

    record = read_record(app, issued.jti)

    assert record is not None
    assert record.last_used_at is not None
    assert record.last_used_at.tzinfo is UTC
    assert abs(datetime.now(UTC) - record.last_used_at) < timedelta(minutes=1)


def test_read_token_record_driver_error_falls_back(app, monkeypatch):
    issued = issue(app, timedelta(minutes=5))
    with app.app.app_context():
        reader = TokenRecordReader(db.engines[AUTOCOMMIT_BIND], db.engine)
        dbapi_error = db.engine.dialect.loaded_dbapi.OperationalError

        def broken_fetch(statement: Any, values: Any) -> Any:
            raise sa.exc.OperationalError("SELECT", values, dbapi_error("connection lost"))

        monkeypatch.setattr(reader, "_fetch", broken_fetch)
        record = asyncio.run(reader.read(issued.jti))

    assert record == TokenRecord(subject="root", role="root", last_used_at=None)


def test_token_read_timeout_not_retried(app, monkeypatch):
    """A query that failed after a timeout is not run again: that would double the wait."""
    with app.app.app_context():
        reader = TokenRecordReader(db.engines[AUTOCOMMIT_BIND], db.engine)
        dbapi_error = db.engine.dialect.loaded_dbapi.OperationalError
        clock = iter([100.0, 100.0 + token_records.FAST_FAILURE_SECONDS])

        def timed_out_fetch(statement: Any, values: Any) -> Any:
            raise sa.exc.OperationalError("SELECT", values, dbapi_error("read timed out"))

        def second_try(jtis: Any) -> Any:
            raise AssertionError("the query ran a second time")

        monkeypatch.setattr(reader, "_fetch", timed_out_fetch)
        monkeypatch.setattr(reader, "_read_through_connection", second_try)
        monkeypatch.setattr(token_records.time, "monotonic", lambda: next(clock))
        with pytest.raises(sa.exc.OperationalError, match="read timed out"):
            reader.read_many(["0" * 32])


def test_read_token_record_unreachable_database_raises_wrapped(tmp_path):
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'missing' / 'db.sqlite3'}")

    with pytest.raises(sa.exc.OperationalError):
        asyncio.run(TokenRecordReader(engine, engine).read("0" * 32))
    engine.dispose()


class GatedReads:
    """A wrapper of a reader's `read_many` that records each query's `jti`s and blocks
    the first query until `release` is set."""

    def __init__(self, reader: TokenRecordReader, later: Callable[[], None] | None = None) -> None:
        self._read_many = reader.read_many
        self._later = later
        self.queries: list[set[str]] = []
        self.first_started = threading.Event()
        self.release = threading.Event()

    def __call__(self, jtis: Collection[str]) -> dict[str, TokenRecord]:
        self.queries.append(set(jtis))
        if len(self.queries) == 1:
            self.first_started.set()
            assert self.release.wait(10)
        elif self._later is not None:
            self._later()
        return self._read_many(jtis)


def read_concurrently(
    reader: TokenRecordReader, gated: GatedReads, first: str, later: list[str]
) -> dict[str, Any]:
    """Read `first`, and `later` while its query runs. Return each record or error."""

    async def read_all() -> list[Any]:
        first_read = asyncio.ensure_future(reader.read(first))
        # The query runs on a thread of the loop's executor, which the loop must not wait for.
        assert await asyncio.to_thread(gated.first_started.wait, 10)
        later_reads = [asyncio.ensure_future(reader.read(jti)) for jti in later]
        await asyncio.sleep(0)  # Each later read joins the waiting batch.
        gated.release.set()
        return await asyncio.gather(first_read, *later_reads, return_exceptions=True)

    outcomes = asyncio.run(asyncio.wait_for(read_all(), 20))
    return dict(zip([first, *later], outcomes, strict=True))


def test_reads_during_query_share_next(app, monkeypatch):
    first, second, third = (issue(app, timedelta(minutes=5)).jti for _ in range(3))
    missing = "0" * 32
    with app.app.app_context():
        reader = TokenRecordReader(db.engines[AUTOCOMMIT_BIND], db.engine)
        gated = GatedReads(reader)
        monkeypatch.setattr(reader, "read_many", gated)

        outcomes = read_concurrently(reader, gated, first, [second, third, missing])

    # The later reads arrived after the first query started, so they got one of their own.
    assert gated.queries == [{first}, {second, third, missing}]
    record = TokenRecord(subject="root", role="root", last_used_at=None)
    assert outcomes == {first: record, second: record, third: record, missing: None}


def test_failed_query_fails_whole_batch(app, monkeypatch):
    first, second, third = (issue(app, timedelta(minutes=5)).jti for _ in range(3))
    with app.app.app_context():
        reader = TokenRecordReader(db.engines[AUTOCOMMIT_BIND], db.engine)

        def fail() -> None:
            raise sa.exc.OperationalError("SELECT", {}, Exception("server has gone away"))

        gated = GatedReads(reader, later=fail)
        monkeypatch.setattr(reader, "read_many", gated)
        outcomes = read_concurrently(reader, gated, first, [second, third])

    assert outcomes[first] == TokenRecord(subject="root", role="root", last_used_at=None)
    for jti in (second, third):
        assert isinstance(outcomes[jti], sa.exc.OperationalError)
    # The next read runs a query of its own.
    monkeypatch.undo()
    assert asyncio.run(reader.read(first)) is not None


def test_revoked_token_rejected_from_next_request(client, root_token, make_user_token):
    token = make_user_token("alice")
    assert client.get("/v1/activities", headers=bearer(token)).status_code == 200

    deleted = client.delete("/v1/users/alice", headers=bearer(root_token))
    after = client.get("/v1/activities", headers=bearer(token))

    assert deleted.status_code == 204
    assert after.status_code == 401


def test_cancelled_read_spares_its_batch(app, monkeypatch):
    """A client that leaves while its check waits cancels no other request's check."""
    running, leaving_jti, staying_jti = (issue(app, timedelta(minutes=5)).jti for _ in range(3))
    with app.app.app_context():
        reader = TokenRecordReader(db.engines[AUTOCOMMIT_BIND], db.engine)
        gated = GatedReads(reader)
        monkeypatch.setattr(reader, "read_many", gated)

        async def read_all() -> tuple[bool, TokenRecord | None]:
            first = asyncio.ensure_future(reader.read(running))
            assert await asyncio.to_thread(gated.first_started.wait, 10)
            # Both wait for the next query, and one of their clients leaves before it runs.
            leaving = asyncio.ensure_future(reader.read(leaving_jti))
            staying = asyncio.ensure_future(reader.read(staying_jti))
            await asyncio.sleep(0)
            leaving.cancel()
            gated.release.set()
            record = await staying
            await first
            return leaving.cancelled(), record

        cancelled, record = asyncio.run(asyncio.wait_for(read_all(), 20))

    assert gated.queries == [{running}, {leaving_jti, staying_jti}]
    assert cancelled
    assert record == TokenRecord(subject="root", role="root", last_used_at=None)


def test_concurrent_touches_write_once(app, monkeypatch):
    jti = issue(app, timedelta(minutes=5)).jti
    with app.app.app_context():
        reader = TokenRecordReader(db.engines[AUTOCOMMIT_BIND], db.engine)
        writes: list[str] = []
        write_last_used = reader.write_last_used

        def record_write(written: str, at: datetime) -> None:
            writes.append(written)
            write_last_used(written, at)

        monkeypatch.setattr(reader, "write_last_used", record_write)
        now = datetime.now(UTC)

        async def touch_three_times() -> None:
            await asyncio.gather(*(reader.touch(jti, now) for _ in range(3)))

        asyncio.run(touch_three_times())
        record = asyncio.run(reader.read(jti))

    assert writes == [jti]
    assert record is not None
    # MySQL's DATETIME may drop the fraction of a second.
    assert record.last_used_at is not None
    assert abs(record.last_used_at - now) < timedelta(seconds=1)


def revoke_after_check(monkeypatch: pytest.MonkeyPatch, app: Any) -> None:
    """Make every token check delete its token's row once it passed, as a revocation
    that commits while the request waits for a thread would."""
    check = auth.TokenCheck.__call__

    async def check_then_revoke(self: auth.TokenCheck, claims: dict[str, Any]) -> None:
        await check(self, claims)

        def revoke() -> None:
            with app.app.app_context():
                db.session.execute(sa.delete(Token).where(Token.jti == claims["jti"]))
                db.session.commit()
                db.session.remove()

        await asyncio.get_running_loop().run_in_executor(None, revoke)

    monkeypatch.setattr(auth.TokenCheck, "__call__", check_then_revoke)


def test_revoked_while_waiting_rejected(app, client, monkeypatch):
    token = issue(app, timedelta(minutes=5)).token
    revoke_after_check(monkeypatch, app)
    monkeypatch.setattr(auth, "RECHECK_AFTER_SECONDS", 0)

    response = client.get("/v1/me", headers=bearer(token))

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"


def test_revoked_during_short_wait_runs(app, client, monkeypatch):
    """Under the bound, the request runs, as one already in its handler would."""
    token = issue(app, timedelta(minutes=5)).token
    revoke_after_check(monkeypatch, app)
    monkeypatch.setattr(auth, "RECHECK_AFTER_SECONDS", 60)

    assert client.get("/v1/me", headers=bearer(token)).status_code == 200
    assert client.get("/v1/me", headers=bearer(token)).status_code == 401


@pytest.mark.parametrize("jti", ["0" * 31, "0" * 33, "G" * 32, "A" * 32, "\x00" * 32, 42])
def test_decode_token_malformed_jti_rejected(app, jti):
    issued = issue(app, timedelta(minutes=5))
    claims = jwt.decode(issued.token, options={"verify_signature": False})
    settings = auth.current_settings()
    token = jwt.encode({**claims, "jti": jti}, settings.jwt_secret, algorithm="HS256")

    assert auth.decode_token(token) is None


def test_batch_capped_rest_waits(app, monkeypatch):
    first = issue(app, timedelta(minutes=5)).jti
    later = [f"{index:032x}" for index in range(token_records.MAX_BATCH + 6)]
    with app.app.app_context():
        reader = TokenRecordReader(db.engines[AUTOCOMMIT_BIND], db.engine)
        gated = GatedReads(reader)
        monkeypatch.setattr(reader, "read_many", gated)

        outcomes = read_concurrently(reader, gated, first, later)

    # Arrivals are read in order: the first 64 by the next query, the rest by the one after.
    assert gated.queries == [
        {first},
        set(later[: token_records.MAX_BATCH]),
        set(later[token_records.MAX_BATCH :]),
    ]
    assert outcomes[first] == TokenRecord(subject="root", role="root", last_used_at=None)
    assert all(outcomes[jti] is None for jti in later)
    # Padded to powers of two: 1, 64 and 8 placeholders.
    assert sorted(reader._statements) == [1, 8, 64]


def test_reader_keeps_no_finished_loop(app):
    jti = issue(app, timedelta(minutes=5)).jti
    reader: TokenRecordReader = app.app.extensions[token_records.EXTENSION_KEY]

    for _ in range(3):
        assert asyncio.run(reader.read(jti)) is not None
    gc.collect()

    assert len(reader._queues) == 0
