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
    """Turn a lost or unreachable database, or one without this version's tables, into 503.

    Load balancers retry a 503 elsewhere, and its detail asks the client to retry later.
    """
    if is_missing_schema(exc):
        _log_missing_schema(request, exc)
    else:
        log.error(
            "%s %s: 503 database unavailable: %s",
            request.method,
            request.url.path,
            type(exc).__name__,
        )
    return _problem_response(DATABASE_DOWN, {})


def _log_missing_schema(request: ConnexionRequest, exc: DBAPIError) -> None:
    """Log one line with the first lines of the driver's message and of the statement.

    The statement lets a reader tell a query bug (a wrong table or column name, which
    also gets here) from a missing migration. Neither line contains parameter values,
    because the statement has placeholders.
    """
    log.error(
        "%s %s: 503 the database lacks a table or column of this version: %s; statement: %s; "
        "run the migrations, or check DATABASE_URL and restore the database",
        request.method,
        request.url.path,
        _first_line(str(exc.orig)),
        _first_line(exc.statement or "none"),
    )


def _first_line(text: str, limit: int = 200) -> str:
    line = text.strip().partition("\n")[0].rstrip()
    return line if len(line) <= limit else line[: limit - 1] + "…"


def render_internal_error(request: ConnexionRequest, exc: Exception) -> ConnexionResponse:
    """Log an unexpected error with its traceback and hide its details from the client."""
    if is_missing_schema(exc) or (isinstance(exc, DBAPIError) and exc.connection_invalidated):
        return render_database_error(request, exc)
    log.error("%s %s: unhandled error", request.method, request.url.path, exc_info=exc)
    return problem(
        status=500,
        title="Internal Server Error",
        detail="The server failed to handle the request.",
    )


#: Exceptions that mean the database cannot be reached, not that the request is wrong.
DATABASE_UNAVAILABLE = (OperationalError, PoolTimeoutError)
