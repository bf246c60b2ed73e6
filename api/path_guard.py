"""Reject URL paths with a line break before Connexion routes them.

Starlette's route patterns do not expect one: `.` stops at a newline and `$` matches
before a final newline. `/v1/activities/swimming%0A` matched `delete_activity` with
a root path that no Connexion API has, so the security and validation middleware
skipped it, and Flask's router dispatched it to the handler without a token check.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from .errors import BadRequest

LINE_BREAKS = ("\n", "\r")


class RejectLineBreaksInPath:
    """Reject with 400 a request whose percent-decoded path contains CR or LF."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and any(char in scope["path"] for char in LINE_BREAKS):
            raise BadRequest("The URL path must not contain control characters.")
        await self.app(scope, receive, send)
