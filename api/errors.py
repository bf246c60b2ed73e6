"""The problem+json exception tree and the one handler that renders it (RFC 9457)."""

from __future__ import annotations

import logging
from http import HTTPStatus

from connexion.exceptions import ProblemException
from connexion.lifecycle import ConnexionRequest, ConnexionResponse
from connexion.problem import problem
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from .database import is_missing_schema

log = logging.getLogger(__name__)


class ApiError(ProblemException):
    """Base of the service's errors; each subclass fixes the status it is sent with."""

    status_code = 500

    def __init__(
        self,
        detail: str,
        headers: dict[str, str] | None = None,
        ext: dict[str, object] | None = None,
    ) -> None:
        super().__init__(
            status=self.status_code,
            title=HTTPStatus(self.status_code).phrase,
            detail=detail,
            headers=headers,
            ext=ext,
        )


class BadRequest(ApiError):
    """Raised for input that the spec admits but the service's rules reject."""

    status_code = 400


class Unauthorized(ApiError):
    """Raised when credentials or a token are missing, invalid, expired or revoked."""

    status_code = 401


class Forbidden(ApiError):
    """Raised when a valid token's role may not run the operation."""

    status_code = 403


class NotFound(ApiError):
    """Raised when the named resource does not exist."""

    status_code = 404


class Conflict(ApiError):
    """Raised when the request conflicts with stored state; nothing was changed."""

    status_code = 409


class UnprocessableContent(ApiError):
    """Raised in place of BadRequest for legacy operations, which rejected bad input with 422."""

    status_code = 422


class TooManyRequests(ApiError):
    """Raised when a client must wait before trying again, for `retry_after` seconds."""

    status_code = 429

    def __init__(self, detail: str, retry_after: int) -> None:
        super().__init__(detail, headers={"Retry-After": str(retry_after)})


class ServiceUnavailable(ApiError):
    """Raised when the database does not respond."""

    status_code = 503


def render_problem(request: ConnexionRequest, exc: Exception) -> ConnexionResponse:
    """Render Connexion's and the service's problems; 401s name the Bearer scheme."""
    # Narrows the type only: Connexion calls this for ProblemException alone.
    assert isinstance(exc, ProblemException)  # nosec B101
    headers = dict(exc.headers or {})
    if exc.status == 401:
        headers.setdefault("WWW-Authenticate", "Bearer")
    if exc.status >= 500:
        log.error("%s %s: %s %s", request.method, request.url.path, exc.status, exc.detail)
    else:
        log.info("%s %s: %s %s", request.method, request.url.path, exc.status, exc.detail)
    return _problem_response(exc, headers)


def _problem_response(exc: ProblemException, headers: dict[str, str]) -> ConnexionResponse:
    return problem(
        status=exc.status,
        title=exc.title or HTTPStatus(exc.status).phrase,
        detail=exc.detail,
        type=exc.type,
        instance=exc.instance,
        headers=headers,
        ext=exc.ext,
    )


#: The problem sent when the database cannot serve a request, whatever the cause.
DATABASE_DOWN = ServiceUnavailable("The database is unavailable. Retry later.")


def render_database_error(request: ConnexionRequest, exc: Exception) -> ConnexionResponse:
    """Turn a lost or unreachable database into 503, so load balancers retry elsewhere."""
    if is_missing_schema(exc):
        return render_missing_schema(request, exc)
    log.error(
        "%s %s: 503 database unavailable: %s", request.method, request.url.path, type(exc).__name__
    )
    return _problem_response(DATABASE_DOWN, {})


def render_missing_schema(request: ConnexionRequest, exc: Exception) -> ConnexionResponse:
    """Turn a missing database, table or column into 503: the database, not the request,
    is wrong.

    The database was dropped, replaced, or not migrated. The log line gives the first
    line of the driver's message and of the statement, so that a reader can distinguish
    a query that names a table or column wrongly (a bug, which this also catches). Neither
    contains parameter values: the statement has placeholders.
    """
    orig = exc.orig if isinstance(exc, DBAPIError) else exc
    statement = exc.statement if isinstance(exc, DBAPIError) else None
    log.error(
        "%s %s: 503 the database lacks a table or column of this version: %s; statement: %s; "
        "run the migrations, or check DATABASE_URL and restore the database",
        request.method,
        request.url.path,
        _first_line(str(orig)),
        _first_line(statement or "none"),
    )
    return _problem_response(DATABASE_DOWN, {})


def _first_line(text: str, limit: int = 200) -> str:
    line = text.strip().partition("\n")[0].rstrip()
    return line if len(line) <= limit else line[: limit - 1] + "…"


def render_internal_error(request: ConnexionRequest, exc: Exception) -> ConnexionResponse:
    """Log an unexpected error with its traceback and hide its details from the client."""
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return render_database_error(request, exc)
    if is_missing_schema(exc):
        return render_missing_schema(request, exc)
    log.error("%s %s: unhandled error", request.method, request.url.path, exc_info=exc)
    return problem(
        status=500,
        title="Internal Server Error",
        detail="The server failed to handle the request.",
    )


#: Exceptions that mean the database cannot be reached, not that the request is wrong.
DATABASE_UNAVAILABLE = (OperationalError, PoolTimeoutError)
