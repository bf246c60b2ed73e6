"""The admin commands of `activity-recommender`, run against the session's database."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jwt
import pytest
from click.testing import CliRunner, Result

from api.cli import main
from api.db import db
from api.models import Activity, User

from .conftest import JWT_SECRET, ROOT_PASSWORD_HASH, bearer

HEADER = "name,male_players,female_players\n"
WHOLE_NUMBER = "must be a whole number from 0 to 2147483647"


@pytest.fixture
def run(database_url: str, tmp_path: Path, app: Any) -> Any:
    """Run the command with the given arguments; `app` gives each test fresh data."""
    env = {
        "DATABASE_URL": database_url,
        "JWT_SECRET": JWT_SECRET,
        "ROOT_PASSWORD": ROOT_PASSWORD_HASH,
        "INSTANCE_PATH": str(tmp_path),
        "APP_ENV": "development",
    }

    def invoke(*args: str, stdin: str | None = None, **extra_env: str) -> Result:
        return CliRunner().invoke(main, list(args), env={**env, **extra_env}, input=stdin)

    return invoke


def counts(app: Any) -> dict[str, tuple[int, int]]:
    with app.app.app_context():
        rows = db.session.query(Activity).all()
        result = {row.name: (row.male_players, row.female_players) for row in rows}
        db.session.remove()
    return result


def usernames(app: Any) -> list[str]:
    with app.app.app_context():
        names = [user.username for user in db.session.query(User).order_by(User.username)]
        db.session.remove()
    return names


@pytest.mark.parametrize(
    "command",
    [
        [],
        ["users"],
        ["users", "create"],
        ["users", "list"],
        ["users", "delete"],
        ["tokens"],
        ["tokens", "issue"],
        ["tokens", "list"],
        ["tokens", "revoke"],
        ["activities"],
        ["activities", "reset"],
        ["activities", "import"],
        ["activities", "export"],
    ],
)
def test_help(run, command):
    result = run(*command, "--help")

    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("Usage: ")


def test_users_create_list_delete(run, app):
    created = run("users", "create", "alice")
    assert created.exit_code == 0, created.output
    assert created.stdout == "Created user 'alice'.\n"
    run("users", "create", "bob")

    listed = run("users", "list")
    assert listed.exit_code == 0
    assert [line.split("\t")[0] for line in listed.stdout.splitlines()] == ["alice", "bob"]

    deleted = run("users", "delete", "alice")
    assert deleted.exit_code == 0
    assert deleted.stdout == "Deleted user 'alice' and their tokens.\n"
    assert usernames(app) == ["bob"]


def test_users_list_json(run):
    run("users", "create", "alice")

    result = run("users", "list", "--json")

    assert result.exit_code == 0
    assert '"username": "alice"' in result.stdout
    assert '"role": "user"' in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["users", "create", "root"], "Error: User 'root' already exists.\n"),
        (
            ["users", "create", "bad name"],
            "Error: Invalid username 'bad name': use 1 to 64 letters, digits, '_', '.' or '-'.\n",
        ),
        (["users", "delete", "nobody"], "Error: User 'nobody' not found.\n"),
        (["tokens", "issue", "nobody", "--days", "1"], "Error: User 'nobody' not found.\n"),
        (["tokens", "list", "nobody"], "Error: User 'nobody' not found.\n"),
        (
            ["tokens", "revoke", "root", "0" * 32],
            f"Error: Token '{'0' * 32}' of user 'root' not found.\n",
        ),
    ],
)
def test_errors_exit_nonzero(run, args, message):
    result = run(*args)

    assert result.exit_code == 1
    assert result.stderr == message
    assert result.stdout == ""


def test_users_create_duplicate(run, app):
    run("users", "create", "alice")

    result = run("users", "create", "alice")

    assert result.exit_code == 1
    assert result.stderr == "Error: User 'alice' already exists.\n"
    assert usernames(app) == ["alice"]


def test_tokens_issue_works_with_the_api(run, client):
    run("users", "create", "alice")

    result = run("tokens", "issue", "alice", "--days", "7")

    assert result.exit_code == 0, result.output
    token = result.stdout.strip()
    claims = jwt.decode(token, JWT_SECRET, algorithms=["HS256"], audience="activity-recommender")
    assert claims["sub"] == "alice"
    assert claims["exp"] - claims["iat"] == 7 * 86400
    assert result.stderr.startswith(f"Issued token jti={claims['jti']} for 'alice', expires ")
    me = client.get("/v1/me", headers=bearer(token))
    assert me.status_code == 200
    assert me.json() == {"username": "alice", "role": "user"}


@pytest.mark.parametrize("days", ["0", "-1", "3651", "soon"])
def test_tokens_issue_invalid_days(run, days):
    run("users", "create", "alice")

    result = run("tokens", "issue", "alice", "--days", days)

    assert result.exit_code == 2
    assert "Invalid value for '--days'" in result.stderr


def test_tokens_list_and_revoke(run, client):
    run("users", "create", "alice")
    token = run("tokens", "issue", "alice", "--days", "1").stdout.strip()
    jti = jwt.decode(token, options={"verify_signature": False})["jti"]

    listed = run("tokens", "list", "alice")
    assert listed.exit_code == 0
    assert listed.stdout.split("\t")[0] == jti
    assert listed.stdout.rstrip("\n").endswith("\tnever")

    revoked = run("tokens", "revoke", "alice", jti)
    assert revoked.exit_code == 0
    assert revoked.stdout == f"Revoked token {jti} of 'alice'.\n"
    assert client.get("/v1/me", headers=bearer(token)).status_code == 401


def test_activities_export(run):
    result = run("activities", "export")

    assert result.exit_code == 0
    assert result.stdout == HEADER + "basketball,10,3\nswimming,3,5\n"
    assert result.stderr == "Exported 2 activities.\n"


def test_activities_export_to_file(run, tmp_path):
    path = tmp_path / "out.csv"

    assert run("activities", "export", str(path)).exit_code == 0
    assert path.read_text() == HEADER + "basketball,10,3\nswimming,3,5\n"


def test_activities_import_creates_and_updates(run, app, tmp_path):
    path = tmp_path / "in.csv"
    path.write_text(HEADER + "Chess,1,2\n\n  swimming ,7,8\n")

    result = run("activities", "import", str(path))

    assert result.exit_code == 0, result.output
    assert result.stdout == "Imported 2 activities: 1 created, 1 updated.\n"
    assert counts(app) == {"basketball": (10, 3), "chess": (1, 2), "swimming": (7, 8)}


def test_activities_import_replace(run, app):
    result = run("activities", "import", "--replace", "-", stdin=HEADER + "chess,1,2\n")

    assert result.exit_code == 0, result.output
    assert counts(app) == {"chess": (1, 2)}


def test_activities_export_import_round_trip(run, app):
    run("activities", "import", "-", stdin=HEADER + '"go, the game",4,5\nnaïve,0,0\n')
    exported = run("activities", "export").stdout

    result = run("activities", "import", "--replace", "-", stdin=exported)

    assert result.exit_code == 0
    assert counts(app) == {
        "basketball": (10, 3),
        "go, the game": (4, 5),
        "naïve": (0, 0),
        "swimming": (3, 5),
    }


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "line 1: the file is empty; expected the header name,male_players,female_players"),
        (
            b"name,male,female\n",
            "line 1: expected the header name,male_players,female_players, "
            "found 'name,male,female'",
        ),
        (HEADER.encode() + b"chess,1\n", "line 2: expected 3 fields, found 2"),
        (
            HEADER.encode() + b"chess,1,2\ngo,1,x\n",
            f"line 3: female_players {WHOLE_NUMBER}, not 'x'",
        ),
        (HEADER.encode() + b"chess,-1,2\n", f"line 2: male_players {WHOLE_NUMBER}, not '-1'"),
        (
            HEADER.encode() + b"chess,2147483648,2\n",
            f"line 2: male_players {WHOLE_NUMBER}, not '2147483648'",
        ),
        (
            HEADER.encode() + b"chess,1,2\nCHESS ,3,4\n",
            "line 3: activity 'chess' is already on line 2",
        ),
        (
            HEADER.encode() + b"chess,1,2\n   ,3,4\n",
            "line 3: The activity name must not be empty or only spaces.",
        ),
        (HEADER.encode() + b"chess,1,2\n\xff,3,4\n", "line 3: the file is not valid UTF-8"),
        (HEADER.encode() + b'"chess,1,2\n', "line 2: invalid CSV: unexpected end of data"),
    ],
)
def test_activities_import_rejects_whole_file(run, app, tmp_path, content, message):
    path = tmp_path / "in.csv"
    path.write_bytes(content)

    result = run("activities", "import", str(path))

    assert result.exit_code == 1
    assert result.stderr == f"Error: {path}: {message}. Nothing was imported.\n"
    assert counts(app) == {"basketball": (10, 3), "swimming": (3, 5)}


def test_activities_import_missing_file(run):
    result = run("activities", "import", "/no/such/file.csv")

    assert result.exit_code == 2
    assert "No such file or directory" in result.stderr


def test_activities_reset(run, app):
    run("activities", "import", "--replace", "-", stdin=HEADER + "chess,1,2\n")

    result = run("activities", "reset")

    assert result.exit_code == 0
    assert result.stdout == "Reset the activities to the defaults: basketball, swimming.\n"
    assert counts(app) == {"basketball": (10, 3), "swimming": (3, 5)}


def test_unreachable_database(run, tmp_path):
    result = run("users", "list", DATABASE_URL=f"sqlite:///{tmp_path}/missing/dir/db.sqlite3")

    assert result.exit_code == 1
    assert result.stderr.startswith("Error: the database failed: unable to open database file.")


def test_invalid_configuration(run):
    result = run("users", "list", APP_ENV="production", JWT_SECRET="short")

    assert result.exit_code == 1
    assert result.stderr == (
        "Error: invalid configuration: JWT_SECRET must be set to at least 32 bytes in production\n"
    )
