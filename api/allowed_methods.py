"""405 responses whose `Allow` header lists every method the spec documents for the path.

Connexion adds each operation to Starlette's router as a route of its own, so the 405
that Starlette raises names only the methods of the first route whose path matched:
`OPTIONS /v1/users` got `Allow: GET, HEAD` although `POST` is documented too.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml
from connexion.exceptions import ProblemException
from connexion.lifecycle import ConnexionRequest, ConnexionResponse
from starlette.routing import compile_path

from .errors import render_problem

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


class AllowedMethods:
    """The documented methods of each path of the spec, and the 405 handler that uses them."""

    def __init__(self, paths: dict[str, Any]) -> None:
        self._routes: list[tuple[re.Pattern[str], str]] = []
        for template, item in paths.items():
            methods = {method.upper() for method in item if method in HTTP_METHODS}
            # Starlette serves HEAD for every GET route.
            if "GET" in methods:
                methods.add("HEAD")
            regex, _format, _converters = compile_path(template)
            self._routes.append((regex, ", ".join(sorted(methods))))

    @classmethod
    def from_spec_file(cls, path: Path) -> AllowedMethods:
        with path.open(encoding="utf-8") as spec:
            return cls(yaml.safe_load(spec)["paths"])

    def allow_header(self, path: str) -> str | None:
        for regex, allowed in self._routes:
            if regex.match(path):
                return allowed
        return None

    def render_method_not_allowed(
        self, request: ConnexionRequest, exc: Exception
    ) -> ConnexionResponse:
        """Render Starlette's 405 as a problem, with the full `Allow` header."""
        headers = dict(getattr(exc, "headers", None) or {})
        allowed = self.allow_header(request.url.path)
        if allowed is not None:
            headers["Allow"] = allowed
        detail = (
            f"{request.method} is not allowed here; use one of: {headers.get('Allow', 'none')}."
        )
        return render_problem(
            request,
            ProblemException(
                status=405, title="Method Not Allowed", detail=detail, headers=headers
            ),
        )
