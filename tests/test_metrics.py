"""Prometheus metrics in one process: what is counted, how it is labelled, where it is served."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from .conftest import ROOT_PASSWORD, bearer, dispose_engines, make_app

PREFIX = "activity_recommender_"


@pytest.fixture
def metrics_app(database_url: str, tmp_path: Any, app: Any) -> Iterator[Any]:
    """An app with metrics on, on the session's database; `app` resets the data first."""
    application = make_app(database_url, tmp_path, metrics_enabled=True, git_revision="abc1234")
    yield application
    dispose_engines(application)


def samples(client: Any) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Scrape /metrics and return every sample by name and labels."""
    response = client.get("/metrics")
    assert response.status_code == 200, response.text
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(scraped: dict, name: str, **labels: str) -> float | None:
    return scraped.get((PREFIX + name, frozenset(labels.items())))


def test_metrics_off_by_default(client):
    assert client.get("/metrics").status_code == 404


def test_metrics_content_type(metrics_app):
    response = metrics_app.test_client().get("/metrics")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=")
    assert response.headers["x-content-type-options"] == "nosniff"


def test_metrics_count_requests_by_operation(metrics_app):
    client = metrics_app.test_client()
    client.get("/health")
    client.get("/health")
    client.get("/v1/me")
    client.get("/no-such-path")
    client.request("BREW", "/health")

    scraped = samples(client)

    requests = "http_requests_total"
    assert value(scraped, requests, operation_id="get_health", method="GET", status="200") == 2
    assert value(scraped, requests, operation_id="get_me", method="GET", status="401") == 1
    assert value(scraped, requests, operation_id="none", method="GET", status="404") == 1
    assert value(scraped, requests, operation_id="none", method="other", status="405") == 1
    histogram = "http_request_duration_seconds_count"
    assert value(scraped, histogram, operation_id="get_health") == 2
    assert (
        value(scraped, "http_request_duration_seconds_bucket", operation_id="get_health", le="+Inf")
        == 2
    )
    assert value(scraped, "http_requests_in_progress") == 1


def test_metrics_count_recommendations_by_gender(metrics_app, make_user_token):
    client = metrics_app.test_client()
    token = make_user_token("alice")

    client.get("/v1/recommendations/female?count=2&seed=1", headers=bearer(token))
    client.get("/v1/recommendations/female", headers=bearer(token))
    client.get("/v1/recommendations/any?count=5", headers=bearer(token))

    scraped = samples(client)
    assert value(scraped, "recommendations_total", gender="female") == 3
    # Only two activities exist, so five requested are two recommended.
    assert value(scraped, "recommendations_total", gender="any") == 2
    assert value(scraped, "recommendations_total", gender="male") is None


def test_metrics_count_database_errors(metrics_app):
    client = metrics_app.test_client()
    token = client.post("/v1/token", data={"username": "root", "password": ROOT_PASSWORD})
    headers = bearer(token.json()["access_token"])

    assert client.post("/v1/users", json={"username": "alice"}, headers=headers).status_code == 201
    # The unique index rejects the second insert, and the service returns 409.
    assert client.post("/v1/users", json={"username": "alice"}, headers=headers).status_code == 409

    assert value(samples(client), "database_errors_total", error="IntegrityError") == 1


def test_metrics_build_info(metrics_app):
    scraped = samples(metrics_app.test_client())

    assert value(scraped, "build_info", version="1.0.0", revision="abc1234") == 1


def test_metrics_counts_its_own_scrapes(metrics_app):
    client = metrics_app.test_client()
    samples(client)

    scraped = samples(client)
    assert (
        value(
            scraped, "http_requests_total", operation_id="get_metrics", method="GET", status="200"
        )
        == 1
    )


@pytest.fixture
def port_app(database_url: str, tmp_path: Any, app: Any) -> Iterator[Any]:
    application = make_app(database_url, tmp_path, metrics_enabled=True, metrics_port=9100)
    yield application
    dispose_engines(application)


def test_metrics_port_serves_only_metrics(port_app):
    metrics_port = port_app.test_client(base_url="http://testserver:9100")

    assert metrics_port.get("/metrics").status_code == 200
    not_found = metrics_port.get("/health")
    assert not_found.status_code == 404
    assert not_found.headers["content-type"] == "application/problem+json"
    assert not_found.json()["detail"] == "The requested URL was not found on this port."


def test_metrics_not_on_service_port(port_app):
    service_port = port_app.test_client(base_url="http://testserver:8080")

    assert service_port.get("/metrics").status_code == 404
    assert service_port.get("/health").status_code == 200
