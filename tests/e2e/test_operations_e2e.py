"""What an operator relies on, over HTTP to gunicorn: JSON logs, metrics, revocation, throttling."""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from ..conftest import JWT_SECRET, ROOT_PASSWORD, ROOT_PASSWORD_HASH
from .conftest import Server, free_port, server_env

WRONG_PASSWORD = "wrong-password-8f3a"
LONG_PASSWORD = "too-long-password-" + "p" * 1100


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def root_token(base_url: str) -> str:
    login = requests.post(
        f"{base_url}/v1/token", data={"username": "root", "password": ROOT_PASSWORD}, timeout=10
    )
    assert login.status_code == 200, login.text
    return str(login.json()["access_token"])


@pytest.fixture
def debug_server(app: Any, database_url: str, tmp_path: Path) -> Iterator[Server]:
    """A server logging at DEBUG, given the root password in plain text."""
    env = server_env(database_url, tmp_path, LOG_LEVEL="DEBUG", ROOT_PASSWORD=ROOT_PASSWORD)
    running = Server(env)
    yield running
    running.stop()


def run_session(base_url: str) -> list[str]:
    """Log in, manage a user and a token, recommend, update and delete; return the secrets."""
    assert (
        requests.post(
            f"{base_url}/v1/token",
            data={"username": "root", "password": WRONG_PASSWORD},
            timeout=10,
        ).status_code
        == 401
    )
    assert (
        requests.post(
            f"{base_url}/v1/token", data={"username": "root", "password": LONG_PASSWORD}, timeout=10
        ).status_code
        == 400
    )

    root = root_token(base_url)
    headers = bearer(root)
    assert (
        requests.post(
            f"{base_url}/v1/users", json={"username": "alice"}, headers=headers, timeout=10
        ).status_code
        == 201
    )
    issued = requests.post(
        f"{base_url}/v1/users/alice/tokens",
        json={"expires_in_days": 1},
        headers=headers,
        timeout=10,
    ).json()
    user = bearer(issued["access_token"])

    assert (
        requests.get(
            f"{base_url}/v1/recommendations/female?count=2", headers=user, timeout=10
        ).status_code
        == 200
    )
    assert (
        requests.put(
            f"{base_url}/v1/activities/chess",
            json={"male_players": 1, "female_players": 2},
            headers=user,
            timeout=10,
        ).status_code
        == 201
    )
    assert (
        requests.post(
            f"{base_url}/v1/activities/chess/players",
            json={"male": 1, "female": 0},
            headers=user,
            timeout=10,
        ).status_code
        == 200
    )

    tampered = issued["access_token"][:-4] + "AAAA"
    assert (
        requests.get(f"{base_url}/v1/me", headers=bearer(tampered), timeout=10).status_code == 401
    )
    assert (
        requests.delete(
            f"{base_url}/v1/users/alice/tokens/{issued['jti']}", headers=headers, timeout=10
        ).status_code
        == 204
    )
    assert requests.get(f"{base_url}/v1/me", headers=user, timeout=10).status_code == 401
    assert (
        requests.delete(f"{base_url}/v1/users/alice", headers=headers, timeout=10).status_code
        == 204
    )
    return [root, issued["access_token"], tampered]


def test_debug_logs_are_json_without_secrets(debug_server):
    tokens = run_session(debug_server.url)
    debug_server.stop()

    output = debug_server.log_path.read_text()
    lines = [json.loads(line) for line in output.splitlines()]
    assert all(isinstance(line, dict) for line in lines)
    assert all({"time", "level", "logger", "message"} <= set(line) for line in lines)
    assert any(line["level"] == "DEBUG" for line in lines)

    secrets = [ROOT_PASSWORD, WRONG_PASSWORD, LONG_PASSWORD[:40], JWT_SECRET, ROOT_PASSWORD_HASH]
    for token in tokens:
        secrets += [token, token.split(".")[2]]
    for secret in secrets:
        assert secret not in output, f"a log line contains {secret[:12]}..."
    assert "Bearer" not in output
    assert "$argon2" not in output


def test_access_lines_for_every_request(debug_server):
    _root, user_token, _tampered = run_session(debug_server.url)
    debug_server.stop()

    jti = jwt.decode(user_token, options={"verify_signature": False})["jti"]
    lines = [json.loads(line) for line in debug_server.log_path.read_text().splitlines()]
    access = [
        line for line in lines if line["logger"] == "api.access" and line["path"] != "/health"
    ]
    # Two workers write the lines, so two quick requests in a row may swap places.
    assert sorted((line["method"], line["path"], line["status"]) for line in access) == sorted(
        [
            ("POST", "/v1/token", 401),
            ("POST", "/v1/token", 400),
            ("POST", "/v1/token", 200),
            ("POST", "/v1/users", 201),
            ("POST", "/v1/users/alice/tokens", 201),
            ("GET", "/v1/recommendations/female", 200),
            ("PUT", "/v1/activities/chess", 201),
            ("POST", "/v1/activities/chess/players", 200),
            ("GET", "/v1/me", 401),
            ("DELETE", f"/v1/users/alice/tokens/{jti}", 204),
            ("GET", "/v1/me", 401),
            ("DELETE", "/v1/users/alice", 204),
        ]
    )
    operations = {line["path"]: line["operationId"] for line in access}
    assert operations["/v1/token"] == "create_token"
    assert operations[f"/v1/users/alice/tokens/{jti}"] == "revoke_user_token"
    assert len({line["request_id"] for line in access}) == len(access)
    assert all(len(line["request_id"]) == 32 for line in access)
    assert all(line["duration_ms"] > 0 for line in access)


