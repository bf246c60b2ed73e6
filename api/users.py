"""User accounts."""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime

from flask import current_app
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from .db import db
from .errors import BadRequest, Conflict, NotFound
from .models import Token, User

log = logging.getLogger(__name__)

#: The spec's `Username` pattern.
USERNAME = re.compile(r"[A-Za-z0-9_.-]{1,64}")


def list_users() -> list[User]:
    return list(db.session.execute(select(User).order_by(User.username)).scalars())


def get_user(username: str) -> User:
    user = _find_user(username)
    if user is None:
        raise NotFound(f"User {username!r} not found.")
    return user


def create_user(username: str) -> User:
    """Create a user with the role `user`; the root name is taken by definition."""
    # The spec checks the same pattern for the API; the admin commands rely on this.
    if not USERNAME.fullmatch(username):
        raise BadRequest(
            f"Invalid username {username!r}: use 1 to 64 letters, digits, '_', '.' or '-'."
        )
    settings = current_app.extensions["activity_recommender.settings"]
    if username == settings.root_username:
        raise Conflict(f"User {username!r} already exists.")

    user = User(username=username, created_at=datetime.now(UTC).replace(microsecond=0))
    db.session.add(user)
    try:
        db.session.commit()
    except IntegrityError:
        # The unique index decides races that a check-then-insert could not.
        db.session.rollback()
        raise Conflict(f"User {username!r} already exists.") from None
    log.info("created user username=%s id=%s", user.username, user.id)
    return user


def ensure_user(username: str) -> User:
    """Return the user named `username`, creating them first when the name is new."""
    existing = _find_user(username)
    if existing is not None:
        return existing
    try:
        return create_user(username)
    except Conflict:
        # Either another request created the user after the lookup, or the name is
        # root's; only the first case has a row to return.
        existing = _find_user(username)
        if existing is None:
            raise
        return existing


def _find_user(username: str) -> User | None:
    return db.session.execute(select(User).filter_by(username=username)).scalar_one_or_none()


def delete_user(username: str) -> None:
    """Delete a user and every token issued to them, in one transaction."""
    user = get_user(username)
    db.session.execute(delete(Token).where(Token.user_id == user.id))
    db.session.delete(user)
    db.session.commit()
    log.info("deleted user username=%s id=%s", username, user.id)
