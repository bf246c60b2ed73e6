"""Activity Recommender: a spec-first REST service that recommends activities."""

import warnings

# Connexion 3.3 imports Starlette's test client at import time, and Starlette warns there
# that httpx is deprecated for it. The service never uses the test client, so the warning
# only adds noise to every start and every admin command.
warnings.filterwarnings(
    "ignore", message="Using `httpx` with `starlette.testclient`", category=UserWarning
)

from .app import create_app  # noqa: E402

__all__ = ["create_app"]
