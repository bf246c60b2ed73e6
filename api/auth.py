"""JWT issue and verification, root login and role checks."""

from __future__ import annotations

import functools
import hmac
import logging
import math
import re
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from flask import current_app
from sqlalchemy import delete

from . import login_throttle, passwords
from .db import db
from .errors import BadRequest, Forbidden, NotFound, Unauthorized
from .models import Token, User
from .token_records import TokenRecord, TokenRecordReader

log = logging.getLogger(__name__)

ALGORITHM = "HS256"
ROOT = "root"
USER = "user"

#: The OAuth 2.0 token type of every token the service issues.
BEARER = "bearer"

#: Tolerated clock difference between the issuing and the verifying task.
LEEWAY = timedelta(seconds=10)

#: `last_used_at` is written at most this often per token, so reads stay reads.
LAST_USED_RESOLUTION = timedelta(seconds=60)

#: A request that waited longer than this for a thread after its token check (seconds)
#: is checked again before its handler runs, so that a revocation committed meanwhile
#: counts. At 64 connections on MariaDB the benchmark ran 0.08 to 0.10 token queries per
#: recommendation, second checks included, so they are rare.
RECHECK_AFTER_SECONDS = 0.1

#: The form of the `jti`s that `issue_token` makes: a UUID4 in 32 hexadecimal digits.
JTI_FORMAT = re.compile(r"[0-9a-f]{32}")

#: Verified tokens that each worker remembers, so that a token sent again skips the
#: signature check and the claim parsing; 1,024 of them take well under 1 MiB.
VERIFIED_TOKENS_CACHED = 1024


@dataclass(frozen=True)
class IssuedToken:
    token: str
    jti: str
    issued_at: datetime
    expires_at: datetime

    def as_access_token(self) -> dict[str, Any]:
        """Return the OAuth 2.0 token response, with the lifetime in seconds."""
        lifetime = self.expires_at - self.issued_at
        return {
            "access_token": self.token,
            "token_type": BEARER,
            "expires_in": max(1, round(lifetime.total_seconds())),
        }

    def as_issued_token(self) -> dict[str, Any]:
        """Return the token with its expiry as an RFC 3339 timestamp."""
        return {
            "access_token": self.token,
            "token_type": BEARER,
            "expires_at": self.expires_at.isoformat().replace("+00:00", "Z"),
            "jti": self.jti,
        }


def utc_now() -> datetime:
    return datetime.now(UTC)


def _settings() -> Any:
    return current_app.extensions["activity_recommender.settings"]


def issue_token(
    subject: str, role: str, lifetime: timedelta, user: User | None = None
) -> IssuedToken:
    """Sign a token for `subject` and record its `jti`; the caller commits."""
    settings = _settings()
    now = utc_now().replace(microsecond=0)
    expires_at = now + lifetime
    jti = uuid.uuid4().hex
    claims = {
        "sub": subject,
        "role": role,
        "iat": now,
        "exp": expires_at,
        "jti": jti,
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
    }
    token = jwt.encode(claims, settings.jwt_secret, algorithm=ALGORITHM)

    # Expired rows are useless; dropping them here keeps the table small without a job.
    db.session.execute(delete(Token).where(Token.expires_at < now - LEEWAY))
    db.session.add(
        Token(
            jti=jti,
            user_id=user.id if user else None,
            subject=subject,
            role=role,
            issued_at=now,
            expires_at=expires_at,
        )
    )
    log.info("issued token jti=%s sub=%s role=%s expires_at=%s", jti, subject, role, expires_at)
    return IssuedToken(token=token, jti=jti, issued_at=now, expires_at=expires_at)


def login_root(username: str, password: str, client_address: str = "unknown") -> IssuedToken:
    """Check the root credentials and issue a root token, throttling failed attempts.

    Raises TooManyRequests while the username or the client address is locked out,
    even for the right password, and Unauthorized for wrong credentials.
    """
    settings = _settings()
    now = utc_now()
    login_throttle.check(username, client_address, now)

    # Both checks always run, the slow Argon2 one too, so timing reveals neither.
    name_ok = hmac.compare_digest(username.encode(), settings.root_username.encode())
    password_ok = passwords.verify_password(settings.root_password, password)
    if not (name_ok and password_ok):
        login_throttle.record_failure(username, client_address, now)
        db.session.commit()
        log.warning("failed login for username=%r address=%s", username[:64], client_address)
        raise Unauthorized("Incorrect username or password.")

    login_throttle.clear(username)
    issued = issue_token(
        settings.root_username, ROOT, timedelta(minutes=settings.root_token_minutes)
    )
    db.session.commit()
    return issued


