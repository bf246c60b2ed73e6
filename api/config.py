"""Settings read once from the environment, with the defaults the README documents."""

from __future__ import annotations

import dataclasses
import logging
import math
import os
import re
import secrets
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from . import passwords

log = logging.getLogger(__name__)

#: The project root, where the gitignored `instance/` folder lives.
PROJECT_ROOT = Path(__file__).resolve().parent.parent


#: The longest root token lifetime: 3650 days, the longest a user token may live.
#: A larger value would overflow the token's expiry date.
MAX_ROOT_TOKEN_MINUTES = 3650 * 24 * 60


#: The longest a worker may reuse the counts: the time other workers' writes may take to show.
MAX_RECOMMENDATION_CACHE_SECONDS = 3600

#: DATABASE_TLS values; see `database.mysql_connect_args`.
DATABASE_TLS_MODES = ("off", "required")


class ConfigError(RuntimeError):
    """Raised when the environment cannot make a working configuration."""


@dataclasses.dataclass(frozen=True)
class Settings:
    """The service's configuration; every field maps to one environment variable."""

    database_url: str
    jwt_secret: str = dataclasses.field(repr=False)
    root_username: str
    #: An Argon2 hash once `load_settings` returns: a plain password is hashed there.
    root_password: str = dataclasses.field(repr=False)
    root_token_minutes: float
    host: str
    port: int
    app_env: str
    instance_path: Path
    jwt_issuer: str = "activity-recommender"
    jwt_audience: str = "activity-recommender"
    validate_responses: bool = False
    swagger_ui: bool = True
    #: Seconds to wait for a new database connection or a free pooled one.
    database_connect_timeout: float = 2
    #: Seconds a statement may run on MySQL or PostgreSQL; None turns the limit off.
    database_statement_timeout: float | None = 2
    #: TLS to MySQL when DATABASE_URL has no `ssl_*` options: "off" or "required".
    database_tls: str = "off"
    #: Serve Prometheus metrics at /metrics.
    metrics_enabled: bool = False
    #: When set, /metrics is served only on this port, and nothing else is.
    metrics_port: int | None = None
    #: The source revision the service was built from, shown in the build info metric.
    git_revision: str = "unknown"
    #: Request bodies larger than this many bytes get 413.
    max_request_bytes: int = 64 * 1024
    #: Origins that browsers may call the API from; empty turns CORS off.
    cors_origins: tuple[str, ...] = ()
    #: Seconds a worker reuses the counts it read for recommendations and probabilities,
    #: so other workers' writes show within about this long; 0 reads them every time.
    recommendation_cache_seconds: float = 1.0

    @property
    def is_production(self) -> bool:
        return self.app_env == "production"


def _env_bool(value: str) -> bool:
    if value.lower() in {"1", "true", "yes", "on"}:
        return True
    if value.lower() in {"0", "false", "no", "off", ""}:
        return False
    raise ConfigError(f"invalid boolean {value!r}: use true or false")


def _env_number(name: str, value: str, kind: type, maximum: float | None = None) -> Any:
    try:
        number = kind(value)
    except ValueError:
        expected = "an integer" if kind is int else "a number"
        raise ConfigError(f"invalid {name}={value!r}: expected {expected}") from None
    # float() accepts "nan" and "inf", which would fail later, at the first request.
    if not math.isfinite(number):
        raise ConfigError(f"invalid {name}={value!r}: expected a finite number")
    if number <= 0:
        raise ConfigError(f"invalid {name}={value!r}: must be greater than 0")
    if maximum is not None and number > maximum:
        raise ConfigError(f"invalid {name}={value!r}: must be at most {maximum}")
    return number


def instance_secret(instance_path: Path, name: str) -> tuple[str, bool]:
    """Read the development secret `name` from the instance folder, creating it once.

    Returns the secret and whether this call created it. Several gunicorn workers can
    start at once, so the file is written under a temporary name and linked into place.
    The link fails for all but the first writer, and the others read the winner's value.
    """
    instance_path.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = instance_path / name
    if path.exists():
        return path.read_text().strip(), False

    value = secrets.token_urlsafe(32)
    fd, temporary = tempfile.mkstemp(dir=instance_path, prefix=f".{name}.")
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, value.encode() + b"\n")
        os.close(fd)
        os.link(temporary, path)
    except FileExistsError:
        return path.read_text().strip(), False
    finally:
        os.unlink(temporary)
    return value, True


