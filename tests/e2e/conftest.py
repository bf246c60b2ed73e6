"""A real gunicorn server, with the production worker class, for end-to-end tests."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator

import pytest
import requests

from ..conftest import JWT_SECRET, ROOT_PASSWORD_HASH
from ..ports import free_port

PROJECT_ROOT = Path(__file__).resolve().parents[2]


class Server:
    """A gunicorn process serving `api:create_app()` on 127.0.0.1."""

    def __init__(self, env: dict[str, str], workers: int = 2) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = Path(env["INSTANCE_PATH"]) / f"gunicorn-{self.port}.log"
        command = [
            sys.executable, "-m", "gunicorn",
            "-c", str(PROJECT_ROOT / "gunicorn.conf.py"),
            "--workers", str(workers),
            "api:create_app()",
        ]
        full_env = {**os.environ, **env, "HOST": "127.0.0.1", "PORT": str(self.port)}
        # The child keeps its own copy of the descriptor, so the parent closes its copy.
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                command, cwd=PROJECT_ROOT, env=full_env, stdout=log, stderr=subprocess.STDOUT
            )
        self._wait_until_ready()

    def _wait_until_ready(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited early:\n{self.log_path.read_text()}")
            try:
                if requests.get(f"{self.url}/health", timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"gunicorn did not answer in {timeout} s:\n{self.log_path.read_text()}")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def server_env(database_url: str, instance_path: Path, **extra: str) -> dict[str, str]:
    return {
        "DATABASE_URL": database_url,
        "JWT_SECRET": JWT_SECRET,
        "ROOT_PASSWORD": ROOT_PASSWORD_HASH,
        "INSTANCE_PATH": str(instance_path),
        **extra,
    }


@pytest.fixture(scope="session")
def server(
    app: object, database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    """One gunicorn server with two workers on the session's database."""
    instance = tmp_path_factory.mktemp("server")
    running = Server(server_env(database_url, instance))
    yield running
    running.stop()


@pytest.fixture
def http(server: Server) -> Iterator[requests.Session]:
    """A requests session whose relative URLs go to the server."""

    class ServerSession(requests.Session):
        def request(self, method, url, *args, **kwargs):  # type: ignore[no-untyped-def, override]
            return super().request(method, server.url + url, *args, **kwargs)

    with ServerSession() as session:
        yield session
