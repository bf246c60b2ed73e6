"""The `activity-recommender` command: Flask's CLI with migrations and admin commands."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import FlaskGroup

from .app import create_app


def flask_app() -> Flask:
    """Return the inner Flask app, which Flask's CLI and Flask-Migrate work on."""
    return create_app().app


@click.group(cls=FlaskGroup, create_app=flask_app, add_version_option=False)
def main() -> None:
    """Manage the Activity Recommender database and users.

    Reads the same environment variables as the service, DATABASE_URL first.
    """