def load_settings(environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
    """Build the settings from `environ` (default: `os.environ`), then apply `overrides`."""
    env = os.environ if environ is None else environ
    app_env = env.get("APP_ENV", "development")
    instance_path = Path(env.get("INSTANCE_PATH", PROJECT_ROOT / "instance"))

    values: dict[str, Any] = {
        "database_url": _database_url(env, instance_path),
        "jwt_secret": env.get("JWT_SECRET", ""),
        "root_username": env.get("ROOT_USERNAME", "root"),
        "root_password": env.get("ROOT_PASSWORD", ""),
        "root_token_minutes": _env_number(
            "ROOT_TOKEN_MINUTES",
            env.get("ROOT_TOKEN_MINUTES", "60"),
            float,
            maximum=MAX_ROOT_TOKEN_MINUTES,
        ),
        "host": env.get("HOST", "127.0.0.1"),
        "port": _env_number("PORT", env.get("PORT", "8080"), int, maximum=65535),
        "app_env": app_env,
        "instance_path": instance_path,
        "validate_responses": _env_bool(env.get("VALIDATE_RESPONSES", "false")),
        "swagger_ui": _env_bool(env.get("SWAGGER_UI", "true")),
        "database_connect_timeout": _env_number(
            "DATABASE_CONNECT_TIMEOUT", env.get("DATABASE_CONNECT_TIMEOUT", "2"), float
        ),
        "database_statement_timeout": _env_number(
            "DATABASE_STATEMENT_TIMEOUT", env.get("DATABASE_STATEMENT_TIMEOUT", "2"), float
        ),
        "database_tls": _env_choice(
            "DATABASE_TLS", env.get("DATABASE_TLS", "off"), DATABASE_TLS_MODES
        ),
        "metrics_enabled": _env_bool(env.get("METRICS_ENABLED", "false")),
        "metrics_port": _env_optional_port("METRICS_PORT", env.get("METRICS_PORT", "")),
        "git_revision": env.get("GIT_REVISION") or "unknown",
        "max_request_bytes": _env_number(
            "MAX_REQUEST_BYTES", env.get("MAX_REQUEST_BYTES", str(64 * 1024)), int
        ),
        "cors_origins": _env_origins(env.get("CORS_ORIGINS", "")),
        "recommendation_cache_seconds": _env_seconds_or_zero(
            "RECOMMENDATION_CACHE_SECONDS",
            env.get("RECOMMENDATION_CACHE_SECONDS", "1"),
            maximum=MAX_RECOMMENDATION_CACHE_SECONDS,
        ),
    }
    values.update(overrides)
    settings = Settings(**values)
    _check_metrics_port(settings)
    _check_mysql_tls_options(settings)
    return _fill_secrets(settings)


def _database_url(env: Mapping[str, str], instance_path: Path) -> str:
    """Return DATABASE_URL, with DATABASE_PASSWORD as its password when that is set.

    A secret store can then hold the password alone, as RDS does for the credentials it
    generates and rotates, and the password needs no escaping to fit in a URL.
    """
    url = env.get("DATABASE_URL", f"sqlite:///{instance_path / 'activity-recommender.sqlite3'}")
    password = env.get("DATABASE_PASSWORD", "")
    if not password:
        return url
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ConfigError(
            "invalid DATABASE_URL: expected an SQLAlchemy URL such as "
            "mysql+pymysql://user@host:3306/name"
        ) from None
    if parsed.password is not None:
        raise ConfigError("DATABASE_URL has a password and DATABASE_PASSWORD is set: set one")
    return parsed.set(password=password).render_as_string(hide_password=False)


def _check_mysql_tls_options(settings: Settings) -> None:
    """Reject a MySQL URL with `?ssl=`, which PyMySQL fails on at the first connection."""
    try:
        url = make_url(settings.database_url)
    except ArgumentError:
        return  # the engine reports it, with the URL's own message
    if url.get_backend_name() not in ("mysql", "mariadb"):
        return
    if "ssl" in url.query:
        raise ConfigError(
            "invalid DATABASE_URL: PyMySQL does not accept ?ssl=. Use ?ssl_ca=PATH to "
            "verify the server, or set DATABASE_TLS=required to encrypt without verifying"
        )


def _env_choice(name: str, value: str, choices: tuple[str, ...]) -> str:
    if value.lower() not in choices:
        raise ConfigError(f"invalid {name}={value!r}: expected one of {', '.join(choices)}")
    return value.lower()


def _env_seconds_or_zero(name: str, value: str, maximum: float) -> float:
    """Parse a number of seconds from 0 to `maximum`."""
    try:
        if float(value) == 0:
            return 0.0
        if float(value) < 0:
            raise ConfigError(f"invalid {name}={value!r}: must be 0 or more")
    except ValueError:
        pass  # _env_number reports it
    seconds: float = _env_number(name, value, float, maximum=maximum)
    return seconds


def _env_optional_port(name: str, value: str) -> int | None:
    if not value:
        return None
    port: int = _env_number(name, value, int, maximum=65535)
    return port


#: An origin as browsers send it: scheme, host and optional port, no path.
_ORIGIN = re.compile(r"^https?://[^\s/?#]+$")


def _env_origins(value: str) -> tuple[str, ...]:
    """Parse CORS_ORIGINS: comma-separated origins such as `https://app.example.com`."""
    origins = tuple(origin.strip() for origin in value.split(",") if origin.strip())
    for origin in origins:
        if origin != "*" and not _ORIGIN.match(origin):
            raise ConfigError(
                f"invalid origin {origin!r} in CORS_ORIGINS: use scheme://host[:port] "
                "without a path or trailing slash, or *"
            )
    return origins


def _check_metrics_port(settings: Settings) -> None:
    if settings.metrics_port is None:
        return
    if not settings.metrics_enabled:
        raise ConfigError("METRICS_PORT is set but METRICS_ENABLED is not true: set both")
    if settings.metrics_port == settings.port:
        raise ConfigError(
            f"METRICS_PORT must differ from PORT ({settings.port}), so that the "
            "service's listener never serves metrics"
        )


def _fill_secrets(settings: Settings) -> Settings:
    """Reject missing secrets in production; generate and keep them in development."""
    if settings.is_production:
        if len(settings.jwt_secret.encode()) < 32:
            raise ConfigError("JWT_SECRET must be set to at least 32 bytes in production")
        if not settings.root_password:
            raise ConfigError("ROOT_PASSWORD must be set in production")
        return _hash_root_password(settings)

    changes: dict[str, Any] = {}
    if not settings.jwt_secret:
        changes["jwt_secret"], _ = instance_secret(settings.instance_path, "jwt-secret")
    if not settings.root_password:
        password, created = instance_secret(settings.instance_path, "root-password")
        changes["root_password"] = password
        if created:
            # Printed once, when generated: the file keeps it for later starts.
            print(
                f"Generated the root password and stored it in "
                f"{settings.instance_path / 'root-password'}:\n  {password}\n"
                f"Log in with: curl -d username={settings.root_username} "
                f'-d password="$(cat {settings.instance_path / "root-password"})" '
                f"http://{settings.host}:{settings.port}/v1/token",
                flush=True,
            )
    return _hash_root_password(dataclasses.replace(settings, **changes))


def _hash_root_password(settings: Settings) -> Settings:
    """Replace a plain-text root password with its Argon2 hash, so only the hash is kept."""
    try:
        password_hash = passwords.ensure_hash(settings.root_password)
    except passwords.InvalidPasswordHash as exc:
        raise ConfigError(f"invalid ROOT_PASSWORD: {exc}") from None
    return dataclasses.replace(settings, root_password=password_hash)
