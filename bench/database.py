"""Fresh databases for a benchmark run: migrated, seeded, with a user token to load them with."""

from __future__ import annotations

import contextlib
import json
import os
import random
import subprocess
import sys
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import sqlalchemy as sa

from tests.databases import SERVER_URLS, temporary_database

from .server import PROJECT_ROOT

#: Activities are named like this, so that the write benchmark can address them.
NAME_FORMAT = "activity-{:05d}"


def mariadb_reachable() -> str | None:
    """Return why MariaDB cannot be used, or None when it accepts connections."""
    engine = sa.create_engine(SERVER_URLS["mariadb"], connect_args={"connect_timeout": 2})
    try:
        with engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
    except sa.exc.SQLAlchemyError as exc:
        return f"{type(exc.orig or exc).__name__}: {exc.orig or exc}"
    finally:
        engine.dispose()
    return None


@contextlib.contextmanager
def fresh_database(kind: str, folder: Path) -> Iterator[str]:
    """Yield the URL of a new database at the head migration; MariaDB's is dropped after."""
    folder.mkdir(parents=True, exist_ok=True)
    with temporary_database(kind, folder) as url:
        migrate(url, folder)
        yield url


def migrate(database_url: str, instance_path: Path) -> None:
    """Run the service's own migration command on `database_url`."""
    command = [str(Path(sys.executable).with_name("activity-recommender")), "db", "upgrade"]
    env = {
        **os.environ,
        "PYTHONPATH": str(PROJECT_ROOT),
        "DATABASE_URL": database_url,
        "INSTANCE_PATH": str(instance_path),
        "JWT_SECRET": "bench-migration-secret-of-32-bytes-or-more",
        "ROOT_PASSWORD": "bench-migration-password",
    }
    subprocess.run(command, cwd=PROJECT_ROOT, env=env, check=True, capture_output=True)


def seed_activities(database_url: str, count: int, seed: int = 6) -> list[str]:
    """Replace the activities with `count` named ones with random counts; return the names."""
    rng = random.Random(seed)
    names = [NAME_FORMAT.format(i) for i in range(count)]
    rows = [
        {
            "name": name,
            "male_players": rng.randrange(0, 1000),
            "female_players": rng.randrange(0, 1000),
        }
        for name in names
    ]
    engine = sa.create_engine(database_url)
    activities = sa.Table("activities", sa.MetaData(), autoload_with=engine)
    try:
        with engine.begin() as connection:
            connection.execute(activities.delete())
            connection.execute(activities.insert(), rows)
    finally:
        engine.dispose()
    return names


def _post(url: str, data: bytes, headers: dict[str, str]) -> dict[str, object]:
    request = urllib.request.Request(url, data=data, headers=headers, method="POST")
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())  # type: ignore[no-any-return]


def user_token(base_url: str, root_password: str, username: str = "bench") -> str:
    """Log in as root, create a user and return a token of theirs, all through the API."""
    form = urllib.parse.urlencode({"username": "root", "password": root_password}).encode()
    login = _post(
        f"{base_url}/v1/token", form, {"Content-Type": "application/x-www-form-urlencoded"}
    )
    root = {"Authorization": f"Bearer {login['access_token']}", "Content-Type": "application/json"}

    _post(f"{base_url}/v1/users", json.dumps({"username": username}).encode(), root)
    issued = _post(
        f"{base_url}/v1/users/{username}/tokens", json.dumps({"expires_in_days": 1}).encode(), root
    )
    return str(issued["access_token"])
