"""Settings read once from the environment, with the defaults the README documents."""

from __future__ import annotations

import dataclasses
import logging
import os
import secrets
import tempfile
from pathlib import Path
from typing import Any, Mapping

log = logging.getLogger(__name__)

#: The project root, where the gitignored `instance/` folder lives.
PROJECT_ROOT = Path(__file__).resolve().parent.parent


class ConfigError(RuntimeError):
    """Raised when the environment cannot make a working configuration."""


@dataclasses.dataclass(frozen=True)
class Settings:
    """The service's configuration; every field maps to one environment variable."""

    database_url: str
    jwt_secret: str
    root_username: str
    root_password: str
    root_token_minutes: float
    host: str
    port: int
    app_env: str
    instance_path: Path
    jwt_issuer: str = "activity-recommender"
    jwt_audience: str = "activity-recommender"
    validate_responses: bool = False
    swagger_ui: bool = True

    @property
    def is_production(self) -> bool:
        return self.app_env == "production"


def _env_bool(value: str) -> bool:
    if value.lower() in {"1", "true", "yes", "on"}:
        return True
    if value.lower() in {"0", "false", "no", "off", ""}:
        return False
    raise ConfigError(f"invalid boolean {value!r}: use true or false")


def _env_number(name: str, value: str, kind: type) -> Any:
    try:
        number = kind(value)
    except ValueError:
        raise ConfigError(f"invalid {name}={value!r}: expected a {kind.__name__}") from None
    if number <= 0:
        raise ConfigError(f"invalid {name}={value!r}: must be greater than 0")
    return number


def instance_secret(instance_path: Path, name: str) -> tuple[str, bool]:
    """Read the development secret `name` from the instance folder, creating it once.

    Returns the secret and whether this call created it. Several gunicorn workers can
    start at once, so the file is written under a temporary name and linked into place,
    which fails for all but the first writer; the others read the winner's value.
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
        "database_url": env.get(
            "DATABASE_URL", f"sqlite:///{instance_path / 'activity-recommender.sqlite3'}"
        ),
        "jwt_secret": env.get("JWT_SECRET", ""),
        "root_username": env.get("ROOT_USERNAME", "root"),
        "root_password": env.get("ROOT_PASSWORD", ""),
        "root_token_minutes": _env_number(
            "ROOT_TOKEN_MINUTES", env.get("ROOT_TOKEN_MINUTES", "60"), float
        ),
        "host": env.get("HOST", "127.0.0.1"),
        "port": _env_number("PORT", env.get("PORT", "8080"), int),
        "app_env": app_env,
        "instance_path": instance_path,
        "validate_responses": _env_bool(env.get("VALIDATE_RESPONSES", "false")),
        "swagger_ui": _env_bool(env.get("SWAGGER_UI", "true")),
    }
    values.update(overrides)
    return _fill_secrets(Settings(**values))


def _fill_secrets(settings: Settings) -> Settings:
    """Reject missing secrets in production; generate and keep them in development."""
    if settings.is_production:
        if len(settings.jwt_secret.encode()) < 32:
            raise ConfigError("JWT_SECRET must be set to at least 32 bytes in production")
        if not settings.root_password:
            raise ConfigError("ROOT_PASSWORD must be set in production")
        return settings

    changes: dict[str, str] = {}
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
                f"-d password=\"$(cat {settings.instance_path / 'root-password'})\" "
                f"http://{settings.host}:{settings.port}/v1/token",
                flush=True,
            )
    return dataclasses.replace(settings, **changes)
