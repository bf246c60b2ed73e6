"""Prometheus metrics: what the service counts, and the /metrics endpoint that shows it.

Under gunicorn every worker is a process of its own, so the metrics use
prometheus-client's multiprocess mode: each worker writes its values to files in
PROMETHEUS_MULTIPROC_DIR, and /metrics adds up the files of all workers. gunicorn.conf.py
sets that directory up before the workers start; without it (tests, `flask run`) the
values live in the process.
"""

from __future__ import annotations

import logging
import os
from importlib import metadata
from typing import Any

import anyio.to_thread
from flask import Flask, current_app
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.multiprocess import MultiProcessCollector
from sqlalchemy import event
from sqlalchemy.engine import Engine, ExceptionContext

from .config import Settings

log = logging.getLogger(__name__)

NAMESPACE = "activity_recommender"
EXTENSION_KEY = "activity_recommender.metrics"
MULTIPROCESS_DIR_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"

#: Latency buckets in seconds, from a cached read to a slow database write.
LATENCY_BUCKETS = (0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

#: Methods kept as label values; any other method is counted as `other`, so a client
#: cannot make new time series by inventing methods.
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

#: The `operation_id` label of requests that matched no operation of the spec.
NO_OPERATION = "none"


def package_version() -> str:
    try:
        return metadata.version("activity-recommender")
    except metadata.PackageNotFoundError:  # pragma: no cover - running from a bare checkout
        return "unknown"


class Metrics:
    """One app's metrics and the registry that /metrics renders."""

    def __init__(self, version: str, revision: str) -> None:
        self.registry = CollectorRegistry()
        multiprocess_dir = os.environ.get(MULTIPROCESS_DIR_VARIABLE)
        if multiprocess_dir:
            # The files hold every worker's values; registering the metrics themselves
            # as well would show this worker's values twice.
            MultiProcessCollector(self.registry, path=multiprocess_dir)  # type: ignore[no-untyped-call]
            registry = None
        else:
            registry = self.registry

        def labelled(
            kind: Any, name: str, documentation: str, labels: tuple[str, ...], **extra: Any
        ) -> Any:
            return kind(
                name, documentation, labels, namespace=NAMESPACE, registry=registry, **extra
            )

        self.requests = labelled(
            Counter,
            "http_requests",
            "HTTP requests answered, by operationId, method and status code.",
            ("operation_id", "method", "status"),
        )
        self.latency = labelled(
            Histogram,
            "http_request_duration_seconds",
            "Time from receiving a request to sending the end of its response.",
            ("operation_id",),
            buckets=LATENCY_BUCKETS,
        )
        self.in_progress = labelled(
            Gauge,
            "http_requests_in_progress",
            "HTTP requests being handled now, over the workers that are alive.",
            (),
            multiprocess_mode="livesum",
        )
        self.recommendations = labelled(
            Counter,
            "recommendations",
            "Activities recommended, by the gender they were drawn for.",
            ("gender",),
        )
        self.database_errors = labelled(
            Counter,
            "database_errors",
            "Errors that the database driver raised, by SQLAlchemy exception class.",
            ("error",),
        )
        build_info = labelled(
            Gauge,
            "build_info",
            "Always 1; the labels name the running version and source revision.",
            ("version", "revision"),
            multiprocess_mode="max",
        )
        build_info.labels(version, revision).set(1)

        # labels() takes a lock and builds a key on every call. The label sets are few
        # and bounded, so each worker keeps the children it has made.
        self._request_children: dict[tuple[str, str, int], tuple[Any, Any]] = {}
        self._recommendation_children: dict[str, Any] = {}

    def observe_request(
        self, operation_id: str | None, method: str, status: int, seconds: float
    ) -> None:
        key = (operation_id or NO_OPERATION, method if method in KNOWN_METHODS else "other", status)
        children = self._request_children.get(key)
        if children is None:
            children = (
                self.requests.labels(key[0], key[1], str(status)),
                self.latency.labels(key[0]),
            )
            self._request_children[key] = children
        children[0].inc()
        children[1].observe(seconds)

    def count_recommendations(self, gender: str, count: int) -> None:
        child = self._recommendation_children.get(gender)
        if child is None:
            child = self._recommendation_children[gender] = self.recommendations.labels(gender)
        child.inc(count)

    def count_database_error(self, context: ExceptionContext) -> None:
        error = context.sqlalchemy_exception or context.original_exception
        self.database_errors.labels(type(error).__name__).inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)

    async def asgi_app(self, scope: Any, receive: Any, send: Any) -> None:
        """Serve the Prometheus text format; reading the workers' files runs in a thread."""
        if scope["method"] not in ("GET", "HEAD"):
            await send(
                {
                    "type": "http.response.start",
                    "status": 405,
                    "headers": [(b"allow", b"GET, HEAD"), (b"content-length", b"0")],
                }
            )
            await send({"type": "http.response.body", "body": b""})
            return
        body = await anyio.to_thread.run_sync(self.render)
        headers = [
            (b"content-type", CONTENT_TYPE_LATEST.encode()),
            (b"content-length", str(len(body)).encode()),
            (b"cache-control", b"no-store"),
        ]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send(
            {"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else body}
        )


def create_metrics(settings: Settings) -> Metrics | None:
    """Return the app's metrics when METRICS_ENABLED is true, else None."""
    if not settings.metrics_enabled:
        return None
    return Metrics(package_version(), settings.git_revision)


def bind(flask_app: Flask, metrics: Metrics, engine: Engine) -> None:
    """Make `metrics` reachable from handlers and count the errors of `engine`."""
    flask_app.extensions[EXTENSION_KEY] = metrics
    event.listen(engine, "handle_error", metrics.count_database_error)


def count_recommendations(gender: str, count: int) -> None:
    """Count `count` activities recommended for `gender`, when metrics are enabled."""
    metrics: Metrics | None = current_app.extensions.get(EXTENSION_KEY)
    if metrics is not None:
        metrics.count_recommendations(gender, count)
