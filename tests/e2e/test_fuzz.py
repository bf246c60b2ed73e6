"""Schemathesis against a real gunicorn server: every operation, every check.

`make fuzz` runs this; the default test run leaves it out through its `fuzz` marker.
The settings (checks, examples, seed, hooks) are in schemathesis.toml.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from ..conftest import ROOT_PASSWORD
from .conftest import PROJECT_ROOT, Server

pytestmark = pytest.mark.fuzz

SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")
CONFIG = PROJECT_ROOT / "schemathesis.toml"

#: Read by fuzz_hooks.py, which this module does not import: it needs Schemathesis,
#: which `make test` does not install.
BASE_URL_VARIABLE = "FUZZ_BASE_URL"
ROOT_TOKEN_VARIABLE = "FUZZ_ROOT_TOKEN"

#: An upper bound for the whole run; `make fuzz` takes a few minutes.
TIMEOUT_SECONDS = 20 * 60


def root_token(base_url: str) -> str:
    login = requests.post(
        f"{base_url}/v1/token", data={"username": "root", "password": ROOT_PASSWORD}, timeout=10
    )
    assert login.status_code == 200, login.text
    return str(login.json()["access_token"])


def test_schemathesis_finds_no_failures(server: Server, tmp_path: Path) -> None:
    assert SCHEMATHESIS.exists(), f"{SCHEMATHESIS} is missing: pip install -e '.[contract]'"
    # Logged in before the fuzzer's failed logins lock 127.0.0.1 out of root logins.
    env = {**os.environ, BASE_URL_VARIABLE: server.url, ROOT_TOKEN_VARIABLE: root_token(server.url)}
    command = [
        str(SCHEMATHESIS),
        "--config-file",
        str(CONFIG),
        "run",
        f"{server.url}/openapi.json",
        "--report",
        "junit",
        "--report-dir",
        str(tmp_path / "report"),
    ]

    # The output goes straight to the terminal, so `make fuzz` shows Schemathesis' report.
    result = subprocess.run(command, cwd=PROJECT_ROOT, env=env, timeout=TIMEOUT_SECONDS)

    assert result.returncode == 0, "Schemathesis found failures; server errors:\n" + server_errors(
        server
    )


def server_errors(server: Server, limit: int = 20) -> str:
    """Return the server log's last ERROR lines, since pytest deletes its folder later."""
    lines = server.log_path.read_text(errors="replace").splitlines()
    errors = [line for line in lines if "ERROR" in line or "Traceback" in line]
    return "\n".join(errors[-limit:]) or "(none)"
