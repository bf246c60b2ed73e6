"""Throttling of failed root logins, per username and per client address.

The failures are rows in the database, so every worker and every task counts the same
ones. After `MAX_FAILURES` failures within `WINDOW` for a username or an address, logins
for it are rejected, whatever the password, until enough of them leave the window.
"""

from __future__ import annotations

import logging
import math
from datetime import datetime, timedelta

from sqlalchemy import delete, select

from .db import db
from .errors import TooManyRequests
from .models import LoginFailure

log = logging.getLogger(__name__)

MAX_FAILURES = 5
WINDOW = timedelta(minutes=5)

#: Column widths of `login_failures`; longer values are cut to fit.
MAX_USERNAME = 256
MAX_ADDRESS = 64


def check(username: str, address: str, now: datetime) -> None:
    """Raise TooManyRequests when the username or the address is locked out at `now`."""
    username, address = username[:MAX_USERNAME], address[:MAX_ADDRESS]
    unlocks = [
        moment
        for moment in (
            _locked_until(LoginFailure.username == username, now),
            _locked_until(LoginFailure.address == address, now),
        )
        if moment is not None
    ]
    if not unlocks:
        return
    retry_after = max(1, math.ceil((max(unlocks) - now).total_seconds()))
    log.warning(
        "login locked out username=%r address=%s retry_after=%s",
        username[:64],
        address,
        retry_after,
    )
    raise TooManyRequests(
        f"Too many failed logins. Retry in {retry_after} seconds.", retry_after=retry_after
    )


def _locked_until(matches: object, now: datetime) -> datetime | None:
    """Return when the lock-out for the failures that `matches` selects ends, or None."""
    # The lock lifts when the MAX_FAILURES-th newest failure leaves the window.
    oldest_counted = db.session.execute(
        select(LoginFailure.failed_at)
        .where(matches, LoginFailure.failed_at > now - WINDOW)  # type: ignore[arg-type]
        .order_by(LoginFailure.failed_at.desc())
        .offset(MAX_FAILURES - 1)
        .limit(1)
    ).scalar_one_or_none()
    return None if oldest_counted is None else oldest_counted + WINDOW


def record_failure(username: str, address: str, now: datetime) -> None:
    """Store a failed login and drop failures that left the window; the caller commits."""
    db.session.execute(delete(LoginFailure).where(LoginFailure.failed_at <= now - WINDOW))
    db.session.add(
        LoginFailure(username=username[:MAX_USERNAME], address=address[:MAX_ADDRESS], failed_at=now)
    )


def clear(username: str) -> None:
    """Forget the failures of `username` after a successful login; the caller commits."""
    db.session.execute(delete(LoginFailure).where(LoginFailure.username == username[:MAX_USERNAME]))
