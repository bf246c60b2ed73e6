"""Lowercase the media type of a request's Content-Type before Connexion reads it.

Media types are case-insensitive (RFC 9110, section 8.3.1), but Connexion 3.3 matches
them case-sensitively: `APPLICATION/JSON` found no body validator, so the handler got
raw bytes and failed with a 500. Parameters such as `charset` keep their case.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send


class LowercaseMediaType:
    """Lowercase the media type in the Content-Type header, keeping its parameters."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            scope["headers"] = [
                _lowercase_media_type(name, value) for name, value in scope["headers"]
            ]
        await self.app(scope, receive, send)


def _lowercase_media_type(name: bytes, value: bytes) -> tuple[bytes, bytes]:
    if name.lower() != b"content-type":
        return name, value
    media_type, separator, parameters = value.partition(b";")
    return name, media_type.strip().lower() + separator + parameters
