"""scripts/smoke_test.py, which the image check and the deploy workflow run, against gunicorn."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from ..conftest import ROOT_PASSWORD
from .conftest import Server

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "smoke_test.py"


def run_smoke_test(*args: str, password: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ}
    if password is not None:
        env["SMOKE_ROOT_PASSWORD"] = password
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_smoke_test_passes_without_credentials(server: Server) -> None:
    result = run_smoke_test(server.url)

    assert result.returncode == 0, result.stderr
    assert result.stdout == f"smoke test passed: {server.url}\n"


def test_smoke_test_passes_with_root_login(server: Server) -> None:
    result = run_smoke_test(server.url, "--root-password-env", "SMOKE_ROOT_PASSWORD", password=ROOT_PASSWORD)

    assert result.returncode == 0, result.stderr


def test_smoke_test_fails_on_wrong_password(server: Server) -> None:
    result = run_smoke_test(server.url, "--root-password-env", "SMOKE_ROOT_PASSWORD", password="wrong")

    assert result.returncode == 1
    assert result.stderr.startswith("smoke test failed: POST /v1/token as root: 401")


def test_smoke_test_fails_when_nothing_listens() -> None:
    result = run_smoke_test("http://127.0.0.1:9", "--timeout", "0")

    assert result.returncode == 1
    assert result.stderr == "smoke test failed: http://127.0.0.1:9/health did not return 200 within 0.0 s\n"
