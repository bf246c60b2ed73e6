"""Liveness and readiness probes, and the published spec and Swagger UI."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from api import auth
from api.app import SETTINGS_KEY

from .conftest import make_app

SPEC = Path(__file__).resolve().parents[1] / "spec" / "openapi.yaml"


@pytest.fixture
def unreachable_client(app, tmp_path):
    """A client of an app whose SQLite file lies in a folder that does not exist."""
    broken = make_app(f"sqlite:///{tmp_path / 'missing' / 'db.sqlite3'}", tmp_path)
    yield broken.test_client()
    # The factory binds its settings for token checks; give them back to the suite's app.
    auth.bind_settings(app.app.extensions[SETTINGS_KEY])


def test_health_ok(client):
    response = client.get("/health")

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"status": "ok"}


def test_ready_ok(client):
    response = client.get("/ready")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_health_ok_without_database(unreachable_client):
    response = unreachable_client.get("/health")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_ready_unavailable_without_database(unreachable_client):
    response = unreachable_client.get("/ready")

    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json() == {
        "type": "about:blank",
        "title": "Service Unavailable",
        "status": 503,
        "detail": "The database is unavailable. Retry later.",
    }


@pytest.mark.parametrize("path", ["/health", "/ready"])
def test_probes_need_no_token(client, path):
    response = client.get(path, headers={"Authorization": "Bearer not-a-token"})

    assert response.status_code == 200


def test_openapi_json_is_the_spec(client):
    response = client.get("/openapi.json")

    assert response.status_code == 200
    served = response.json()
    written = yaml.safe_load(SPEC.read_text())
    assert served["info"] == written["info"]
    assert served["paths"].keys() == written["paths"].keys()
    assert served["components"]["schemas"].keys() == written["components"]["schemas"].keys()


def test_swagger_ui_served(client):
    response = client.get("/docs/")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "swagger-ui" in response.text


def test_unknown_path_not_found(client):
    response = client.get("/v1/nothing")

    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


def test_wrong_method_not_allowed(client):
    response = client.patch("/v1/activities/swimming")

    assert response.status_code == 405
    assert response.headers["content-type"] == "application/problem+json"