def issue_user_token(username: str, expires_in_days: float) -> IssuedToken:
    """Issue a token for an existing user."""
    # NaN passes every range check, so callers' bounds alone cannot catch it.
    if not math.isfinite(expires_in_days) or expires_in_days <= 0:
        raise BadRequest(f"The lifetime must be a positive number of days, not {expires_in_days}.")
    user = db.session.execute(db.select(User).filter_by(username=username)).scalar_one_or_none()
    if user is None:
        raise NotFound(f"User {username!r} not found.")
    issued = issue_token(user.username, USER, timedelta(days=expires_in_days), user=user)
    db.session.commit()
    return issued


def decode_token(token: str) -> dict[str, Any] | None:
    """Verify a bearer token's signature and claims; Connexion's `x-bearerInfoFunc`.

    Connexion calls this on its event loop, so it does no I/O: whether the token
    was revoked is checked against the database by `TokenCheck`, which the security
    middleware awaits next.
    """
    settings = current_settings()
    try:
        claims, expires_at = _verify_token(
            token, settings.jwt_secret, settings.jwt_audience, settings.jwt_issuer
        )
    except jwt.InvalidTokenError as exc:
        log.info("rejected token: %s", exc)
        return None
    # A remembered token is checked against the clock again, as PyJWT would check it.
    if time.time() >= expires_at + LEEWAY.total_seconds():
        log.info("rejected token: Signature has expired")
        return None
    return dict(claims)


@functools.lru_cache(maxsize=VERIFIED_TOKENS_CACHED)
def _verify_token(
    token: str, secret: str, audience: str, issuer: str
) -> tuple[dict[str, Any], float]:
    """Return the claims that the service uses from a valid token, and its `exp`.

    Raises jwt.InvalidTokenError. The cache keeps only tokens that passed, so an
    invalid token is verified again each time. A token that passed stays valid until
    its `exp`, which `decode_token` checks on every use; revocation is checked in the
    database by `TokenCheck`.
    """
    claims = jwt.decode(
        token,
        secret,
        algorithms=[ALGORITHM],
        audience=audience,
        issuer=issuer,
        leeway=LEEWAY,
        options={"require": ["exp", "iat", "sub", "jti", "iss", "aud"]},
    )
    if claims.get("role") not in (ROOT, USER):
        raise jwt.InvalidTokenError("invalid role claim")
    # A well-formed `jti` also keeps bytes that a driver rejects (NUL) out of the shared
    # revocation query, where one bad value would fail every request of the batch.
    jti = claims.get("jti")
    if not isinstance(jti, str) or not JTI_FORMAT.fullmatch(jti):
        raise jwt.InvalidTokenError("invalid jti claim")
    return {"sub": claims["sub"], "role": claims["role"], "jti": claims["jti"]}, claims["exp"]


@dataclass(frozen=True)
class TokenCheck:
    """The revocation check of one app's tokens, run after `decode_token` accepted one.

    The security middleware awaits it on the event loop (`framework.security_map`), so
    the record is read before the request takes a thread, and concurrent checks share
    one query (`token_records`). A request that then waits longer than
    `RECHECK_AFTER_SECONDS` for a thread is checked again there, by `check_again`.
    """

    reader: TokenRecordReader
    root_username: str

    async def __call__(self, claims: dict[str, Any]) -> None:
        """Reject a token whose record was deleted, with its user or by revocation."""
        jti = claims["jti"]
        record = self._verify(claims, await self.reader.read(jti))

        now = utc_now()
        if record.last_used_at is None or now - record.last_used_at > LAST_USED_RESOLUTION:
            await self.reader.touch(jti, now)

    def check_again(self, claims: dict[str, Any]) -> None:
        """Reject the token if it was revoked since its check, by a blocking query."""
        jti = claims["jti"]
        self._verify(claims, self.reader.read_many([jti]).get(jti))

    def _verify(self, claims: dict[str, Any], record: TokenRecord | None) -> TokenRecord:
        if record is None or record.subject != claims["sub"] or record.role != claims["role"]:
            raise Unauthorized("The token was revoked or its user was deleted.")
        if record.role == ROOT and record.subject != self.root_username:
            raise Unauthorized("The token belongs to a former root user.")
        return record


def require_root(token_info: dict[str, Any]) -> None:
    if token_info.get("role") != ROOT:
        raise Forbidden("This operation requires the root role.")


# Set by the application factory; `decode_token` runs outside any Flask app context.
_current_settings: Any = None


def current_settings() -> Any:
    return _current_settings


def bind_settings(settings: Any) -> None:
    global _current_settings
    _current_settings = settings
