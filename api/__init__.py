"""Activity Recommender: a spec-first REST service that recommends activities."""

import warnings

# Connexion 3.3 imports Starlette's test client at import time, and Starlette warns there
# that httpx is deprecated for it. The service never uses the test client, so the warning
# only adds noise to every start and every admin command.
warnings.filterwarnings(
    "ignore", message="Using `httpx` with `starlette.testclient`", category=UserWarning
)

from typing import TYPE_CHECKING, Any  # noqa: E402

if TYPE_CHECKING:
    import connexion


def create_app(*args: Any, **kwargs: Any) -> "connexion.FlaskApp":
    """Build the service's app; see `api.app.create_app`.

    The import happens here, not at the top, so that importing a light module of the
    package (gunicorn.conf.py imports `api.logs` in the master) does not load Connexion,
    Flask and SQLAlchemy into gunicorn's master process, which never serves a request.
    """
    from .app import create_app as factory

    return factory(*args, **kwargs)


__all__ = ["create_app"]
