"""The `activity-recommender` command: Flask's CLI with migrations and admin commands."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import FlaskGroup

from .app import create_app, register_migrations
from .commands import COMMANDS
from .config import ConfigError


def flask_app() -> Flask:
    """Return the inner Flask app, which Flask's CLI and Flask-Migrate work on.

    Admin commands run without the service's statement timeout, so a migration that
    rewrites a large table is not cut off.
    """
    try:
        app: Flask = create_app(database_statement_timeout=None).app
    except ConfigError as exc:
        raise click.ClickException(f"invalid configuration: {exc}") from None
    register_migrations(app)
    return app


# Flask's own `run` and `shell` would serve or load the inner Flask app without
# Connexion's routing, validation and security, so only the service's commands are added.
@click.group(
    cls=FlaskGroup,
    create_app=flask_app,
    add_default_commands=False,
    add_version_option=False,
)
def main() -> None:
    """Manage the Activity Recommender database and users.

    Reads the same environment variables as the service, DATABASE_URL first.
    """


for _name, _group in COMMANDS.items():
    main.add_command(_group, _name)
