"""Activity storage: name rules, atomic count updates and the defaults."""

from __future__ import annotations

import logging
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Flask, current_app
from sqlalchemy import (
    ColumnClause,
    Integer,
    bindparam,
    delete,
    func,
    literal_column,
    select,
    update,
)
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from . import distribution_cache
from .database import AUTOCOMMIT_BIND
from .db import db
from .errors import BadRequest, Conflict, NotFound
from .models import MAX_PLAYERS, Activity
from .prepared import PreparedStatement
from .recommender import Counts

log = logging.getLogger(__name__)

_TABLE = Activity.__table__

# Built once at import, because building a statement per request costs more CPU than
# the database spends running it.
_ADD_MALE = bindparam("add_male", type_=Integer)
_ADD_FEMALE = bindparam("add_female", type_=Integer)
_ADD_PLAYERS = update(_TABLE).where(
    _TABLE.c.name == bindparam("activity"),
    _TABLE.c.male_players <= bindparam("male_limit", type_=Integer),
    _TABLE.c.female_players <= bindparam("female_limit", type_=Integer),
)
_ADD_PLAYERS_RETURNING = _ADD_PLAYERS.values(
    male_players=_TABLE.c.male_players + _ADD_MALE,
    female_players=_TABLE.c.female_players + _ADD_FEMALE,
).returning(_TABLE.c.male_players, _TABLE.c.female_players)

#: Bits of the integer that carries the new female count (see `_ADD_PLAYERS_MYSQL`).
_COUNT_BITS = 32
_COUNT_SHIFT: ColumnClause[int] = literal_column(str(2**_COUNT_BITS))

# MySQL has no UPDATE ... RETURNING, but one UPDATE can still send an integer back:
# LAST_INSERT_ID(expr) makes expr the connection's last insert id, which the server
# returns with the statement's result (the MySQL manual's idiom for counters). Both new
# counts fit in it, male * 2**32 + female, as each is below 2**31. It is computed from
# the old counts only, in the first assignment, before female_players changes: so the
# result is right whether the server assigns from left to right (MySQL's rule) or all
# at once (MariaDB's SIMULTANEOUS_ASSIGNMENT mode).
_ADD_PLAYERS_MYSQL = _ADD_PLAYERS.ordered_values(
    (
        _TABLE.c.male_players,
        func.last_insert_id(
            (_TABLE.c.male_players + _ADD_MALE) * _COUNT_SHIFT
            + _TABLE.c.female_players
            + _ADD_FEMALE
        ).op("DIV")(_COUNT_SHIFT),
    ),
    (_TABLE.c.female_players, _TABLE.c.female_players + _ADD_FEMALE),
)
_READ_COUNTS = select(_TABLE.c.male_players, _TABLE.c.female_players).where(
    _TABLE.c.name == bindparam("activity")
)

MAX_NAME_LENGTH = 64

#: The `app.extensions` key of the app's compiled addition.
EXTENSION_KEY = "activity_recommender.add_players"

#: The activities that a new database and `POST /v1/reset` start from.
DEFAULT_ACTIVITIES = (
    Counts(name="basketball", male=10, female=3),
    Counts(name="swimming", male=3, female=5),
)


def normalize_name(raw: str) -> str:
    """Return the stored form of an activity name: trimmed, NFC, lowercase.

    Raises BadRequest when the trimmed name is empty, or is longer than 64
    characters before or after normalizing, or contains a control character.
    """
    trimmed = raw.strip()
    if not trimmed:
        raise BadRequest("The activity name must not be empty or only spaces.")
    # The spec's pattern limits the trimmed name as sent. Checking it here too keeps the
    # service from accepting a longer name that NFC happens to shorten.
    if len(trimmed) > MAX_NAME_LENGTH:
        raise BadRequest(f"The activity name must be at most {MAX_NAME_LENGTH} characters.")
    name = unicodedata.normalize("NFC", unicodedata.normalize("NFC", trimmed).lower())
    if len(name) > MAX_NAME_LENGTH:
        raise BadRequest(
            f"The activity name must be at most {MAX_NAME_LENGTH} characters "
            "after normalizing to NFC and lowercase."
        )
    if any(unicodedata.category(char) in ("Cc", "Cs") for char in name):
        raise BadRequest("The activity name must not contain control characters.")
    return name


def list_activities() -> list[Activity]:
    return list(db.session.execute(select(Activity).order_by(Activity.name)).scalars())


def all_counts() -> list[Counts]:
    rows = db.session.execute(select(Activity.name, Activity.male_players, Activity.female_players))
    return [Counts(name=name, male=male, female=female) for name, male, female in rows]


def get_activity(raw_name: str) -> Activity:
    name = normalize_name(raw_name)
    activity = db.session.get(Activity, name)
    if activity is None:
        raise NotFound(f"Activity {name!r} not found.")
    return activity


def put_activity(raw_name: str, male_players: int, female_players: int) -> tuple[Activity, bool]:
    """Create or replace an activity's counts; return it and whether it was created.

    Updates first and inserts only when no row matched. When two requests race to
    create the same name, the loser's insert violates the primary key, so it rolls
    back and replaces the winner's row instead: one 201, the rest 200, never a 500.
    """
    name = normalize_name(raw_name)
    values = {"male_players": male_players, "female_players": female_players}

    if _update_counts(name, values):
        db.session.commit()
        return db.session.get(Activity, name, populate_existing=True), False  # type: ignore[return-value]

    try:
        db.session.add(Activity(name=name, **values))
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        if not _update_counts(name, values):  # pragma: no cover - deleted in between
            raise
        db.session.commit()
        return db.session.get(Activity, name, populate_existing=True), False  # type: ignore[return-value]

    log.info("created activity name=%r", name)
    return db.session.get(Activity, name), True  # type: ignore[return-value]


