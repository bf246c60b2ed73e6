"""The application factory: the one place that wires spec, handlers, database and errors."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import connexion
from connexion.exceptions import ProblemException
from connexion.options import SwaggerUIOptions
from flask import Flask
from flask_migrate import Migrate
from sqlalchemy import event

from . import auth
from .config import Settings, load_settings
from .db import db
from .errors import DATABASE_UNAVAILABLE, render_database_error, render_internal_error, render_problem

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

    app = connexion.FlaskApp(
        __name__,
        specification_dir=SPEC_DIR,
        swagger_ui_options=SwaggerUIOptions(
            swagger_ui=settings.swagger_ui, swagger_ui_path="/docs"
        ),
    )
    app.add_api(
        "openapi.yaml",
        strict_validation=True,
        validate_responses=settings.validate_responses,
    )
    _configure_flask(app.app, settings)

    app.add_error_handler(ProblemException, render_problem)
    for exc_class in DATABASE_UNAVAILABLE:
        app.add_error_handler(exc_class, render_database_error)
    app.add_error_handler(Exception, render_internal_error)

    auth.bind_settings(settings)
    return app


def _configure_flask(flask_app: Flask, settings: Settings) -> None:
    flask_app.config.update(
        SQLALCHEMY_DATABASE_URI=settings.database_url,
        SQLALCHEMY_ENGINE_OPTIONS=_engine_options(settings.database_url),
        # Let handler exceptions reach Connexion's error handlers, which render problems.
        PROPAGATE_EXCEPTIONS=True,
    )
    flask_app.extensions[SETTINGS_KEY] = settings
    db.init_app(flask_app)
    Migrate(flask_app, db, directory=str(MIGRATIONS_DIR), compare_type=True)

    with flask_app.app_context():
        if db.engine.dialect.name == "sqlite":
            event.listen(db.engine, "connect", _sqlite_on_connect)

    flask_app.before_request(_check_token_active)


def _engine_options(database_url: str) -> dict[str, Any]:
    if database_url.startswith("sqlite"):
        return {"connect_args": {"timeout": 30}}
    return {"pool_pre_ping": True, "pool_recycle": 280}


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets readers run beside one writer, and the busy timeout makes concurrent
    # writers in other workers wait for the lock instead of failing at once.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _check_token_active() -> None:
    from connexion.context import context

    try:
        claims = context.get("token_info")
    except LookupError:
        return
    if claims:
        auth.check_token_active(claims)
