"""DATABASE_PASSWORD: the database password kept apart from DATABASE_URL, as a secret."""

from __future__ import annotations

from pathlib import Path

import pytest

from api.config import ConfigError, load_settings

BASE = {"JWT_SECRET": "s" * 40, "ROOT_PASSWORD": "root-password"}


def test_password_joins_the_url(tmp_path: Path) -> None:
    settings = load_settings(
        {**BASE, "INSTANCE_PATH": str(tmp_path), "DATABASE_URL": "mysql+pymysql://app@db:3306/app",
         "DATABASE_PASSWORD": "plain"}
    )

    assert settings.database_url == "mysql+pymysql://app:plain@db:3306/app"


def test_password_is_escaped_for_the_url(tmp_path: Path) -> None:
    settings = load_settings(
        {**BASE, "INSTANCE_PATH": str(tmp_path), "DATABASE_URL": "mysql+pymysql://app@db/app",
         "DATABASE_PASSWORD": "a@b:c/d#e?f%g"}
    )

    assert settings.database_url == "mysql+pymysql://app:a%40b%3Ac%2Fd%23e%3Ff%25g@db/app"


def test_url_without_password_setting_is_unchanged(tmp_path: Path) -> None:
    settings = load_settings(
        {**BASE, "INSTANCE_PATH": str(tmp_path), "DATABASE_URL": "mysql+pymysql://app:x@db/app"}
    )

    assert settings.database_url == "mysql+pymysql://app:x@db/app"


def test_password_in_both_places_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="DATABASE_URL has a password and DATABASE_PASSWORD is set"):
        load_settings(
            {**BASE, "INSTANCE_PATH": str(tmp_path), "DATABASE_URL": "mysql+pymysql://app:x@db/app",
             "DATABASE_PASSWORD": "y"}
        )


def test_invalid_url_hides_the_password(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as raised:
        load_settings(
            {**BASE, "INSTANCE_PATH": str(tmp_path), "DATABASE_URL": "not a url",
             "DATABASE_PASSWORD": "secret-value"}
        )

    assert str(raised.value).startswith("invalid DATABASE_URL: expected an SQLAlchemy URL")
    assert "secret-value" not in str(raised.value)
