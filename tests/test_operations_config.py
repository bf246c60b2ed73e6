"""Settings for metrics, body limits, CORS and Swagger UI, read from the environment."""

from __future__ import annotations

import pytest

from api.config import ConfigError, load_settings

from .conftest import JWT_SECRET, ROOT_PASSWORD_HASH

BASE = {"JWT_SECRET": JWT_SECRET, "ROOT_PASSWORD": ROOT_PASSWORD_HASH}


def settings_from(**environ: str):  # type: ignore[no-untyped-def]
    return load_settings({**BASE, **environ})


def test_defaults():
    settings = settings_from()

    assert settings.metrics_enabled is False
    assert settings.metrics_port is None
    assert settings.git_revision == "unknown"
    assert settings.max_request_bytes == 65536
    assert settings.cors_origins == ()
    assert settings.swagger_ui is True


def test_values_from_environment():
    settings = settings_from(
        METRICS_ENABLED="true",
        METRICS_PORT="9100",
        GIT_REVISION="0123abc",
        MAX_REQUEST_BYTES="1024",
        CORS_ORIGINS=" https://app.example.com, http://localhost:3000 ,",
        SWAGGER_UI="false",
    )

    assert settings.metrics_enabled is True
    assert settings.metrics_port == 9100
    assert settings.git_revision == "0123abc"
    assert settings.max_request_bytes == 1024
    assert settings.cors_origins == ("https://app.example.com", "http://localhost:3000")
    assert settings.swagger_ui is False


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        (
            {"METRICS_PORT": "9100"},
            "METRICS_PORT is set but METRICS_ENABLED is not true: set both",
        ),
        (
            {"METRICS_ENABLED": "true", "METRICS_PORT": "8080"},
            "METRICS_PORT must differ from PORT (8080), so that the service's listener "
            "never serves metrics",
        ),
        (
            {"METRICS_ENABLED": "true", "METRICS_PORT": "0"},
            "invalid METRICS_PORT='0': must be greater than 0",
        ),
        ({"MAX_REQUEST_BYTES": "64k"}, "invalid MAX_REQUEST_BYTES='64k': expected an integer"),
        (
            {"CORS_ORIGINS": "https://app.example.com/"},
            "invalid origin 'https://app.example.com/' in CORS_ORIGINS: use "
            "scheme://host[:port] without a path or trailing slash, or *",
        ),
        (
            {"CORS_ORIGINS": "app.example.com"},
            "invalid origin 'app.example.com' in CORS_ORIGINS: use "
            "scheme://host[:port] without a path or trailing slash, or *",
        ),
    ],
)
def test_invalid_values_rejected(environ, message):
    with pytest.raises(ConfigError) as raised:
        settings_from(**environ)

    assert str(raised.value) == message
