"""Settings from the environment: defaults, parsing errors and the development secrets."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from api import passwords
from api.config import PROJECT_ROOT, ConfigError, instance_secret, load_settings

SECRETS = {"JWT_SECRET": "s" * 32, "ROOT_PASSWORD": "pw"}


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_settings_defaults():
    settings = load_settings(SECRETS)

    instance = PROJECT_ROOT / "instance"
    assert settings.database_url == f"sqlite:///{instance / 'activity-recommender.sqlite3'}"
    assert settings.root_username == "root"
    assert settings.root_token_minutes == 60
    assert settings.host == "127.0.0.1"
    assert settings.port == 8080
    assert settings.app_env == "development"
    assert settings.instance_path == instance
    assert settings.validate_responses is False
    assert settings.swagger_ui is True


def test_settings_from_environment(tmp_path):
    settings = load_settings(
        {
            **SECRETS,
            "DATABASE_URL": "sqlite:///elsewhere.sqlite3",
            "ROOT_USERNAME": "admin",
            "ROOT_TOKEN_MINUTES": "7.5",
            "HOST": "0.0.0.0",
            "PORT": "9000",
            "INSTANCE_PATH": str(tmp_path),
            "VALIDATE_RESPONSES": "yes",
            "SWAGGER_UI": "off",
        }
    )

    assert settings.database_url == "sqlite:///elsewhere.sqlite3"
    assert settings.jwt_secret == "s" * 32
    assert settings.root_username == "admin"
    assert settings.root_token_minutes == 7.5
    assert settings.host == "0.0.0.0"
    assert settings.port == 9000
    assert settings.instance_path == tmp_path
    assert settings.validate_responses is True
    assert settings.swagger_ui is False


def test_settings_default_database_in_instance_path(tmp_path):
    settings = load_settings({**SECRETS, "INSTANCE_PATH": str(tmp_path)})

    assert settings.database_url == f"sqlite:///{tmp_path / 'activity-recommender.sqlite3'}"


def test_settings_root_password_kept_as_hash():
    settings = load_settings(SECRETS)

    assert settings.root_password.startswith("$argon2")
    assert passwords.verify_password(settings.root_password, "pw")
    assert "pw" not in repr(settings)


def test_settings_overrides_win():
    settings = load_settings({**SECRETS, "PORT": "9000"}, port=9100, root_username="admin")

    assert settings.port == 9100
    assert settings.root_username == "admin"


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("PORT", "abc", "invalid PORT='abc': expected an integer"),
        ("PORT", "80.5", "invalid PORT='80.5': expected an integer"),
        ("PORT", "0", "invalid PORT='0': must be greater than 0"),
        ("PORT", "-1", "invalid PORT='-1': must be greater than 0"),
        ("PORT", "65536", "invalid PORT='65536': must be at most 65535"),
        ("ROOT_TOKEN_MINUTES", "soon", "invalid ROOT_TOKEN_MINUTES='soon': expected a number"),
        ("ROOT_TOKEN_MINUTES", "0", "invalid ROOT_TOKEN_MINUTES='0': must be greater than 0"),
        ("ROOT_TOKEN_MINUTES", "-5", "invalid ROOT_TOKEN_MINUTES='-5': must be greater than 0"),
        ("ROOT_TOKEN_MINUTES", "nan", "invalid ROOT_TOKEN_MINUTES='nan': expected a finite number"),
        ("ROOT_TOKEN_MINUTES", "inf", "invalid ROOT_TOKEN_MINUTES='inf': expected a finite number"),
        (
            "ROOT_TOKEN_MINUTES",
            "5256001",
            "invalid ROOT_TOKEN_MINUTES='5256001': must be at most 5256000",
        ),
        ("VALIDATE_RESPONSES", "maybe", "invalid boolean 'maybe': use true or false"),
        ("SWAGGER_UI", "2", "invalid boolean '2': use true or false"),
    ],
)
def test_settings_invalid_value(name, value, message):
    with pytest.raises(ConfigError) as raised:
        load_settings({**SECRETS, name: value})

    assert str(raised.value) == message


def test_settings_longest_root_token_accepted():
    settings = load_settings({**SECRETS, "ROOT_TOKEN_MINUTES": "5256000"})

    assert settings.root_token_minutes == 5_256_000


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"ROOT_PASSWORD": "pw"}, "JWT_SECRET must be set to at least 32 bytes in production"),
        (
            {"ROOT_PASSWORD": "pw", "JWT_SECRET": "s" * 31},
            "JWT_SECRET must be set to at least 32 bytes in production",
        ),
        ({"JWT_SECRET": "s" * 32}, "ROOT_PASSWORD must be set in production"),
    ],
)
def test_settings_production_requires_secrets(tmp_path, environ, message):
    with pytest.raises(ConfigError) as raised:
        load_settings({**environ, "APP_ENV": "production", "INSTANCE_PATH": str(tmp_path)})

    assert str(raised.value) == message
    assert list(tmp_path.iterdir()) == []


def test_settings_production_with_secrets(tmp_path):
    settings = load_settings({**SECRETS, "APP_ENV": "production", "INSTANCE_PATH": str(tmp_path)})

    assert settings.is_production
    assert settings.jwt_secret == "s" * 32
    assert list(tmp_path.iterdir()) == []


def test_dev_secrets_generated_once(tmp_path, capsys):
    instance = tmp_path / "instance"
    environ = {"INSTANCE_PATH": str(instance), "PORT": "9000"}

    first = load_settings(environ)

    password = (instance / "root-password").read_text().strip()
    assert mode(instance) == 0o700
    assert mode(instance / "root-password") == 0o600
    assert mode(instance / "jwt-secret") == 0o600
    assert first.jwt_secret == (instance / "jwt-secret").read_text().strip()
    assert len(first.jwt_secret) == 43
    assert len(password) == 43
    assert passwords.verify_password(first.root_password, password)
    printed = capsys.readouterr().out
    assert printed == (
        f"Generated the root password and stored it in {instance / 'root-password'}:\n"
        f"  {password}\n"
        f'Log in with: curl -d username=root -d password="$(cat {instance / "root-password"})" '
        "http://127.0.0.1:9000/v1/token\n"
    )

    second = load_settings(environ)

    assert second.jwt_secret == first.jwt_secret
    assert passwords.verify_password(second.root_password, password)
    assert capsys.readouterr().out == ""
    assert sorted(p.name for p in instance.iterdir()) == ["jwt-secret", "root-password"]


def test_dev_secrets_not_generated_when_set(tmp_path, capsys):
    load_settings({**SECRETS, "INSTANCE_PATH": str(tmp_path)})

    assert list(tmp_path.iterdir()) == []
    assert capsys.readouterr().out == ""


def test_dev_secret_only_missing_one_generated(tmp_path, capsys):
    settings = load_settings({"ROOT_PASSWORD": "pw", "INSTANCE_PATH": str(tmp_path)})

    assert [p.name for p in tmp_path.iterdir()] == ["jwt-secret"]
    assert settings.jwt_secret == (tmp_path / "jwt-secret").read_text().strip()
    assert capsys.readouterr().out == ""


def test_instance_secret_keeps_existing_file(tmp_path):
    (tmp_path / "jwt-secret").write_text("kept-value\n")

    value, created = instance_secret(tmp_path, "jwt-secret")

    assert value == "kept-value"
    assert created is False
    assert (tmp_path / "jwt-secret").read_text() == "kept-value\n"


def test_instance_secret_leaves_no_temporary_files(tmp_path):
    instance_secret(tmp_path, "jwt-secret")
    instance_secret(tmp_path, "jwt-secret")

    assert [p.name for p in tmp_path.iterdir()] == ["jwt-secret"]
