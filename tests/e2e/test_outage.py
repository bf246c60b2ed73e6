"""A lost database gives fast 503s, and the service recovers without a restart.

The shared database servers keep running: the outage is faked by a TCP proxy between
the service and the server (see `tests/tcp_proxy.py`).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from sqlalchemy import make_url

from ..databases import kill_connections
from ..tcp_proxy import TcpProxy
from .conftest import Server, server_env
from .tokens import user_headers

DEFAULT_PORTS = {"mariadb": 3306, "postgresql": 5432}
#: Requests per check. Each opens its own connection, so requests reach both workers.
REQUESTS_PER_CHECK = 6
#: The service's default DATABASE_CONNECT_TIMEOUT and DATABASE_STATEMENT_TIMEOUT.
DATABASE_TIMEOUT = 2.0


@pytest.fixture(scope="module")
def proxy(database_kind: str, database_url: str) -> Iterator[TcpProxy]:
    if database_kind == "sqlite":
        pytest.skip("SQLite is a local file: there is no database server to lose")
    url = make_url(database_url)
    running = TcpProxy(url.host or "127.0.0.1", url.port or DEFAULT_PORTS[database_kind])
    yield running
    running.stop()


@pytest.fixture(scope="module")
def proxied_server(
    app: object,
    proxy: TcpProxy,
    database_url: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Server]:
    """A server of two workers whose DATABASE_URL points at the proxy."""
    url = make_url(database_url).set(host="127.0.0.1", port=proxy.port)
    instance = tmp_path_factory.mktemp("proxied-server")
    running = Server(server_env(url.render_as_string(hide_password=False), instance))
    yield running
    running.stop()


@pytest.fixture
def outage(proxy: TcpProxy) -> Iterator[TcpProxy]:
    """The module's proxy, brought back after the test even when the test fails."""
    yield proxy
    proxy.resume()


def worker_pids(server: Server) -> set[int]:
    """Return the gunicorn worker processes, which gunicorn replaces when one dies."""
    pid = server.process.pid
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    return {int(child) for child in children.split()}


def check_unavailable(url: str, limit: float, **kwargs: object) -> None:
    """Send one request on a new connection; expect a 503 problem within `limit` seconds."""
    started = time.monotonic()
    response = requests.request(url=url, timeout=30, **kwargs)  # type: ignore[arg-type]
    elapsed = time.monotonic() - started

    assert response.status_code == 503, response.text
    assert response.headers["Content-Type"] == "application/problem+json"
    assert response.json()["status"] == 503
    assert elapsed < limit


def statuses(url: str, **kwargs: object) -> Counter[int]:
    """Send REQUESTS_PER_CHECK requests, each on a new connection; count the statuses."""
    return Counter(
        requests.request(url=url, timeout=30, **kwargs).status_code  # type: ignore[arg-type]
        for _ in range(REQUESTS_PER_CHECK)
    )


def test_stopped_database_gives_503_then_recovers(outage: TcpProxy, proxied_server: Server) -> None:
    base = proxied_server.url
    headers = user_headers(base)
    add = {
        "method": "POST",
        "url": f"{base}/v1/activities/swimming/players",
        "json": {"male": 1, "female": 0},
        "headers": headers,
    }
    assert statuses(f"{base}/ready", method="GET") == Counter({200: REQUESTS_PER_CHECK})
    workers = worker_pids(proxied_server)

    outage.stop()
    for _ in range(REQUESTS_PER_CHECK):
        check_unavailable(f"{base}/ready", limit=DATABASE_TIMEOUT, method="GET")
        check_unavailable(limit=DATABASE_TIMEOUT, **add)  # type: ignore[arg-type]

    outage.resume()
    assert statuses(f"{base}/ready", method="GET") == Counter({200: REQUESTS_PER_CHECK})
    assert statuses(**add) == Counter({200: REQUESTS_PER_CHECK})  # type: ignore[arg-type]
    assert worker_pids(proxied_server) == workers

    # Only the additions sent while the database was up were stored.
    swimming = requests.get(f"{base}/v1/activities/swimming", headers=headers, timeout=10)
    assert swimming.json()["male_players"] == 3 + REQUESTS_PER_CHECK


def test_silent_database_times_out_then_recovers(outage: TcpProxy, proxied_server: Server) -> None:
    base = proxied_server.url
    assert statuses(f"{base}/ready", method="GET") == Counter({200: REQUESTS_PER_CHECK})
    workers = worker_pids(proxied_server)

    outage.freeze()
    # One connect timeout per request, plus up to 1 s for a busy machine to schedule it.
    for _ in range(2):
        check_unavailable(f"{base}/ready", limit=DATABASE_TIMEOUT + 1, method="GET")

    outage.resume()
    assert statuses(f"{base}/ready", method="GET") == Counter({200: REQUESTS_PER_CHECK})
    assert worker_pids(proxied_server) == workers


def test_killed_idle_connections_cause_no_error(
    database_kind: str, database_url: str, server: Server
) -> None:
    if database_kind == "sqlite":
        pytest.skip("SQLite is a local file: there are no server connections to kill")
    headers = user_headers(server.url)
    listing = f"{server.url}/v1/activities"
    assert statuses(listing, method="GET", headers=headers) == Counter({200: REQUESTS_PER_CHECK})

    assert kill_connections(database_kind, database_url) >= 1

    assert statuses(listing, method="GET", headers=headers) == Counter({200: REQUESTS_PER_CHECK})
    assert statuses(f"{server.url}/ready", method="GET") == Counter({200: REQUESTS_PER_CHECK})
