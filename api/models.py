"""The database tables."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from .db import UTCDateTime, binary_string, db

#: Counts are stored as signed 32-bit integers, the largest type all three databases share.
MAX_PLAYERS = 2_147_483_647

_MYSQL_TABLE = {"mysql_charset": "utf8mb4", "mysql_collate": "utf8mb4_bin"}


class Activity(db.Model):  # type: ignore[name-defined]
    __tablename__ = "activities"
    __table_args__ = (
        CheckConstraint("male_players >= 0", name="ck_activities_male_players"),
        CheckConstraint("female_players >= 0", name="ck_activities_female_players"),
        _MYSQL_TABLE,
    )

    name: Mapped[str] = mapped_column(binary_string(64), primary_key=True)
    male_players: Mapped[int] = mapped_column(Integer, nullable=False)
    female_players: Mapped[int] = mapped_column(Integer, nullable=False)

    def to_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "male_players": self.male_players,
            "female_players": self.female_players,
        }


class User(db.Model):  # type: ignore[name-defined]
    __tablename__ = "users"
    __table_args__ = (_MYSQL_TABLE,)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(binary_string(64), unique=True, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)

    def to_dict(self) -> dict[str, object]:
        return {
            "username": self.username,
            "role": "user",
            "created_at": self.created_at.isoformat().replace("+00:00", "Z"),
        }


class Token(db.Model):  # type: ignore[name-defined]
    """An issued JWT, by its `jti`. A token whose row is gone is rejected."""

    __tablename__ = "tokens"
    __table_args__ = (_MYSQL_TABLE,)

    jti: Mapped[str] = mapped_column(String(32), primary_key=True)
    # NULL for root tokens: root is configured, not stored.
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    subject: Mapped[str] = mapped_column(binary_string(64), nullable=False)
    role: Mapped[str] = mapped_column(String(8), nullable=False)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, index=True)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class LoginFailure(db.Model):  # type: ignore[name-defined]
    """A failed `POST /v1/token`, kept for the login throttle's five-minute window."""

    __tablename__ = "login_failures"
    __table_args__ = (
        Index("ix_login_failures_username_failed_at", "username", "failed_at"),
        Index("ix_login_failures_address_failed_at", "address", "failed_at"),
        _MYSQL_TABLE,
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: As sent, up to the 256 characters that the spec admits.
    username: Mapped[str] = mapped_column(binary_string(256), nullable=False)
    #: The client's IP address, as the server saw it after trusted proxy headers.
    address: Mapped[str] = mapped_column(String(64), nullable=False)
    failed_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, index=True)
