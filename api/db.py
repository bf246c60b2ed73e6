"""The Flask-SQLAlchemy extension and the column types shared by the models."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import DateTime, String
from sqlalchemy.dialects import mysql
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator


class Base(DeclarativeBase):
    pass


db = SQLAlchemy(model_class=Base)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored as naive UTC and read back as an aware UTC datetime.

    MySQL's DATETIME and SQLite keep no time zone, so every value is converted to UTC
    on the way in and labelled UTC on the way out, which reads the same on all databases.
    """

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC)


def binary_string(length: int) -> String:
    """Return a VARCHAR type that every database compares byte for byte.

    MySQL's default collations treat `é` as `e` and ignore trailing spaces, which
    would merge names that the service keeps apart. `utf8mb4_bin` does neither.
    SQLite and PostgreSQL compare bytes by default.
    """
    return String(length).with_variant(
        mysql.VARCHAR(length, charset="utf8mb4", collation="utf8mb4_bin"), "mysql", "mariadb"
    )
