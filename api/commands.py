"""Admin commands: users, tokens and activities, from a shell or a one-off task.

Each command calls the same functions as the API, on the database at DATABASE_URL,
and exits with status 1 and an `Error:` line on stderr when it fails.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Any, BinaryIO, TextIO, TypeVar

import click
from flask.cli import AppGroup
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from . import activities, activity_csv, auth, tokens, users
from .db import db
from .errors import ApiError

F = TypeVar("F", bound=Callable[..., Any])

#: The maximum token lifetime in days, as the API allows it.
MAX_TOKEN_DAYS = 3650


def reports_errors(command: F) -> F:
    """Turn the service's errors into click errors: a message and exit status 1."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except ApiError as exc:
            raise click.ClickException(str(exc.detail)) from None
        except activity_csv.CsvError as exc:
            source = getattr(kwargs.get("file"), "name", "the file")
            raise click.ClickException(f"{source}: {exc}. Nothing was imported.") from None
        except SQLAlchemyError as exc:
            # The driver's message, without SQLAlchemy's statement and parameters.
            reason = exc.orig if isinstance(exc, DBAPIError) else exc
            raise click.ClickException(
                f"the database failed: {reason}. Check DATABASE_URL, and that "
                "`activity-recommender db upgrade` has run."
            ) from None
        finally:
            # A command is the whole life of its process's engine: close its connections.
            db.session.remove()
            db.engine.dispose()

    return wrapper  # type: ignore[return-value]


@click.group(cls=AppGroup)
def users_group() -> None:
    """Create, list and delete users."""


@users_group.command("create")
@click.argument("username")
@reports_errors
def create_user(username: str) -> None:
    """Create the user USERNAME, with the role `user`."""
    user = users.create_user(username)
    click.echo(f"Created user {user.username!r}.")


@users_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array instead of lines.")
@reports_errors
def list_users(as_json: bool) -> None:
    """List the users, one `username<TAB>created_at` line each, sorted by name."""
    records = [user.to_dict() for user in users.list_users()]
    if as_json:
        click.echo(json.dumps(records, indent=2))
        return
    for record in records:
        click.echo(f"{record['username']}\t{record['created_at']}")


@users_group.command("delete")
@click.argument("username")
@reports_errors
def delete_user(username: str) -> None:
    """Delete the user USERNAME; their tokens are rejected from then on."""
    users.delete_user(username)
    click.echo(f"Deleted user {username!r} and their tokens.")


@click.group(cls=AppGroup)
def tokens_group() -> None:
    """Issue, list and revoke user tokens."""


@tokens_group.command("issue")
@click.argument("username")
@click.option(
    "--days",
    required=True,
    type=click.FloatRange(min=0, min_open=True, max=MAX_TOKEN_DAYS),
    help=f"Days until the token expires, more than 0 and at most {MAX_TOKEN_DAYS}.",
)
@reports_errors
def issue_token(username: str, days: float) -> None:
    """Issue a token for the user USERNAME and print it on stdout.

    Its jti and expiry go to stderr, so `TOKEN=$(... tokens issue alice --days 30)`
    captures the token alone.
    """
    issued = auth.issue_user_token(username, days)
    click.echo(issued.token)
    expires_at = issued.as_issued_token()["expires_at"]
    click.echo(f"Issued token jti={issued.jti} for {username!r}, expires {expires_at}.", err=True)


@tokens_group.command("list")
@click.argument("username")
@reports_errors
def list_tokens(username: str) -> None:
    """List the unexpired tokens of USERNAME: jti, issued, expires and last used."""
    for token in tokens.list_tokens(username):
        record = tokens.token_to_dict(token)
        last_used = record["last_used_at"] or "never"
        click.echo(f"{record['jti']}\t{record['issued_at']}\t{record['expires_at']}\t{last_used}")


@tokens_group.command("revoke")
@click.argument("username")
@click.argument("jti")
@reports_errors
def revoke_token(username: str, jti: str) -> None:
    """Revoke the token JTI of USERNAME; it gets 401 from the next request on."""
    tokens.revoke_token(username, jti)
    click.echo(f"Revoked token {jti} of {username!r}.")


@click.group(cls=AppGroup)
def activities_group() -> None:
    """Reset, import and export the activities."""


@activities_group.command("reset")
@reports_errors
def reset_activities() -> None:
    """Replace every activity with the defaults."""
    names = [activity.name for activity in activities.reset_activities()]
    click.echo(f"Reset the activities to the defaults: {', '.join(names)}.")


@activities_group.command("import")
@click.argument("file", type=click.File("rb"))
@click.option("--replace", is_flag=True, help="Delete every activity that the file does not list.")
@reports_errors
def import_activities(file: BinaryIO, replace: bool) -> None:
    """Import activities from FILE, a CSV file with the header name,male_players,female_players.

    Listed activities are created or get the file's counts. The import is all or
    nothing: a bad line rejects the whole file, with its line number. FILE may be `-`
    for standard input.
    """
    rows = activity_csv.read_activities(file.read())
    created, updated = activities.import_activities(rows, replace=replace)
    click.echo(f"Imported {len(rows)} activities: {created} created, {updated} updated.")


@activities_group.command("export")
@click.argument("file", type=click.File("w", encoding="utf-8"), default="-")
@reports_errors
def export_activities(file: TextIO) -> None:
    """Write every activity to FILE as CSV, sorted by name (default: standard output)."""
    count = activity_csv.write_activities(activities.list_activities(), file)
    click.echo(f"Exported {count} activities.", err=True)


COMMANDS = {"users": users_group, "tokens": tokens_group, "activities": activities_group}
