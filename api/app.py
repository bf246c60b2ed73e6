"""The application factory: the one place that wires spec, handlers, database and errors."""

from __future__ import annotations

import functools
import logging
import time
from pathlib import Path
from typing import Any

import connexion
from connexion.exceptions import ProblemException
from connexion.middleware import MiddlewarePosition
from connexion.options import SwaggerUIOptions
from flask import Flask

from . import (
    activities,
    auth,
    database,
    distribution_cache,
    framework,
    metrics,
    middleware,
    token_records,
)
from .allowed_methods import AllowedMethods
from .config import Settings, load_settings
from .content_type import LowercaseMediaType
from .db import db
from .errors import (
    DATABASE_UNAVAILABLE,
    BadRequest,
    NotFound,
    render_database_error,
    render_internal_error,
    render_problem,
)
from .legacy_errors import LegacyInputErrors
from .path_guard import RejectLineBreaksInPath
from .validation import VALIDATOR_MAP

log = logging.getLogger(__name__)

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SPEC_DIR = PROJECT_ROOT / "spec"
MIGRATIONS_DIR = PROJECT_ROOT / "migrations"
SETTINGS_KEY = "activity_recommender.settings"


def create_app(settings: Settings | None = None, **overrides: Any) -> connexion.FlaskApp:
    """Build the Connexion app; gunicorn serves it as `api:create_app()`.

    `overrides` replace single settings, for tests and scripts.
    """
    settings = settings or load_settings(**overrides)
    app_metrics = metrics.create_metrics(settings)

    app = connexion.FlaskApp(
        __name__,
        specification_dir=SPEC_DIR,
        swagger_ui_options=SwaggerUIOptions(
            swagger_ui=settings.swagger_ui, swagger_ui_path="/docs"
        ),
        middlewares=middleware.middleware_stack(settings, app_metrics),
        jsonifier=framework.COMPACT_JSON,
    )
    token_check = auth.TokenCheck(_configure_flask(app.app, settings), settings.root_username)
    app.app.before_request(functools.partial(_check_token_again_if_waited, token_check))
    app.add_api(
        "openapi.yaml",
        strict_validation=True,
        validate_responses=settings.validate_responses,
        validator_map=VALIDATOR_MAP,
        security_map=framework.security_map(token_check),
    )
    # After routing, so that legacy operations are known, and in this order, so that a
    # legacy path with a line break gets 422 too.
    app.add_middleware(LegacyInputErrors, position=MiddlewarePosition.BEFORE_SECURITY)
    app.add_middleware(RejectLineBreaksInPath, position=MiddlewarePosition.BEFORE_SECURITY)
    app.add_middleware(LowercaseMediaType, position=MiddlewarePosition.BEFORE_SECURITY)
    if app_metrics is not None:
        with app.app.app_context():
            metrics.bind(app.app, app_metrics, db.engine)

    app.add_error_handler(ProblemException, render_problem)
    for exc_class in DATABASE_UNAVAILABLE:
        app.add_error_handler(exc_class, render_database_error)
    app.add_error_handler(Exception, render_internal_error)
    allowed_methods = AllowedMethods.from_spec_file(SPEC_DIR / "openapi.yaml")
    app.add_error_handler(405, allowed_methods.render_method_not_allowed)

    auth.bind_settings(settings)
    # Last: it builds Connexion's middleware stack, which takes no more middleware or
    # error handlers after.
    framework.prepare(app)
    return app


def register_migrations(flask_app: Flask) -> None:
    """Give `flask_app` Flask-Migrate, for the `db` commands and tests that migrate.

    The serving workers skip it: Flask-Migrate loads Alembic and Mako, about 11 MiB
    of memory per worker that no request uses.
    """
    from flask_migrate import Migrate

    Migrate(flask_app, db, directory=str(MIGRATIONS_DIR), compare_type=True)


def _configure_flask(flask_app: Flask, settings: Settings) -> token_records.TokenRecordReader:
    """Configure Flask and its database, and return the reader for the app's token checks."""
    flask_app.config.update(
        SQLALCHEMY_DATABASE_URI=settings.database_url,
        SQLALCHEMY_ENGINE_OPTIONS=database.engine_options(settings),
        SQLALCHEMY_BINDS={database.AUTOCOMMIT_BIND: database.autocommit_bind(settings)},
        # Let handler exceptions reach Connexion's error handlers, which render problems.
        PROPAGATE_EXCEPTIONS=True,
    )
    flask_app.extensions[SETTINGS_KEY] = settings
    db.init_app(flask_app)
    distribution_cache.init_app(flask_app, settings.recommendation_cache_seconds)

    with flask_app.app_context():
        for engine in db.engines.values():
            database.add_connect_listeners(engine, settings)
        autocommit_engine = db.engines[database.AUTOCOMMIT_BIND]
        database.ping_when_idle(autocommit_engine)
        token_reader = token_records.init_app(flask_app, autocommit_engine, db.engine)
        activities.init_app(flask_app, autocommit_engine)

    flask_app.before_request(_reject_unrouted)
    return token_reader


def _reject_unrouted() -> None:
    """Keep requests that Connexion's router did not match away from the handlers.

    Such a request skipped validation and security. Flask rejects most of them with
    404 or 405 itself, but its router also matches a path with a newline in it, which
    Connexion's does not (Starlette's mount pattern `.*` stops at a newline).
    """
    from connexion.context import context
    from flask import request

    # Two signs, because each one alone missed a case; `path_guard` rejects both first.
    # Flask runs in a2wsgi's thread pool, where a previous request's context was seen
    # still set for `/v1/recommendations/a%0Ab`, which no route matched. And
    # `/v1/activities/swimming%0A` matched a route, yet skipped Connexion's middleware.
    scope = request.environ.get("asgi.scope", {})
    routed = bool(scope.get("extensions", {}).get("connexion_routing", {}).get("operation_id"))
    try:
        context.get("operation")
    except RuntimeError:
        routed = False
    if routed:
        return
    if request.url_rule is None:
        return
    if any(char in request.path for char in "\r\n"):
        raise BadRequest("The URL path must not contain control characters.")
    raise NotFound(f"No operation matches {request.path!r}.")


def _check_token_again_if_waited(token_check: auth.TokenCheck) -> None:
    """Check the request's token again if it waited over `auth.RECHECK_AFTER_SECONDS`
    for a thread since its first check.

    A revocation that commits while a request waits for a thread would otherwise not
    stop it, so the window is `auth.RECHECK_AFTER_SECONDS` plus the handler's run.
    """
    from connexion.context import context
    from flask import request

    scope = request.environ.get("asgi.scope", {})
    checked_at = scope.get("extensions", {}).get(framework.CLAIMS_CHECKED_AT)
    if checked_at is None or time.monotonic() - checked_at < auth.RECHECK_AFTER_SECONDS:
        return
    # The check stored the time only after the claims passed, so Connexion has them.
    token_check.check_again(context.get("token_info"))
