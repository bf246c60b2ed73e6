"""The per-request token check: remembered signatures, and the revocation query's fast path."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest
import sqlalchemy as sa

from api import auth, token_records
from api.database import AUTOCOMMIT_BIND
from api.db import db
from api.token_records import TokenRecord, TokenRecordReader, read_token_record

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


def read_record(jti: str) -> TokenRecord | None:
    """Read as the per-request check does: on the autocommit engine, the default as fallback."""
    return read_token_record(db.engines[AUTOCOMMIT_BIND], db.engine, jti)


def test_read_token_record_found(app):
    issued = issue(app, timedelta(minutes=5))

    with app.app.app_context():
        record = read_record(issued.jti)

    assert record == TokenRecord(subject="root", role="root", last_used_at=None)


def test_read_token_record_missing(app):
    with app.app.app_context():
        assert read_record("0" * 32) is None


def test_read_token_record_last_used_is_utc(app, client):
    issued = issue(app, timedelta(minutes=5))
    assert client.get("/v1/me", headers=bearer(issued.token)).status_code == 200

    with app.app.app_context():
        record = read_record(issued.jti)

    assert record is not None
    assert record.last_used_at is not None
    assert record.last_used_at.tzinfo is UTC
    assert abs(datetime.now(UTC) - record.last_used_at) < timedelta(minutes=1)


def test_read_token_record_driver_error_falls_back(app, monkeypatch):
    issued = issue(app, timedelta(minutes=5))
    with app.app.app_context():
        reader = TokenRecordReader(db.engines[AUTOCOMMIT_BIND], db.engine)
        dbapi_error = db.engine.dialect.loaded_dbapi.OperationalError

        def broken_fetch(params: Any) -> Any:
            raise dbapi_error("connection lost")

        monkeypatch.setattr(reader, "_fetch", broken_fetch)
        record = reader.read(issued.jti)

    assert record == TokenRecord(subject="root", role="root", last_used_at=None)


def test_token_read_timeout_not_retried(app, monkeypatch):
    """A query that failed after a timeout is not run again: that would double the wait."""
    with app.app.app_context():
        reader = TokenRecordReader(db.engines[AUTOCOMMIT_BIND], db.engine)
        dbapi_error = db.engine.dialect.loaded_dbapi.OperationalError
        clock = iter([100.0, 100.0 + token_records.FAST_FAILURE_SECONDS])

        def timed_out_fetch(params: Any) -> Any:
            raise dbapi_error("read timed out")

        def second_try(jti: str) -> Any:
            raise AssertionError("the query ran a second time")

        monkeypatch.setattr(reader, "_fetch", timed_out_fetch)
        monkeypatch.setattr(reader, "_read_through_connection", second_try)
        monkeypatch.setattr(token_records.time, "monotonic", lambda: next(clock))
        with pytest.raises(sa.exc.OperationalError, match="read timed out"):
            reader.read("0" * 32)


def test_read_token_record_unreachable_database_raises_wrapped(tmp_path):
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'missing' / 'db.sqlite3'}")

    with pytest.raises(sa.exc.OperationalError):
        token_records.read_token_record(engine, engine, "0" * 32)
    engine.dispose()


def test_revoked_token_rejected_from_next_request(client, root_token, make_user_token):
    token = make_user_token("alice")
    assert client.get("/v1/activities", headers=bearer(token)).status_code == 200

    deleted = client.delete("/v1/users/alice", headers=bearer(root_token))
    after = client.get("/v1/activities", headers=bearer(token))

    assert deleted.status_code == 204
    assert after.status_code == 401
