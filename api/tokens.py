"""The token inventory: the issued tokens of a user, and their revocation.

Every issued token has a row in `tokens`; deleting the row revokes the token, because
each request looks its `jti` up (`auth.TokenCheck`), on every worker.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from flask import current_app
from sqlalchemy import ColumnElement, delete, select

from .auth import ROOT, utc_now
from .db import db
from .errors import NotFound
from .models import Token
from .users import get_user

log = logging.getLogger(__name__)


def list_tokens(username: str) -> list[Token]:
    """Return the unexpired tokens of `username`, oldest first; the root name lists root's."""
    owned = _owned_by(username)
    query = (
        select(Token)
        .where(owned, Token.expires_at > utc_now())
        .order_by(Token.issued_at, Token.jti)
    )
    return list(db.session.execute(query).scalars())


def revoke_token(username: str, jti: str) -> None:
    """Delete the token `jti` of `username`, which rejects it from the next request on."""
    owned = _owned_by(username)
    result = db.session.execute(delete(Token).where(owned, Token.jti == jti))
    if not result.rowcount:  # type: ignore[attr-defined]
        db.session.rollback()
        raise NotFound(f"Token {jti!r} of user {username!r} not found.")
    db.session.commit()
    log.info("revoked token jti=%s sub=%s", jti, username)


def _owned_by(username: str) -> ColumnElement[bool]:
    """Return the condition that selects the tokens of `username`; 404 for an unknown user."""
    settings = current_app.extensions["activity_recommender.settings"]
    if username == settings.root_username:
        # Root is configured, not stored: its tokens have no user row.
        return (Token.user_id.is_(None)) & (Token.role == ROOT) & (Token.subject == username)
    return Token.user_id == get_user(username).id


def token_to_dict(token: Token) -> dict[str, Any]:
    return {
        "jti": token.jti,
        "username": token.subject,
        "role": token.role,
        "issued_at": _timestamp(token.issued_at),
        "expires_at": _timestamp(token.expires_at),
        "last_used_at": _timestamp(token.last_used_at) if token.last_used_at else None,
    }


def _timestamp(moment: datetime) -> str:
    """Return an RFC 3339 UTC timestamp to the second, as on every database."""
    return moment.replace(microsecond=0).isoformat().replace("+00:00", "Z")
