"""Activities: name rules, create or replace, atomic player additions, delete and reset."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from sqlalchemy import event
from sqlalchemy.exc import OperationalError

from api import activities
from api.activities import normalize_name
from api.database import AUTOCOMMIT_BIND
from api.db import db
from api.errors import BadRequest
from api.models import MAX_PLAYERS
from api.prepared import PreparedStatement

from .conftest import bearer

DEFAULT_ACTIVITIES = [
    {"name": "basketball", "male_players": 10, "female_players": 3},
    {"name": "swimming", "male_players": 3, "female_players": 5},
]

EMPTY_NAME = "The activity name must not be empty or only spaces."
LONG_NAME = "The activity name must be at most 64 characters."
LONG_NORMALIZED_NAME = (
    "The activity name must be at most 64 characters after normalizing to NFC and lowercase."
)
INVALID_NAME = (
    "'name' must have 1 to 64 characters after trimming, none of them a control character."
)
CONTROL_NAME = "The activity name must not contain control characters."


def url(name: str) -> str:
    return "/v1/activities/" + quote(name, safe="")


def put(client, token, name, male=1, female=2):
    return client.put(
        url(name), json={"male_players": male, "female_players": female}, headers=bearer(token)
    )


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("swimming", "swimming"),
        ("Swimming", "swimming"),
        (" swimming ", "swimming"),
        ("\tSWIMMING\n", "swimming"),
        ("p\u00e9tanque", "p\u00e9tanque"),
        ("pe\u0301tanque", "p\u00e9tanque"),
        ("PE\u0301TANQUE", "p\u00e9tanque"),
        ("rock climbing", "rock climbing"),
        ("Rock  Climbing", "rock  climbing"),
        ("\u00a0judo\u3000", "judo"),
        ("a" * 64, "a" * 64),
        (" " + "A" * 64 + " ", "a" * 64),
        ("e\u0301" * 32, "\u00e9" * 32),
        ("\u0130", "i\u0307"),
    ],
)
def test_normalize_name_valid(raw, expected):
    assert normalize_name(raw) == expected


@pytest.mark.parametrize(
    ("raw", "detail"),
    [
        ("", EMPTY_NAME),
        ("   ", EMPTY_NAME),
        ("\t\n", EMPTY_NAME),
        ("a" * 65, LONG_NAME),
        ("\u00e9" * 65, LONG_NAME),
        # The trimmed name as sent is limited too, so an NFD name counts its accents.
        ("e\u0301" * 64, LONG_NAME),
        # Lowercasing U+0130 gives two characters.
        ("\u0130" * 64, LONG_NORMALIZED_NAME),
        ("a\x00b", CONTROL_NAME),
        ("rock\nclimbing", CONTROL_NAME),
        ("a\x1fb", CONTROL_NAME),
        ("a\x7fb", CONTROL_NAME),
        ("a\x85b", CONTROL_NAME),
        ("a\x9fb", CONTROL_NAME),
    ],
)
def test_normalize_name_invalid(raw, detail):
    with pytest.raises(BadRequest) as raised:
        normalize_name(raw)

    assert raised.value.detail == detail


def test_list_activities_sorted_by_name(client, user_token):
    put(client, user_token, "Zumba")
    put(client, user_token, "archery")

    response = client.get("/v1/activities", headers=bearer(user_token))

    assert response.status_code == 200
    assert [a["name"] for a in response.json()] == ["archery", "basketball", "swimming", "zumba"]


def test_list_activities_default_data(client, user_token):
    response = client.get("/v1/activities", headers=bearer(user_token))

    assert response.json() == DEFAULT_ACTIVITIES


def test_get_activity_found(client, user_token):
    response = client.get("/v1/activities/swimming", headers=bearer(user_token))

    assert response.status_code == 200
    assert response.json() == {"name": "swimming", "male_players": 3, "female_players": 5}


@pytest.mark.parametrize("name", ["Swimming", " swimming ", "SWIMMING"])
def test_get_activity_normalizes_name(client, user_token, name):
    response = client.get(url(name), headers=bearer(user_token))

    assert response.status_code == 200
    assert response.json()["name"] == "swimming"


def test_get_activity_not_found(client, user_token):
    response = client.get("/v1/activities/chess", headers=bearer(user_token))

    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json() == {
        "type": "about:blank",
        "title": "Not Found",
        "status": 404,
        "detail": "Activity 'chess' not found.",
    }


def test_put_activity_creates_with_location(client, user_token):
    response = put(client, user_token, "chess", male=4, female=6)

    assert response.status_code == 201
    assert response.headers["location"] == "/v1/activities/chess"
    assert response.json() == {"name": "chess", "male_players": 4, "female_players": 6}
    assert client.get("/v1/activities/chess", headers=bearer(user_token)).json() == response.json()


def test_put_activity_replaces_existing(client, user_token):
    response = put(client, user_token, "swimming", male=7, female=0)

    assert response.status_code == 200
    assert "location" not in response.headers
    assert response.json() == {"name": "swimming", "male_players": 7, "female_players": 0}


def test_put_activity_twice_is_201_then_200(client, user_token):
    first = put(client, user_token, "chess", male=1, female=1)
    second = put(client, user_token, "chess", male=2, female=3)

    assert first.status_code == 201
    assert second.status_code == 200
    assert second.json() == {"name": "chess", "male_players": 2, "female_players": 3}


@pytest.mark.parametrize(
    ("sent", "stored", "location"),
    [
        (" Swimming ", "swimming", None),
        ("p\u00e9tanque", "p\u00e9tanque", "/v1/activities/p%C3%A9tanque"),
        ("Pe\u0301tanque", "p\u00e9tanque", "/v1/activities/p%C3%A9tanque"),
        ("rock climbing", "rock climbing", "/v1/activities/rock%20climbing"),
        ("caf\u00e9/bar", None, None),
    ],
)
def test_put_activity_name_forms(client, user_token, sent, stored, location):
    response = put(client, user_token, sent)

    if stored is None:
        # An encoded slash decodes into a path separator, so no operation matches.
        assert response.status_code == 404
        return
    assert response.json()["name"] == stored
    assert response.headers.get("location") == location


def test_put_activity_nfc_and_nfd_are_one_activity(client, user_token):
    assert put(client, user_token, "p\u00e9tanque", male=1).status_code == 201
    assert put(client, user_token, "pe\u0301tanque", male=2).status_code == 200

    names = [a["name"] for a in client.get("/v1/activities", headers=bearer(user_token)).json()]
    assert names == ["basketball", "p\u00e9tanque", "swimming"]


def test_put_activity_nfd_name_counts_characters_as_sent(client, user_token):
    assert put(client, user_token, "e\u0301" * 32).json()["name"] == "\u00e9" * 32

    response = put(client, user_token, "e\u0301" * 33)

    assert response.status_code == 400
    assert response.json()["detail"] == INVALID_NAME


@pytest.mark.parametrize(
    ("path", "detail"),
    [
        (url(" "), INVALID_NAME),
        (url("a" * 65), INVALID_NAME),
        (url(" " * 100 + "a" * 65), INVALID_NAME),
        (url("a\x00b"), INVALID_NAME),
        (url("a\x7fb"), INVALID_NAME),
        (url("rock\tclimbing"), INVALID_NAME),
        (url("\u0130" * 64), LONG_NORMALIZED_NAME),
        (url("rock\nclimbing"), "The URL path must not contain control characters."),
        (url("a" * 257), "'name' must have at most 256 characters."),
        ("/v1/activities/%FF", "The URL path is not valid UTF-8 after percent-decoding."),
        ("/v1/activities/%ED%A0%80", "The URL path is not valid UTF-8 after percent-decoding."),
    ],
)
def test_put_activity_invalid_name(client, user_token, path, detail):
    response = client.put(
        path, json={"male_players": 1, "female_players": 1}, headers=bearer(user_token)
    )

    assert response.status_code == 400
    assert response.json()["detail"] == detail


@pytest.mark.parametrize("method", ["get", "delete"])
def test_activity_invalid_name_other_methods(client, user_token, method):
    response = client.request(method.upper(), url("a" * 65), headers=bearer(user_token))

    assert response.status_code == 400
    assert response.json()["detail"] == INVALID_NAME


@pytest.mark.parametrize("count", [0, 1, MAX_PLAYERS])
def test_put_activity_count_range_accepted(client, user_token, count):
    response = put(client, user_token, "chess", male=count, female=count)

    assert response.status_code == 201
    assert response.json() == {"name": "chess", "male_players": count, "female_players": count}


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ({"male_players": -1, "female_players": 0}, "'male_players' must be at least 0, not -1."),
        (
            {"male_players": 0, "female_players": MAX_PLAYERS + 1},
            "'female_players' must be at most 2147483647, not 2147483648.",
        ),
        (
            {"male_players": 10**30, "female_players": 0},
            "'male_players' must be at most 2147483647, not 1000000000000000000000000000000.",
        ),
        ({"male_players": 1.5, "female_players": 0}, "'male_players' must be an integer, not 1.5."),
        ({"male_players": "1", "female_players": 0}, "'male_players' must be an integer, not '1'."),
        (
            {"male_players": True, "female_players": 0},
            "'male_players' must be an integer, not true.",
        ),
        (
            {"male_players": None, "female_players": 0},
            "'male_players' must be an integer, not null.",
        ),
        ({"female_players": 0}, "'male_players' is required."),
        ({}, "'male_players' is required."),
        (
            {"male_players": 1, "female_players": 0, "name": "x"},
            "The field 'name' is not allowed.",
        ),
        ([1, 2], "The request body must be a JSON object."),
        ("swimming", "The request body must be a JSON object, not 'swimming'."),
    ],
)
def test_put_activity_invalid_body(client, user_token, body, detail):
    response = client.put("/v1/activities/chess", json=body, headers=bearer(user_token))

    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["detail"] == detail
    assert client.get("/v1/activities/chess", headers=bearer(user_token)).status_code == 404


@pytest.mark.parametrize(
    ("content", "content_type", "status", "detail"),
    [
        (
            b"not json",
            "application/json",
            400,
            "The request body is not valid JSON: Expecting value at line 1, column 1.",
        ),
        (
            b'{"male_players": 1,',
            "application/json",
            400,
            "The request body is not valid JSON: Expecting property name enclosed in double "
            "quotes at line 1, column 20.",
        ),
        (
            b'{"male_players": NaN, "female_players": 0}',
            "application/json",
            400,
            "The request body is not valid JSON: NaN is not a JSON number.",
        ),
        (
            b'{"male_players": Infinity, "female_players": 0}',
            "application/json",
            400,
            "The request body is not valid JSON: Infinity is not a JSON number.",
        ),
        (b"\xff\xfe{}", "application/json", 400, "The request body is not valid UTF-8 at byte 0."),
        (b"[" * 50_000, "application/json", 400, "The request body is nested too deeply."),
        (b"null", "application/json", 400, "The request body must be a JSON object, not null."),
        (b"", "application/json", 400, "A request body of type application/json is required."),
        (
            b'{"male_players": 1, "female_players": 1}',
            None,
            415,
            "The request body needs the header Content-Type: application/json.",
        ),
        (
            b'{"male_players": 1, "female_players": 1}',
            "text/plain",
            415,
            "Invalid Content-type (text/plain), expected ['application/json']",
        ),
        (
            b"male_players=1&female_players=1",
            "application/x-www-form-urlencoded",
            415,
            "Invalid Content-type (application/x-www-form-urlencoded), "
            "expected ['application/json']",
        ),
        (
            b'{"male_players": 1, "female_players": 1}',
            "application/json;charset=latin-1",
            415,
            "JSON must be encoded as UTF-8, not 'latin-1'.",
        ),
    ],
)
def test_put_activity_unreadable_body(client, user_token, content, content_type, status, detail):
    headers = bearer(user_token)
    if content_type:
        headers["Content-Type"] = content_type

    response = client.put("/v1/activities/chess", content=content, headers=headers)

    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["detail"] == detail


def test_add_players_adds_to_counts(client, user_token):
    response = client.post(
        "/v1/activities/swimming/players", json={"male": 2, "female": 1}, headers=bearer(user_token)
    )

    assert response.status_code == 200
    assert response.json() == {"name": "swimming", "male_players": 5, "female_players": 6}


@pytest.mark.parametrize(("male", "female"), [(1, 0), (0, 1)])
def test_add_players_one_gender(client, user_token, male, female):
    response = client.post(
        "/v1/activities/basketball/players",
        json={"male": male, "female": female},
        headers=bearer(user_token),
    )

    assert response.status_code == 200
    assert response.json() == {
        "name": "basketball",
        "male_players": 10 + male,
        "female_players": 3 + female,
    }


def test_add_players_normalizes_name(client, user_token):
    response = client.post(
        url(" Swimming ") + "/players", json={"male": 1, "female": 1}, headers=bearer(user_token)
    )

    assert response.status_code == 200
    assert response.json() == {"name": "swimming", "male_players": 4, "female_players": 6}


def test_add_players_unknown_activity(client, user_token):
    response = client.post(
        "/v1/activities/chess/players", json={"male": 1, "female": 0}, headers=bearer(user_token)
    )

    assert response.status_code == 404
    assert response.json()["detail"] == "Activity 'chess' not found."


def test_add_players_both_zero(client, user_token):
    response = client.post(
        "/v1/activities/swimming/players", json={"male": 0, "female": 0}, headers=bearer(user_token)
    )

    assert response.status_code == 400
    assert response.json()["detail"] == (
        "At least one of 'male' and 'female' must be greater than 0."
    )


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ({"male": -1, "female": 1}, "'male' must be at least 0, not -1."),
        ({"male": 1}, "'female' is required."),
        ({"male": 1, "female": 1.5}, "'female' must be an integer, not 1.5."),
        ({"male": 1, "female": 1, "other": 1}, "The field 'other' is not allowed."),
        (
            {"male": MAX_PLAYERS + 1, "female": 0},
            "'male' must be at most 2147483647, not 2147483648.",
        ),
    ],
)
def test_add_players_invalid_body(client, user_token, body, detail):
    response = client.post("/v1/activities/swimming/players", json=body, headers=bearer(user_token))

    assert response.status_code == 400
    assert response.json()["detail"] == detail


def test_add_players_up_to_maximum(client, user_token):
    response = client.post(
        "/v1/activities/swimming/players",
        json={"male": MAX_PLAYERS - 3, "female": MAX_PLAYERS - 5},
        headers=bearer(user_token),
    )

    assert response.status_code == 200
    assert response.json() == {
        "name": "swimming",
        "male_players": MAX_PLAYERS,
        "female_players": MAX_PLAYERS,
    }


@pytest.mark.parametrize(("male", "female"), [(MAX_PLAYERS - 2, 1), (1, MAX_PLAYERS - 4)])
def test_add_players_overflow_changes_nothing(client, user_token, male, female):
    response = client.post(
        "/v1/activities/swimming/players",
        json={"male": male, "female": female},
        headers=bearer(user_token),
    )

    assert response.status_code == 409
    assert response.json()["detail"] == (
        "Adding these players would make a count of 'swimming' exceed 2147483647."
    )
    after = client.get("/v1/activities/swimming", headers=bearer(user_token)).json()
    assert after == {"name": "swimming", "male_players": 3, "female_players": 5}


def test_add_players_runs_one_statement(app, client, user_token, monkeypatch):
    """The addition is one UPDATE on a DBAPI cursor, and no other statement runs for it."""
    executed: list[str] = []
    run = PreparedStatement.run

    def record_run(statement, values, read):  # type: ignore[no-untyped-def]
        if statement.sql.lstrip().upper().startswith("UPDATE"):
            executed.append(statement.sql)
        return run(statement, values, read)

    def record_core(_conn, _cursor, statement, *_args):  # type: ignore[no-untyped-def]
        executed.append(statement)

    with app.app.app_context():
        engines = list(db.engines.values())
    # The token's first use records it in `last_used_at`, which is not part of the addition.
    assert client.get("/v1/me", headers=bearer(user_token)).status_code == 200
    monkeypatch.setattr(PreparedStatement, "run", record_run)
    for engine in engines:
        event.listen(engine, "before_cursor_execute", record_core)
    try:
        response = client.post(
            "/v1/activities/swimming/players",
            json={"male": 2, "female": 1},
            headers=bearer(user_token),
        )
    finally:
        for engine in engines:
            event.remove(engine, "before_cursor_execute", record_core)

    assert response.status_code == 200
    assert response.json() == {"name": "swimming", "male_players": 5, "female_players": 6}
    assert len(executed) == 1, executed
    assert executed[0].lstrip().upper().startswith("UPDATE ACTIVITIES")


@pytest.mark.parametrize("mode", ["", ",SIMULTANEOUS_ASSIGNMENT"], ids=["in-order", "simultaneous"])
def test_add_players_assignment_order(app, database_kind, mode):
    """MariaDB can assign all columns at once, and the packed counts must not depend on it."""
    if database_kind != "mariadb":
        pytest.skip("the LAST_INSERT_ID form of the addition is MySQL's")
    params = {
        "activity": "swimming",
        "add_male": 5,
        "add_female": 7,
        "male_limit": MAX_PLAYERS - 5,
        "female_limit": MAX_PLAYERS - 7,
    }
    with app.app.app_context():
        engine = db.engines[AUTOCOMMIT_BIND]
    with engine.connect() as connection:
        connection.exec_driver_sql(f"SET SESSION sql_mode = CONCAT(@@sql_mode, '{mode}')")
        result = connection.execute(activities._ADD_PLAYERS_MYSQL, params)
        returned = activities._unpack_counts(result.lastrowid)
        stored = connection.execute(activities._READ_COUNTS, params).one()
        # The session's sql_mode must not reach later requests.
        connection.invalidate()

    assert returned == (3 + 5, 5 + 7)
    assert tuple(stored) == returned


def test_unpack_counts_round_trip():
    packed = MAX_PLAYERS * 2**32 + (MAX_PLAYERS - 1)

    assert activities._unpack_counts(packed) == (MAX_PLAYERS, MAX_PLAYERS - 1)
    assert activities._unpack_counts(7 * 2**32) == (7, 0)


def test_delete_activity(client, user_token):
    response = client.delete("/v1/activities/swimming", headers=bearer(user_token))

    assert response.status_code == 204
    assert response.content == b""
    assert client.get("/v1/activities/swimming", headers=bearer(user_token)).status_code == 404


def test_delete_activity_normalizes_name(client, user_token):
    response = client.delete(url(" SWIMMING "), headers=bearer(user_token))

    assert response.status_code == 204


def test_delete_activity_not_found(client, user_token):
    response = client.delete("/v1/activities/chess", headers=bearer(user_token))

    assert response.status_code == 404
    assert response.json()["detail"] == "Activity 'chess' not found."


def test_delete_activity_twice(client, user_token):
    assert client.delete("/v1/activities/swimming", headers=bearer(user_token)).status_code == 204
    assert client.delete("/v1/activities/swimming", headers=bearer(user_token)).status_code == 404


def test_reset_restores_defaults(client, root_token, user_token):
    put(client, user_token, "chess", male=1, female=1)
    put(client, user_token, "swimming", male=0, female=0)
    client.delete("/v1/activities/basketball", headers=bearer(user_token))

    response = client.post("/v1/reset", headers=bearer(root_token))

    assert response.status_code == 200
    assert response.json() == DEFAULT_ACTIVITIES
    assert client.get("/v1/activities", headers=bearer(user_token)).json() == DEFAULT_ACTIVITIES


def test_reset_keeps_users_and_tokens(client, root_token, user_token):
    client.post("/v1/reset", headers=bearer(root_token))

    users = client.get("/v1/users", headers=bearer(root_token)).json()
    assert [user["username"] for user in users] == ["alice"]
    assert client.get("/v1/me", headers=bearer(user_token)).status_code == 200


def test_reset_requires_root(client, user_token):
    put(client, user_token, "chess")

    response = client.post("/v1/reset", headers=bearer(user_token))

    assert response.status_code == 403
    assert client.get("/v1/activities/chess", headers=bearer(user_token)).status_code == 200


def test_add_players_lost_connection_gets_503(client, user_token, monkeypatch):
    """An addition whose connection is lost gets 503, and nothing else is stored."""

    def lose_connection(statement, values, read):  # type: ignore[no-untyped-def]
        raise OperationalError(statement.sql, values, ConnectionError("connection lost"))

    monkeypatch.setattr(PreparedStatement, "run", lose_connection)
    response = client.post(
        "/v1/activities/swimming/players",
        json={"male": 2, "female": 1},
        headers=bearer(user_token),
    )
    monkeypatch.undo()

    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    after = client.get("/v1/activities/swimming", headers=bearer(user_token)).json()
    assert after == {"name": "swimming", "male_players": 3, "female_players": 5}