def worker_pids(server: Server) -> list[int]:
    children = Path(f"/proc/{server.process.pid}/task/{server.process.pid}/children")
    return sorted(int(pid) for pid in children.read_text().split())


def scrape(url: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    response = requests.get(f"{url}/metrics", timeout=10)
    assert response.status_code == 200, response.text
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


@pytest.fixture
def metrics_server(
    app: Any, database_url: str, tmp_path: Path
) -> Iterator[tuple[Server, Path, str]]:
    """A server with metrics on a second port, and the directory its workers write to."""
    directory = tmp_path / "metrics"
    directory.mkdir()
    # A file left by an earlier run, which gunicorn's on_starting hook must remove.
    (directory / "counter_999999.db").write_bytes(b"")
    metrics_port = free_port()
    env = server_env(
        database_url,
        tmp_path,
        METRICS_ENABLED="true",
        METRICS_PORT=str(metrics_port),
        PROMETHEUS_MULTIPROC_DIR=str(directory),
        GIT_REVISION="0123abc",
    )
    running = Server(env)
    yield running, directory, f"http://127.0.0.1:{metrics_port}"
    running.stop()


def wait_for_replacement(server: Server, dead: int, directory: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        pids = worker_pids(server)
        if (
            len(pids) == 2
            and dead not in pids
            and not (directory / f"gauge_livesum_{dead}.db").exists()
        ):
            return
        time.sleep(0.1)
    raise AssertionError(f"worker {dead} was not replaced; workers now {worker_pids(server)}")


def ready_count(metrics_url: str) -> float:
    labels = {"operation_id": "get_ready", "method": "GET", "status": "200"}
    key = ("activity_recommender_http_requests_total", frozenset(labels.items()))
    return scrape(metrics_url).get(key, 0)


def wait_for_count(metrics_url: str, expected: int) -> float:
    """Return the count of `GET /ready` once it reaches `expected`, or after 10 s.

    A worker counts a request after sending its response, so the count may lag.
    """
    deadline = time.monotonic() + 10
    while (count := ready_count(metrics_url)) < expected and time.monotonic() < deadline:
        time.sleep(0.05)
    return count


def test_metrics_add_up_across_workers(metrics_server):
    server, directory, metrics_url = metrics_server

    for _ in range(20):
        assert requests.get(f"{server.url}/ready", timeout=10).status_code == 200
    assert wait_for_count(metrics_url, 20) == 20
    # A worker that dies keeps its counts on disk, and its replacement counts on. Each
    # connection goes to the worker that accepts it first, so one may have served none.
    dead = next(pid for pid in worker_pids(server) if (directory / f"counter_{pid}.db").exists())
    os.kill(dead, signal.SIGKILL)
    wait_for_replacement(server, dead, directory)
    for _ in range(20):
        assert requests.get(f"{server.url}/ready", timeout=10).status_code == 200

    assert wait_for_count(metrics_url, 40) == 40
    after = scrape(metrics_url)
    assert after[("activity_recommender_http_requests_in_progress", frozenset())] == 1
    build = frozenset({"version": "1.0.0", "revision": "0123abc"}.items())
    assert after[("activity_recommender_build_info", build)] == 1
    assert (directory / f"counter_{dead}.db").exists()
    # gunicorn's child_exit hook removed the dead worker's live gauge.
    assert not (directory / f"gauge_livesum_{dead}.db").exists()


def test_metrics_port_kept_apart(metrics_server):
    server, directory, metrics_url = metrics_server

    assert not (directory / "counter_999999.db").exists()

    assert requests.get(f"{server.url}/metrics", timeout=10).status_code == 404
    assert requests.get(f"{metrics_url}/health", timeout=10).status_code == 404
    assert requests.get(f"{metrics_url}/metrics", timeout=10).status_code == 200


def test_revoked_token_rejected_on_every_worker(server):
    headers = bearer(root_token(server.url))
    requests.post(f"{server.url}/v1/users", json={"username": "alice"}, headers=headers, timeout=10)
    issued = requests.post(
        f"{server.url}/v1/users/alice/tokens",
        json={"expires_in_days": 1},
        headers=headers,
        timeout=10,
    ).json()

    revoked = requests.delete(
        f"{server.url}/v1/users/alice/tokens/{issued['jti']}", headers=headers, timeout=10
    )

    assert revoked.status_code == 204
    # Each request opens a new connection, so both workers handle some of them.
    statuses = [
        requests.get(
            f"{server.url}/v1/me", headers=bearer(issued["access_token"]), timeout=10
        ).status_code
        for _ in range(20)
    ]
    assert statuses == [401] * 20


def test_login_throttle_shared_by_workers(server):
    statuses = [
        requests.post(
            f"{server.url}/v1/token",
            data={"username": "root", "password": WRONG_PASSWORD},
            timeout=10,
        ).status_code
        for _ in range(5)
    ]
    locked = requests.post(
        f"{server.url}/v1/token", data={"username": "root", "password": ROOT_PASSWORD}, timeout=10
    )

    assert statuses == [401] * 5
    assert locked.status_code == 429
    assert 290 <= int(locked.headers["Retry-After"]) <= 300


def test_chunked_body_over_limit_rejected(server):
    def chunks() -> Iterator[bytes]:
        for _ in range(70):
            yield b"x" * 1024

    response = requests.post(f"{server.url}/v1/users", data=chunks(), timeout=10)

    assert response.status_code == 413
    assert response.headers["Content-Type"] == "application/problem+json"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert len(response.headers["X-Request-ID"]) == 32
