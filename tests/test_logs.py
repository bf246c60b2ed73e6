"""JSON log lines and request ids, in one process."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator
from typing import Any

import pytest

from api.logs import JsonLineFormatter, RequestContextFilter, logging_config

from .conftest import bearer

RFC3339_UTC = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")
GENERATED_ID = re.compile(r"[0-9a-f]{32}")


class CapturedLines:
    def __init__(self, stream: io.StringIO) -> None:
        self.stream = stream

    def records(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.stream.getvalue().splitlines()]

    def by_logger(self, name: str) -> list[dict[str, Any]]:
        return [record for record in self.records() if record["logger"] == name]


@pytest.fixture
def log_lines() -> Iterator[CapturedLines]:
    """The JSON lines that the root logger writes at DEBUG while the test runs."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonLineFormatter())
    handler.addFilter(RequestContextFilter())
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield CapturedLines(stream)
    root.removeHandler(handler)
    root.setLevel(level)


def test_access_line_fields(client, log_lines):
    client.get("/health", headers={"X-Request-ID": "req-1"})

    (line,) = log_lines.by_logger("api.access")
    assert list(line)[:6] == ["time", "level", "logger", "message", "request_id", "operationId"]
    assert RFC3339_UTC.fullmatch(line["time"])
    assert line["level"] == "INFO"
    assert line["message"] == "GET /health 200"
    assert line["request_id"] == "req-1"
    assert line["operationId"] == "get_health"
    assert line["method"] == "GET"
    assert line["path"] == "/health"
    assert line["status"] == 200
    assert isinstance(line["duration_ms"], float)
    assert line["duration_ms"] >= 0


def test_lines_inside_request_carry_its_ids(client, log_lines):
    client.post(
        "/v1/token",
        data={"username": "root", "password": "wrong"},
        headers={"X-Request-ID": "login-7"},
    )

    warnings = [line for line in log_lines.by_logger("api.auth") if line["level"] == "WARNING"]
    assert [line["message"] for line in warnings] == [
        "failed login for username='root' address=testclient"
    ]
    assert warnings[0]["request_id"] == "login-7"
    assert warnings[0]["operationId"] == "create_token"
    (access,) = log_lines.by_logger("api.access")
    assert access["status"] == 401
    assert access["request_id"] == "login-7"


def test_lines_outside_requests_have_null_ids(log_lines):
    logging.getLogger("api.test").info("started")

    (line,) = log_lines.by_logger("api.test")
    assert line["request_id"] is None
    assert line["operationId"] is None


def test_exception_logged_in_one_line(log_lines):
    try:
        raise ValueError("boom")
    except ValueError:
        logging.getLogger("api.test").exception("failed")

    assert len(log_lines.stream.getvalue().splitlines()) == 1
    (line,) = log_lines.by_logger("api.test")
    assert line["level"] == "ERROR"
    assert "ValueError: boom" in line["exc_info"]


def test_unknown_path_access_line(client, log_lines):
    client.get("/no-such-path")

    (line,) = log_lines.by_logger("api.access")
    assert line["status"] == 404
    assert line["operationId"] is None
    assert GENERATED_ID.fullmatch(line["request_id"])


@pytest.mark.parametrize("request_id", ["abc", "A-b_c.9", "x" * 128])
def test_request_id_kept_when_well_formed(client, request_id):
    response = client.get("/health", headers={"X-Request-ID": request_id})

    assert response.headers["x-request-id"] == request_id


@pytest.mark.parametrize("request_id", ["", "x" * 129, "a b", "a/b", "ä".encode(), "a\tb"])
def test_request_id_replaced_when_malformed(client, request_id):
    response = client.get("/health", headers={"X-Request-ID": request_id})

    assert GENERATED_ID.fullmatch(response.headers["x-request-id"])


def test_request_id_generated_per_request(client):
    first = client.get("/health").headers["x-request-id"]
    second = client.get("/health").headers["x-request-id"]

    assert GENERATED_ID.fullmatch(first)
    assert first != second


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/v1/me", 401),
        ("GET", "/no-such-path", 404),
        ("PATCH", "/v1/users", 405),
    ],
)
def test_request_id_on_errors(client, method, path, status):
    response = client.request(method, path, headers={"X-Request-ID": "err-1"})

    assert response.status_code == status
    assert response.headers["x-request-id"] == "err-1"


@pytest.mark.parametrize(
    ("path", "status"), [("/v1/users", 403), ("/v1/recommendations/robot", 400)]
)
def test_request_id_on_errors_with_token(client, user_token, path, status):
    response = client.get(path, headers={**bearer(user_token), "X-Request-ID": "err-2"})

    assert response.status_code == status
    assert response.headers["x-request-id"] == "err-2"


def test_logging_config_levels():
    config = logging_config("debug")

    assert config["root"] == {"level": "DEBUG", "handlers": ["stdout"]}
    assert config["loggers"]["gunicorn.error"]["level"] == "DEBUG"
    assert config["loggers"]["uvicorn.access"] == {"handlers": [], "propagate": False}
    assert config["handlers"]["stdout"]["stream"] == "ext://sys.stdout"


def test_logging_config_rejects_unknown_level():
    with pytest.raises(ValueError, match="invalid log level 'LOUD'"):
        logging_config("loud")


def test_request_id_on_internal_error(client, user_token, monkeypatch, log_lines):
    def fail(*args: Any) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr("api.recommendations.recommend", fail)

    response = client.get(
        "/v1/recommendations/male", headers={**bearer(user_token), "X-Request-ID": "err-3"}
    )

    assert response.status_code == 500
    assert response.headers["x-request-id"] == "err-3"
    errors = [line for line in log_lines.records() if line["level"] == "ERROR"]
    assert len(errors) == 1
    assert errors[0]["request_id"] == "err-3"
    assert "RuntimeError: boom" in errors[0]["exc_info"]
