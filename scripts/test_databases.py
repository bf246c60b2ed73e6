"""Run the test suite once on each database server that accepts a connection.

`make test` runs this. SQLite always runs. MariaDB and PostgreSQL run when the servers
at TEST_MARIADB_URL and TEST_POSTGRESQL_URL accept a connection, and are otherwise
reported as skipped, with the reason. Arguments go to every pytest run.

Exits 1 when any run fails or collects no tests, and also when a server was skipped
while REQUIRE_ALL_DATABASES=1 is set (as CI sets it).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import sqlalchemy as sa

PROJECT_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_ROOT))

from tests.databases import KINDS, SERVER_URLS  # noqa: E402

#: Seconds to wait for a server to accept a connection before skipping it.
PROBE_TIMEOUT = 3
#: pytest's exit code when it collected no tests.
NO_TESTS_COLLECTED = 5


def probe(kind: str) -> str | None:
    """Return why the server for `kind` cannot be used, or None when it accepts a connection."""
    if kind == "sqlite":
        return None
    url = sa.make_url(SERVER_URLS[kind])
    engine = sa.create_engine(
        url, connect_args={"connect_timeout": PROBE_TIMEOUT}, poolclass=sa.pool.NullPool
    )
    try:
        with engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
    except sa.exc.SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
        return f"cannot connect to {url.render_as_string(hide_password=True)}: {reason}"
    finally:
        engine.dispose()
    return None


def run_pytest(kind: str, arguments: list[str]) -> tuple[str, float]:
    """Run pytest on `kind`; return the outcome (`passed` or why it failed) and seconds."""
    print(f"\n=== pytest --db {kind} {' '.join(arguments)}", flush=True)
    started = time.monotonic()
    returncode = subprocess.call(
        [sys.executable, "-m", "pytest", "--db", kind, *arguments], cwd=PROJECT_ROOT
    )
    elapsed = time.monotonic() - started
    if returncode == 0:
        return "passed", elapsed
    if returncode == NO_TESTS_COLLECTED:
        return "failed: no tests collected", elapsed
    return f"failed: pytest exit code {returncode}", elapsed


def main(arguments: list[str]) -> int:
    require_all = os.environ.get("REQUIRE_ALL_DATABASES", "") == "1"
    outcomes: dict[str, str] = {}
    failed = False

    for kind in KINDS:
        reason = probe(kind)
        if reason is not None:
            outcomes[kind] = f"skipped: {reason}"
            failed = failed or require_all
            continue
        outcome, elapsed = run_pytest(kind, arguments)
        outcomes[kind] = f"{outcome} in {elapsed:.0f} s"
        failed = failed or outcome != "passed"

    print("\n=== databases")
    for kind, outcome in outcomes.items():
        print(f"{kind:<11} {outcome}")
    if require_all and any(outcome.startswith("skipped") for outcome in outcomes.values()):
        print("REQUIRE_ALL_DATABASES=1 is set, so a skipped database fails the run.")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