def _update_counts(name: str, values: dict[str, int]) -> bool:
    result = db.session.execute(update(Activity).where(Activity.name == name).values(**values))
    return bool(result.rowcount)  # type: ignore[attr-defined]


def add_players(raw_name: str, male: int, female: int) -> Activity:
    """Add to an activity's counts in one UPDATE, so concurrent additions all count.

    The WHERE clause refuses an addition that would pass the 32-bit limit, so an
    overflow changes nothing and is reported as a conflict. The counts returned are the
    ones this addition made, from the UPDATE itself: by UPDATE ... RETURNING where the
    database has it (PostgreSQL, SQLite), else by LAST_INSERT_ID (MySQL). So the UPDATE
    is the whole write, and it runs in autocommit mode: one round trip, stored exactly
    when it succeeds. A connection lost while it runs gets 503, as a lost COMMIT would.
    """
    name = normalize_name(raw_name)
    if male == 0 and female == 0:
        raise BadRequest("At least one of 'male' and 'female' must be greater than 0.")
    params = {
        "activity": name,
        "add_male": male,
        "add_female": female,
        "male_limit": MAX_PLAYERS - male,
        "female_limit": MAX_PLAYERS - female,
    }

    # The request's ORM session is not used, because its transaction would cost a ping,
    # a COMMIT, and a ROLLBACK when the pool takes the connection back.
    prepared: _PreparedAddition = current_app.extensions[EXTENSION_KEY]
    counts = prepared.statement.run(params, prepared.read_counts)
    if counts is None:
        with db.engines[AUTOCOMMIT_BIND].connect() as connection:
            if connection.execute(_READ_COUNTS, params).first() is None:
                raise NotFound(f"Activity {name!r} not found.")
        raise Conflict(f"Adding these players would make a count of {name!r} exceed {MAX_PLAYERS}.")

    # The ORM session invalidates the cache when it commits; this write bypassed it.
    distribution_cache.invalidate()
    return Activity(name=name, male_players=counts[0], female_players=counts[1])


@dataclass(frozen=True)
class _PreparedAddition:
    statement: PreparedStatement
    #: The function that reads the new counts from the cursor, or None when no row changed.
    read_counts: Callable[[Any], tuple[int, int] | None]


def init_app(flask_app: Flask, engine: Engine) -> None:
    """Compile the addition's UPDATE once for `flask_app`'s autocommit `engine`."""
    if engine.dialect.update_returning:
        prepared = _PreparedAddition(
            PreparedStatement(_ADD_PLAYERS_RETURNING, engine), _returned_counts
        )
    else:
        prepared = _PreparedAddition(PreparedStatement(_ADD_PLAYERS_MYSQL, engine), _packed_counts)
    flask_app.extensions[EXTENSION_KEY] = prepared


def _returned_counts(cursor: Any) -> tuple[int, int] | None:
    row = cursor.fetchone()
    return None if row is None else (row[0], row[1])


def _packed_counts(cursor: Any) -> tuple[int, int] | None:
    return _unpack_counts(cursor.lastrowid) if cursor.rowcount else None


def _unpack_counts(packed: int) -> tuple[int, int]:
    """Split the integer of `_ADD_PLAYERS_MYSQL` into the male and female counts."""
    return packed >> _COUNT_BITS, packed & (2**_COUNT_BITS - 1)


def delete_activity(raw_name: str) -> None:
    name = normalize_name(raw_name)
    result = db.session.execute(delete(Activity).where(Activity.name == name))
    if not result.rowcount:  # type: ignore[attr-defined]
        db.session.rollback()
        raise NotFound(f"Activity {name!r} not found.")
    db.session.commit()
    log.info("deleted activity name=%r", name)


def reset_activities() -> list[Activity]:
    """Replace every activity with the defaults, in one transaction."""
    db.session.execute(delete(Activity))
    db.session.add_all(
        Activity(name=a.name, male_players=a.male, female_players=a.female)
        for a in DEFAULT_ACTIVITIES
    )
    db.session.commit()
    log.info("reset activities to the defaults")
    return list_activities()


def import_activities(rows: list[Counts], replace: bool = False) -> tuple[int, int]:
    """Create or replace the counts of `rows` in one transaction; return (created, updated).

    With `replace`, every activity not in `rows` is deleted too. The names must be
    normalized and distinct, as `activity_csv.read_activities` returns them. On any
    error nothing is changed.
    """
    try:
        if replace:
            db.session.execute(delete(Activity))
            existing: set[str] = set()
        else:
            names = [row.name for row in rows]
            existing = set(
                db.session.execute(select(Activity.name).where(Activity.name.in_(names))).scalars()
            )
        for row in rows:
            if row.name in existing:
                _update_counts(row.name, {"male_players": row.male, "female_players": row.female})
            else:
                db.session.add(
                    Activity(name=row.name, male_players=row.male, female_players=row.female)
                )
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    created = len(rows) - len(existing)
    log.info(
        "imported activities created=%s updated=%s replace=%s", created, len(existing), replace
    )
    return created, len(existing)
